import { describe, expect, it } from '@jest/globals';
import { afterTurn, defineActor, type ActorContext, type Asks } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';

type JobMsg = { type: 'go' } | { type: 'tick' } | ({ type: 'seen' } & Asks<Array<[string, number]>>);
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
      case 'seen':
        return ctx.reply(seen);
      default:
        return ctx.unhandled(msg satisfies never);
    }
  };
});

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
});
