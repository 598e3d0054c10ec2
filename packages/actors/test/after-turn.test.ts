import { describe, expect, it } from '@jest/globals';
import { afterTurn, defineActor, type ActorContext, type ActorRef, type Asks } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';

type JobMsg = { type: 'go' } | { type: 'tick' } | { type: 'wait' } | ({ type: 'seen' } & Asks<Array<[string, number]>>);
/** On go (a synchronous receive), queues a job after the turn and a timer 1 ms on; records when each ran. */
const Jobs = defineActor('test.after-turn-jobs', (_props: Record<string, never>, ctx: ActorContext<JobMsg>) => {
  const seen: Array<[string, number]> = [];
  return (msg: JobMsg) => {
    switch (msg.type) {
      case 'go':
        seen.push(['turn', ctx.now()]);
        afterTurn(() => seen.push(['job', ctx.now()]));
        seen.push(['turn ends', ctx.now()]);
        return ctx.setTimer('tick', 1, { type: 'tick' });
      case 'tick':
        return void seen.push(['timer', ctx.now()]);
      case 'wait': // an async receive: the simulator's loop awaits its promise work
        return Promise.resolve();
      case 'seen':
        return ctx.reply(seen);
      default:
        return ctx.unhandled(msg satisfies never);
    }
  };
});

/** The order `Jobs` saw things in, with times relative to its turn. */
async function seenIn(sim: SimCluster, jobs: ActorRef<JobMsg>): Promise<Array<[string, number]>> {
  const seen = await sim.call(jobs, { type: 'seen' });
  return seen.map(([what, at]) => [what, at - seen[0]![1]]);
}

const ORDER = [
  ['turn', 0],
  ['turn ends', 0],
  ['job', 0],
  ['timer', 1],
];

describe('afterTurn', () => {
  it("a job queued in a synchronous receive runs once the turn is over, in the simulator before its next event (no timer needed)", async () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    const jobs = sim.spawn('a', Jobs, {});
    sim.tell(jobs, { type: 'go' });
    await sim.runFor(5);
    const seen = await sim.call(jobs, { type: 'seen' });
    const at = seen[0]![1];
    expect(seen).toEqual([
      ['turn', at],
      ['turn ends', at],
      ['job', at],
      ['timer', at + 1],
    ]);
  });

  it('two simulations in one process, their loops interleaved, each run their own jobs before their next event', async () => {
    const a = new SimCluster({ seed: 1, nodes: ['a'] });
    const b = new SimCluster({ seed: 2, nodes: ['b'] });
    const jobsA = a.spawn('a', Jobs, {});
    const jobsB = b.spawn('b', Jobs, {});
    // a's loop awaits its async receive first, so b's loop starts while a's is running.
    a.tell(jobsA, { type: 'wait' });
    a.tell(jobsA, { type: 'go' });
    b.tell(jobsB, { type: 'go' });
    await Promise.all([a.runFor(5), b.runFor(5)]);
    expect(await seenIn(a, jobsA)).toEqual(ORDER);
    expect(await seenIn(b, jobsB)).toEqual(ORDER);
  });
});

