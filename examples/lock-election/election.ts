import { ActorSystem } from '@actorfs/actors';
import { cellConfig, ClientSession, LsClient, LsClientError, planCell, SequencerGuard, type ClientMsg, type Sequencer } from '@actorfs/lockservice';

/** The cell of the example: three replicas, a short lease so a dead leader's session ends quickly. */
export const ELECTION_CELL = cellConfig('election', {
  nodes: ['r1', 'r2', 'r3'],
  defaultLockDelayMs: 1000,
  timing: { leaseMs: 1500, answerBeforeEndMs: 300, gracePeriodMs: 15_000, requestTimeoutMs: 1000 },
  paxos: { leaseMs: 400 },
});
export const CANDIDATES = ['e1', 'e2', 'e3'];
const LEADER_LOCK = '/ls/election/leader';

/**
 * A resource that only the current leader may change: it checks each writer's sequencer against
 * the newest it has seen (SequencerGuard), so a deposed leader's late write is refused.
 */
export class FencedResource {
  private readonly guard = new SequencerGuard();
  readonly writes: string[] = [];

  write(sequencer: Sequencer, value: string): { ok: true } | { ok: false; reason: string } {
    const checked = this.guard.check(sequencer);
    if (!checked.ok) return { ok: false, reason: `${checked.error.code}: ${checked.error.message}` };
    this.writes.push(value);
    return { ok: true };
  }
}

export interface ElectionSummary {
  first: string;
  second: string;
  /** From the first leader's thread killed to the second leader's acquire. */
  takeoverMs: number;
  staleRefusal: string;
}

/**
 * Three candidate threads race for one lock; the winner leads (its name in the lock file, its
 * sequencer fencing the resource). Its thread is killed: its session expires, the lock-delay
 * passes, and a waiting candidate's blocking acquire wins. The old leader's sequencer is then
 * refused by the resource.
 */
export async function runLockElection(opts: { dataDir: string; log?: (line: string) => void }): Promise<ElectionSummary> {
  const log = opts.log ?? (() => {});
  const system = await ActorSystem.start({ workers: [...ELECTION_CELL.nodes, ...CANDIDATES], dataDir: opts.dataDir, modules: [new URL('./cell.ts', import.meta.url)] });
  try {
    const plan = planCell(ELECTION_CELL);
    for (const node of ELECTION_CELL.nodes) for (const s of plan.on(node)) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
    const resource = new FencedResource();
    const candidates = await Promise.all(
      CANDIDATES.map(async (node) => {
        const ref = await system.spawn(ClientSession, { config: ELECTION_CELL, servers: plan.servers, principal: node }, { node, name: `candidate-${node}` });
        const client = new LsClient(ref, (r, msg) => system.ask(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: 120_000 }));
        const { handle } = await client.open(LEADER_LOCK, { create: 'ifAbsent' });
        return { node, client, handle };
      }),
    );
    // Every candidate waits for the lock; the first acquire to finish leads.
    const campaigns = candidates.map(async (c) => {
      const sequencer = await c.client.acquire(c.handle, 'exclusive', 60_000);
      await c.client.setContents(c.handle, new TextEncoder().encode(c.node));
      const wrote = resource.write(sequencer, `written by ${c.node}`);
      if (!wrote.ok) throw new Error(`the new leader ${c.node} was refused: ${wrote.reason}`);
      return { node: c.node, sequencer, at: Date.now() };
    });
    const first = await Promise.race(campaigns);
    log(`${first.node} leads (lock generation ${first.sequencer.generation})`);
    await system.killNode(first.node);
    const killedAt = Date.now();
    log(`killed ${first.node}'s thread`);
    const others = campaigns.filter((_, i) => CANDIDATES[i] !== first.node);
    const second = await Promise.race(others.map((p) => p.catch(() => new Promise<never>(() => {}))));
    log(`${second.node} leads (lock generation ${second.sequencer.generation}) ${second.at - killedAt} ms after the kill`);
    const stale = resource.write(first.sequencer, `late write by ${first.node}`);
    if (stale.ok) throw new Error("the fenced resource took the deposed leader's sequencer");
    log(`the resource refused ${first.node}'s stale sequencer: ${stale.reason}`);
    return { first: first.node, second: second.node, takeoverMs: second.at - killedAt, staleRefusal: stale.reason };
  } catch (err) {
    if (err instanceof LsClientError) log(`lock service error ${err.code}`);
    throw err;
  } finally {
    await system.shutdown();
  }
}
