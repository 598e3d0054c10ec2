import { performance } from 'node:perf_hooks';
import type { ActorRef } from '@actorfs/actors';
import { checkOperations, registerModel, SimCluster, type Operation, type RegisterInput, type RegisterOutput } from '@actorfs/actors/testing';
import { Relay, type RelayMsg } from '../kinds/sim-bench.ts';
import { collector, type Suite } from '../suite.ts';

/** The simulator's speed, and the linearizability checker's on a 1,000-operation history. */
export const suite: Suite = {
  async run(report) {
    const { add, figures } = collector(report);
    {
      const nodes = Array.from({ length: 8 }, (_, i) => `n${i}`);
      const sim = new SimCluster({ seed: 1, nodes, network: { delayMs: [1, 5], drop: 0.001, duplicate: 0.001, reorder: true } });
      const relays: ActorRef<RelayMsg>[] = nodes.map((n) => sim.spawn(n, Relay, {}));
      for (const r of relays) sim.tell(r, { type: 'peers', peers: relays });
      for (let i = 0; i < 400; i++) sim.tell(relays[i % relays.length]!, { type: 'token', hops: 0 });
      await sim.runFor(100); // warm up
      const e0 = sim.events;
      const t0 = performance.now();
      await sim.runFor(5_000);
      const wallMs = performance.now() - t0;
      add({ name: 'sim_events_per_s', value: ((sim.events - e0) / wallMs) * 1000, unit: 'event/s', goal: '>= 300,000' });
    }
    {
      const history = registerHistory(2024, 8, 1_000);
      checkOperations(registerModel(0), history); // warm up
      const t0 = performance.now();
      const result = checkOperations(registerModel(0), history);
      const ms = performance.now() - t0;
      if (result.ok !== true) throw new Error(`the benchmark history should be linearizable: ${JSON.stringify(result).slice(0, 200)}`);
      add({ name: 'linearizability_check_ms', value: ms, unit: 'ms', goal: '1,000 ops, 8 clients' });
    }
    return figures;
  },
};

/** A linearizable register history: each op takes effect at a random instant inside its interval. */
function registerHistory(seed: number, clients: number, count: number): Operation<RegisterInput<number>, RegisterOutput<number>>[] {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  type Pending = { client: number; call: number; ret: number; at: number; input: RegisterInput<number> };
  const pending: Pending[] = [];
  const free = new Array<number>(clients).fill(0);
  for (let i = 0; i < count; i++) {
    const client = i % clients;
    const call = free[client]! + rnd() * 3;
    const ret = call + 1 + rnd() * 10;
    free[client] = ret;
    const input: RegisterInput<number> = rnd() < 0.5 ? { op: 'write', value: i } : { op: 'read' };
    pending.push({ client, call, ret, at: call + rnd() * (ret - call), input });
  }
  let value = 0;
  const outputs = new Map<Pending, RegisterOutput<number>>();
  for (const p of [...pending].sort((a, b) => a.at - b.at)) {
    if (p.input.op === 'write') {
      value = p.input.value;
      outputs.set(p, undefined);
    } else outputs.set(p, value);
  }
  return pending.map((p) => ({ clientId: p.client, input: p.input, output: outputs.get(p)!, call: p.call, ret: p.ret }));
}
