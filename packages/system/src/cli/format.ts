import type { SystemStatus } from '../status.ts';

export type StatusView = SystemStatus;

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const upDown = (up: boolean): string => (up ? 'up' : 'DOWN');

/** The status page as text, for `actorfs status`. */
export function formatStatus(s: StatusView): string {
  const c = s.lockCell;
  const g = s.gfs;
  const m = g.status;
  const lines = [
    `lock cell /ls/${c.cell}: master ${c.master ?? 'none'}, ${c.sessions ?? '?'} live sessions, ${c.locksHeld.length} locks held`,
    ...c.replicas.map((r) => `  ${r.node.padEnd(12)} ${upDown(r.up).padEnd(5)} ${r.role.padEnd(9)} commit ${r.commitIndex ?? '?'} applied ${r.applied ?? '?'}${r.leaseUntil ? ` (leader lease until ${new Date(r.leaseUntil).toISOString().slice(11, 23)})` : ''}`),
    `gfs master ${g.master.node === null ? 'none in office (failing over)' : `${g.master.node} (lock generation ${g.master.generation ?? '?'})`}: ${m?.files ?? '?'} files, ${m?.chunks ?? '?'} chunks, ${m?.underReplicated ?? '?'} under-replicated, ${m?.clonesInFlight.length ?? '?'} clones in flight`,
    ...g.replicas.map((r) => `  ${r.node.padEnd(12)} ${upDown(r.up).padEnd(5)} ${r.role.padEnd(8)} log at ${r.logPosition ?? '?'}${r.role === 'master' ? '' : `, lag ${r.lagRecords ?? '?'} records / ${r.lagMs ?? '?'} ms${r.inSync ? ', in sync' : ''}`}`),
    'chunkservers:',
    ...g.chunkservers.map((cs) => `  ${cs.name.padEnd(12)} ${cs.rack.padEnd(8)} ${(cs.up ? (cs.live ? 'up' : 'not heard') : 'DOWN').padEnd(9)} ${mib(cs.usedBytes)} of ${mib(cs.capacityBytes)}, ${cs.chunks} chunks`),
    'nodes:',
    ...s.nodes.map((n) => `  ${n.name.padEnd(12)} ${n.role.padEnd(12)} ${upDown(n.up).padEnd(5)}${n.stats ? ` actors ${n.stats.actors}, in ${n.stats.messagesIn}, out ${n.stats.messagesOut}, mailboxes ${n.stats.mailboxTotal}, dead letters ${n.stats.deadLetters.total}, synced commits ${n.stats.storage.commits}` : ''}`),
  ];
  return lines.join('\n');
}
