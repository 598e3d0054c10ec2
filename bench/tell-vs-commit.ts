/**
 * `npx tsx bench/tell-vs-commit.ts <commit> [rounds]`: same-thread tell throughput of this
 * checkout's ActorNode against the one at <commit>, in one process, rounds alternating, so both
 * see the same machine. Each round sends 2,000,000 messages from a blaster to a sink on one node
 * (as tell_same_thread_msgs_per_s does, without worker threads) and reports messages per second of
 * wall time and per second of this process's CPU time (less sensitive to other load). 'now,
 * walked' is this checkout with checkSameThreadMessages on (every same-thread tell walked).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

interface Ref {
  readonly node: string;
  readonly id: string;
}
interface Ctx {
  readonly self: Ref;
  send(to: Ref, msg: object): void;
  now(): number;
}
type Receive = (msg: { type: string; [k: string]: unknown }) => void;
interface Runtime {
  ActorNode: new (opts: object) => { spawn(kind: unknown, props: object): Ref; tell(ref: Ref, msg: object): void };
  defineActor(name: string, setup: (props: object, ctx: Ctx) => Receive): unknown;
}

const [commit, roundsArg] = process.argv.slice(2);
if (!commit) {
  console.error('usage: tsx bench/tell-vs-commit.ts <commit> [rounds]');
  process.exit(2);
}
const root = join(import.meta.dirname, '..');
const oldDir = join(root, '.tmp', `tell-vs-${commit}`);
if (!existsSync(oldDir)) {
  mkdirSync(oldDir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} packages/actors/src | tar -x -C ${oldDir}`], { cwd: root });
  // The old source resolves msgpackr, lmdb and the rest from this checkout's installed packages.
  symlinkSync(join(root, 'packages/actors/node_modules'), join(oldDir, 'packages/actors/node_modules'));
}

async function load(src: string): Promise<Runtime> {
  const node = (await import(join(src, 'node.ts'))) as Pick<Runtime, 'ActorNode'>;
  const kind = (await import(join(src, 'kind.ts'))) as Pick<Runtime, 'defineActor'>;
  return { ActorNode: node.ActorNode, defineActor: kind.defineActor };
}

const env = {
  now: () => performance.now(),
  setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimer: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  defer: (fn: () => void) => setImmediate(fn),
};

/** Messages per wall second and per CPU second for `total` tells, acknowledged every 10,000, 50,000 in flight. */
async function round(rt: Runtime, total: number, checkSameThreadMessages: boolean): Promise<{ wall: number; cpu: number }> {
  const node = new rt.ActorNode({
    name: 'n',
    env,
    seed: 1,
    logSink: () => undefined,
    openStore: () => {
      throw new Error('no storage in this bench');
    },
    checkSameThreadMessages, // older nodes ignore it
  });
  let done: (ms: number) => void = () => undefined;
  const Sink = rt.defineActor('bench.vs.sink', (_p, ctx) => {
    let count = 0;
    let sender: Ref | undefined;
    return (msg) => {
      if (msg.type === 'm') {
        if (++count % 10_000 === 0 && sender) ctx.send(sender, { type: 'ack', count });
      } else {
        count = 0;
        sender = msg.sender as Ref;
      }
    };
  });
  const Blaster = rt.defineActor('bench.vs.blaster', (_p, ctx) => {
    let sent = 0;
    let start = 0;
    let target: Ref | undefined;
    const m = { type: 'm' };
    const pump = (acked: number): void => {
      const limit = Math.min(total, acked + 50_000);
      for (let i = sent; i < limit; i++) ctx.send(target!, m);
      sent = limit;
    };
    return (msg) => {
      if (msg.type === 'run') {
        target = msg.target as Ref;
        start = ctx.now();
        ctx.send(target, { type: 'reset', sender: ctx.self });
        pump(0);
      } else if ((msg.count as number) >= total) done(ctx.now() - start);
      else pump(msg.count as number);
    };
  });
  const sink = node.spawn(Sink, {});
  const blaster = node.spawn(Blaster, {});
  const cpu0 = process.cpuUsage();
  const ms = await new Promise<number>((resolve) => {
    done = resolve;
    node.tell(blaster, { type: 'run', target: sink });
  });
  const cpu = process.cpuUsage(cpu0);
  return { wall: (total / ms) * 1000, cpu: total / ((cpu.user + cpu.system) / 1e6) };
}

const current = await load(join(root, 'packages/actors/src'));
/** Name, runtime, and whether same-thread tells are walked against the whole message rule. */
const versions: Array<[string, Runtime, boolean]> = [
  [commit, await load(join(oldDir, 'packages/actors/src')), false],
  ['now', current, false],
  ['now, walked', current, true],
];
const seen = new Map<string, Array<{ wall: number; cpu: number }>>();
for (const [, rt, walk] of versions) await round(rt, 200_000, walk); // warm-up
for (let i = 0; i < Number(roundsArg ?? 6); i++) {
  for (const [name, rt, walk] of versions) {
    const r = await round(rt, 2_000_000, walk);
    seen.set(name, [...(seen.get(name) ?? []), r]);
  }
}
const m = (xs: number[]): string => `${(xs.sort((a, b) => a - b)[xs.length >> 1]! / 1e6).toFixed(2)}M`;
const best = (xs: number[]): string => `${(Math.max(...xs) / 1e6).toFixed(2)}M`;
for (const [name, rs] of seen) {
  const wall = rs.map((r) => r.wall);
  const cpu = rs.map((r) => r.cpu);
  console.log(`${name.padEnd(14)} msg/s wall: median ${m(wall)} best ${best(wall)}   msg per CPU-s: median ${m(cpu)} best ${best(cpu)}`);
}
