import type { MasterMsg } from '../protocol.ts';

export type Heartbeat = Extract<MasterMsg, { type: 'heartbeat' }>;

/** What is wrong with a heartbeat, if anything (it is then refused and changes nothing). */
export function heartbeatProblem(msg: Heartbeat): string | undefined {
  if (typeof msg.server !== 'string' || typeof msg.rack !== 'string') return 'server and rack must be strings';
  if (!(msg.usedBytes >= 0 && msg.capacityBytes >= 0)) return 'usedBytes and capacityBytes must be numbers >= 0';
  if (!Array.isArray(msg.chunks)) return 'chunks must be a list';
  if (msg.leases !== undefined && !(Array.isArray(msg.leases) && msg.leases.every((h: unknown) => Number.isSafeInteger(h)))) return 'leases must be a list of chunk handles';
  if (msg.cloning !== undefined && !(Array.isArray(msg.cloning) && msg.cloning.every((h: unknown) => Number.isSafeInteger(h)))) return 'cloning must be a list of chunk handles';
  const bad = msg.chunks.find((c: unknown) => {
    const r = c as { handle?: unknown; version?: unknown } | null;
    return !Number.isSafeInteger(r?.handle) || !Number.isSafeInteger(r?.version);
  });
  return bad === undefined ? undefined : `bad chunk report ${JSON.stringify(bad)}`;
}
