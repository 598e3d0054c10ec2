import { performance } from 'node:perf_hooks';
import type { ActorSystem } from '@actorfs/actors';
import type { Asker, GroupPlan, TraceStage, TraceStamp } from '@actorfs/paxos';
import { median, type Figure } from '../suite.ts';

/**
 * Where commit_1's time goes, from the stamps the group's actors keep when planned with `trace`
 * (PAXOS_BENCH_BREAKDOWN=1) and the client's own on the main thread (the same clock origin): the
 * median of each stage over the slots that carried one client command.
 */
export class Breakdown {
  /** Per command (session/seq): when the client sent it, and when its answer came. */
  private readonly client = new Map<string, { sent: number; answered?: number }>();

  /** Wraps the client's ask so that each command's send and answer are stamped. */
  watch(ask: Asker): Asker {
    return (ref, m, timeoutMs) => {
      if (m.type !== 'propose' || m.cmd.type !== 'op') return ask(ref, m, timeoutMs);
      const key = `${m.cmd.session}/${m.cmd.seq}`;
      const stamp: { sent: number; answered?: number } = { sent: now() };
      this.client.set(key, stamp);
      return ask(ref, m, timeoutMs).then((r) => {
        stamp.answered = now();
        return r;
      });
    };
  }

  /** Drops every stamp so far (the client's and the actors'): what follows is measured. */
  async reset(system: ActorSystem, plan: GroupPlan): Promise<void> {
    await collect(system, plan);
    this.client.clear();
  }

  /** The figures over what was stamped since reset; `leaderNode` names the own acceptor. */
  async figures(system: ActorSystem, plan: GroupPlan, leaderNode: string): Promise<Figure[]> {
    const own = plan.acceptors.findIndex((a) => a.node === leaderNode);
    const slots = bySlot(await collect(system, plan));
    const stages = new Map<string, number[]>();
    const add = (name: string, us: number | undefined): void => void (us !== undefined && Number.isFinite(us) && (stages.get(name) ?? stages.set(name, []).get(name)!).push(us));
    for (const s of slots.values()) {
      const received = s.filter((x) => x.stage === 'leader-received');
      if (received.length !== 1) continue; // commit_1: one command a slot
      const c = this.client.get(received[0]!.cmd!);
      if (!c?.answered) continue;
      const at = (stage: TraceStage, acceptor?: number): number | undefined => s.find((x) => x.stage === stage && (acceptor === undefined || x.acceptor === acceptor))?.at;
      // The acceptors whose notices made the majority: the own one (on the leader's node) and the remote ones.
      const acks = s.filter((x) => x.stage === 'accepted-received').sort((a, b) => a.at - b.at);
      const quorum = acks.slice(0, Math.floor(plan.acceptors.length / 2) + 1).map((x) => x.acceptor!);
      const remotes = quorum.filter((i) => i !== own);
      const roles: Array<[string, number]> = [...(quorum.includes(own) ? [['own', own] as [string, number]] : []), ...remotes.map((i, k): [string, number] => [k === 0 ? 'remote' : `remote_${k + 1}`, i])];
      const us = (from: number | undefined, to: number | undefined): number | undefined => (from === undefined || to === undefined ? undefined : (to - from) * 1000);
      add('client_to_leader', us(c.sent, received[0]!.at));
      add('leader_to_accept_sent', us(received[0]!.at, at('accept-sent')));
      for (const [role, i] of roles) {
        add(`${role}_acceptor_hop`, us(at('accept-sent'), at('acceptor-received', i)));
        add(`${role}_acceptor_receive_to_synced`, us(at('acceptor-received', i), at('acceptor-synced', i)));
        add(`${role}_acceptor_synced_to_leader`, us(at('acceptor-synced', i), at('accepted-received', i)));
      }
      // How the majority's two syncs are staggered (the floor starts its second STAGGER_US after its first).
      const starts = quorum.map((i) => at('acceptor-received', i)).sort((a, b) => (a ?? 0) - (b ?? 0));
      const ends = quorum.map((i) => at('acceptor-synced', i)).sort((a, b) => (a ?? 0) - (b ?? 0));
      add('second_sync_starts_after_first', us(starts[0], starts[1]));
      add('second_sync_ends_after_first', us(ends[0], ends[1]));
      add('chosen_to_commit_sent', us(acks[quorum.length - 1]?.at, at('commit-sent')));
      add('commit_to_learner', us(at('commit-sent'), at('learner-received')));
      add('learner_apply_and_answer', us(at('learner-received'), at('learner-answered')));
      add('learner_to_client', us(at('learner-answered'), c.answered));
      add('total', us(c.sent, c.answered));
    }
    const count = stages.get('total')?.length ?? 0;
    return [
      { name: 'commit_1_breakdown_slots', value: count, unit: 'slot', goal: 'slots of one command with every stamp' },
      ...[...stages].map(([name, values]) => ({ name: `commit_1_breakdown_${name}_p50_us`, value: median(values), unit: 'us', goal: 'breakdown: median' })),
    ];
  }
}

/** The actors' clock on the main thread (ctx.now on threads: the same origin). */
function now(): number {
  return performance.timeOrigin + performance.now();
}

async function collect(system: ActorSystem, plan: GroupPlan): Promise<TraceStamp[]> {
  const all = await Promise.all([
    ...plan.proposers.map((r) => system.ask(r, { type: 'trace' })),
    ...plan.acceptors.map((r) => system.ask(r, { type: 'trace' })),
    ...plan.learners.map((r) => system.ask(r, { type: 'trace' })),
  ]);
  return all.flat();
}

function bySlot(stamps: TraceStamp[]): Map<number, TraceStamp[]> {
  const out = new Map<number, TraceStamp[]>();
  for (const s of stamps) (out.get(s.slot) ?? out.set(s.slot, []).get(s.slot)!).push(s);
  return out;
}
