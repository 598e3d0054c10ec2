import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { forEachSeed, SimCluster, type SimSend, Sleeper } from '@actorfs/actors/testing';
import { haCell, masterReplica, mutate, readAt } from './ha-harness.ts';

const LOCK_CELL = ['l0', 'l1', 'l2'];
const MASTERS = ['m1', 'm2'];

type Fault = 'crash-master' | 'master-cut-from-lock-service' | 'master-isolated' | 'crash-backup';
const FAULTS: Fault[] = ['crash-master', 'master-cut-from-lock-service', 'master-isolated', 'crash-backup'];

describe('GFS master high availability under faults (simulator, many seeds)', () => {
  it('no acknowledged mutation (create or chunk add) is lost, one master per lock generation, and clients make progress after healing', async () => {
    const seeds = await forEachSeed(100, async (seed) => {
      const rand = seededRandom(seed);
      /** Per lock generation, the replicas that sent requests carrying it. */
      const senders = new Map<number, Set<string>>();
      const sim = new SimCluster({
        seed,
        network: { drop: 0.01, duplicate: 0.01 },
        onSend: (s: SimSend) => {
          const g = (s.body as { sequencer?: { generation?: number } } | null)?.sequencer?.generation;
          if (g !== undefined && MASTERS.includes(s.from)) senders.set(g, (senders.get(g) ?? new Set()).add(s.from));
        },
      });
      const sleeper = new Sleeper(sim);
      const cell = haCell(sim, sleeper, { chunkservers: 2 });
      const fault = FAULTS[Math.floor(rand() * FAULTS.length)]!;
      const acked = new Set<string>();
      const unknown = new Set<string>();
      /** Per acknowledged file, the handles of its acknowledged chunks by index. */
      const chunks = new Map<string, number[]>();
      /** Files that may take another chunk (not one whose chunk add had no answer: its next index is unknown). */
      const growing = new Set<string>();

      const addChunk = async (path: string): Promise<void> => {
        growing.delete(path);
        const handles = chunks.get(path)!;
        const added = await mutate(cell.client, { type: 'add-chunk', path, index: handles.length }, 12);
        if (added === 'exists') throw new Error('a chunk add answers the chunk at its index');
        handles.push(added.handle);
        growing.add(path);
      };
      const create = async (path: string): Promise<void> => {
        await mutate(cell.client, { type: 'create', path }, 12);
        acked.add(path);
        chunks.set(path, []);
        growing.add(path);
      };
      const client = async (c: number): Promise<void> => {
        for (let i = 0; i < 8; i++) {
          const mine = [...growing].filter((p) => p.startsWith(`/c${c}-`));
          const path = `/c${c}-${i}`;
          if (mine.length > 0 && rand() < 0.4) await addChunk(mine[Math.floor(rand() * mine.length)]!).catch(() => undefined);
          else await create(path).catch(() => unknown.add(path));
          await sleeper.sleep(rand() * 300);
        }
      };
      const chaos = async (): Promise<void> => {
        await sleeper.sleep(300 + rand() * 700);
        const master = await masterReplica(sim, cell);
        if (!master) return;
        const backup = MASTERS.find((m) => m !== master)!;
        const heldMs = 1500 + rand() * 2000;
        switch (fault) {
          case 'crash-master':
            sim.crash(master);
            await sleeper.sleep(heldMs);
            sim.restart(master);
            return;
          case 'master-cut-from-lock-service':
            // chunkservers, clients and the backups still reach it
            sim.partition([master], LOCK_CELL);
            await sleeper.sleep(heldMs);
            return sim.heal();
          case 'master-isolated':
            sim.isolate(master);
            await sleeper.sleep(heldMs);
            return sim.heal();
          case 'crash-backup':
            sim.crash(backup);
            await sleeper.sleep(heldMs);
            sim.restart(backup);
            return;
          default: {
            const never: never = fault;
            throw new Error(`unknown fault ${String(never)}`);
          }
        }
      };
      await sleeper.drive(Promise.all([client(0), client(1), client(2), chaos()]), 60_000);

      // healed: a client makes progress, and finds every acknowledged file
      await sleeper.drive(mutate(cell.client, { type: 'create', path: '/after-healing' }, 30));
      const names = new Set((await sleeper.drive(cell.client.call({ type: 'list', path: '/' }))).map((e) => `/${e.name}`));
      for (const path of acked) expect({ seed, fault, path, present: names.has(path) }).toEqual({ seed, fault, path, present: true });
      for (const path of names) expect(acked.has(path) || unknown.has(path) || path === '/after-healing').toBe(true);
      for (const [path, handles] of chunks) {
        for (const [index, handle] of handles.entries()) {
          const found = await sleeper.drive(cell.client.call({ type: 'locate', path, index }).then((l) => l.handle, (e: unknown) => String(e)));
          expect({ seed, fault, path, index, handle: found }).toEqual({ seed, fault, path, index, handle });
        }
      }
      // every in-sync backup holds the same namespace as the master
      const master = (await sleeper.drive(masterReplica(sim, cell)))!;
      const status = await sleeper.drive(sim.ask(cell.replicas.find((r) => r.name === master)!.ref, { type: 'ha-status' }));
      for (const name of status.inSync) {
        const r = cell.replicas.find((x) => x.name === name)!;
        const onBackup = await sleeper.drive(readAt(sim, r.ref, { type: 'list', path: '/' }));
        expect({ seed, backup: name, names: onBackup.answer.map((e) => `/${e.name}`).sort() }).toEqual({ seed, backup: name, names: [...names].sort() });
      }
      for (const [generation, from] of senders) expect({ seed, generation, masters: [...from] }).toEqual({ seed, generation, masters: [...from].slice(0, 1) });
    });
    expect(seeds).toBeGreaterThan(0);
  }, 1_200_000); // catches a hang only: 100 seeds take about 25 s of CPU, several minutes on a loaded machine
});
