import { describe, expect, it } from '@jest/globals';
import { checkInvariants, checkProgress, progressOf, type DbState } from '../src/index.ts';
import { Cell, ROOT, bytes } from './helpers.ts';

/** A small sound state: two sessions, a directory, a locked file, an ephemeral. */
function sound() {
  const cell = new Cell();
  const [s1, s2] = [cell.session(), cell.session('bob')];
  cell.mkdir(s1, 'd');
  const f1 = cell.open(s1, 'd/f', { contents: bytes('hello') });
  const f2 = cell.open(s2, 'd/f');
  cell.ok({ type: 'acquire', session: s1, handle: f1, mode: 'shared' });
  cell.open(s2, 'e', { ephemeral: true });
  const state = cell.db.inspect() as DbState;
  expect(checkInvariants(state)).toEqual([]);
  return { cell, state, s1, s2, f1, f2, file: state.nodes.get(`${ROOT}/d/f`)! };
}

describe('the invariants checker finds broken states', () => {
  it('two exclusive holders', () => {
    const { state, file, f1, f2 } = sound();
    state.handles.get(f1)!.lock = 'exclusive';
    state.handles.get(f2)!.lock = 'exclusive';
    file.holders.add(f2);
    expect(checkInvariants(state)).toContain(`node ${ROOT}/d/f's lock has 2 exclusive holders`);
  });

  it('an exclusive holder beside a shared one', () => {
    const { state, file, f2 } = sound();
    state.handles.get(f2)!.lock = 'exclusive';
    file.holders.add(f2);
    expect(checkInvariants(state)).toContain(`node ${ROOT}/d/f's lock is held exclusive and shared at once`);
  });

  it('an ephemeral node of a session that is not live', () => {
    const { state, s2 } = sound();
    for (const h of state.sessions.get(s2)!.handles) state.handles.delete(h);
    state.sessions.delete(s2);
    expect(checkInvariants(state)).toContain(`node ${ROOT}/e is an ephemeral of session ${s2}, which is not live`);
  });

  it('a holder the node does not list, and a node listing a handle that holds nothing', () => {
    const { state, file, f1, f2 } = sound();
    file.holders.delete(f1);
    expect(checkInvariants(state)).toContain(`handle ${f1} says lock shared, its node's holders disagree`);
    file.holders.add(f1).add(f2);
    expect(checkInvariants(state)).toContain(`node ${ROOT}/d/f lists holder ${f2}, which is not a handle holding it`);
  });

  it("a handle's last grant at a lock generation its node never reached", () => {
    const { state, file, f1 } = sound();
    state.handles.get(f1)!.lastGrant = { attempt: 3, mode: 'shared', generation: file.lockGeneration + 1 };
    expect(checkInvariants(state).join('\n')).toMatch(new RegExp(`handle ${f1}'s last grant \\(attempt 3, generation ${file.lockGeneration + 1}\\)`));
  });

  it('contents that do not match their checksum, and a wrong byte count', () => {
    const { state, file } = sound();
    file.contents = bytes('HELLO');
    expect(checkInvariants(state).join('\n')).toMatch(/d\/f has checksum \d+, but its contents sum to \d+/);
    state.totalContentsBytes++;
    expect(checkInvariants(state).join('\n')).toMatch(/contents total 5 bytes, but the database counts 6/);
  });

  it('a node without its parent, a child the parent does not list, and a file with children', () => {
    const { state, file } = sound();
    state.nodes.get(`${ROOT}/d`)!.children.delete('f');
    expect(checkInvariants(state)).toContain(`node ${ROOT}/d/f is missing from its parent's children`);
    file.children.add('ghost');
    expect(checkInvariants(state)).toEqual(expect.arrayContaining([`node ${ROOT}/d/f is a file with children`, `node ${ROOT}/d/f lists child ghost, which does not exist`]));
    state.nodes.delete(`${ROOT}/d`);
    expect(checkInvariants(state)).toContain(`node ${ROOT}/d/f has no parent directory`);
  });

  it('a handle open on a node instance that is gone', () => {
    const { state, f2 } = sound();
    state.handles.get(f2)!.instance = 999;
    expect(checkInvariants(state)).toContain(`handle ${f2} is open on ${ROOT}/d/f instance 999, which does not exist`);
  });

  it('generations, instances, counters and time that go back', () => {
    const { cell, state, s1, f1, file } = sound();
    cell.ok({ type: 'setContents', session: s1, handle: f1, contents: bytes('x') });
    const before = progressOf(state);
    file.contentGeneration--;
    state.now -= 1;
    state.counters.nextHandle -= 1;
    expect(checkProgress(before, state)).toEqual([
      `time went back from ${before.now} to ${state.now}`,
      `counter nextHandle went back from ${before.counters.nextHandle} to ${state.counters.nextHandle}`,
      `node ${ROOT}/d/f's contentGeneration went back from 1 to 0`,
    ]);
    file.contentGeneration++;
    file.instance = 1;
    expect(checkProgress(before, state).join('\n')).toContain(`node ${ROOT}/d/f was re-created with a smaller instance`);
  });
});
