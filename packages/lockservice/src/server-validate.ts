import type { ServerMsg } from './server-protocol.ts';

/** Every message type a server takes (a type the record misses fails to compile). */
const SERVER_MESSAGE_TYPES: Record<ServerMsg['type'], true> = {
  whoIsMaster: true,
  op: true,
  acquire: true,
  query: true,
  keepAlive: true,
  leading: true,
  'not-leading': true,
  applied: true,
  wake: true,
};

/** The longest a blocking acquire may wait. */
export const MAX_ACQUIRE_TIMEOUT_MS = 3_600_000;
/** Invalidation acknowledgements one KeepAlive carries at most. */
export const MAX_ACKS = 100_000;

const badSecret = (msg: Record<string, unknown>): boolean => msg.secret !== undefined && typeof msg.secret !== 'string';
const isId = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What is wrong with a message a server got, or undefined. Only the envelope is checked here;
 * the database checks ops and queries themselves (validate and query), so a bad one is refused
 * with its reason there.
 */
export function serverMsgProblem(msg: unknown): string | undefined {
  if (!isObject(msg) || typeof msg.type !== 'string' || !Object.hasOwn(SERVER_MESSAGE_TYPES, msg.type)) return `unknown message ${describe(msg)}`;
  if (badSecret(msg)) return `${msg.type}: secret must be a string`;
  switch (msg.type as ServerMsg['type']) {
    case 'op':
      if (!isObject(msg.op) || typeof msg.op.type !== 'string') return 'op: an object with a type is needed';
      if (msg.op.type === 'expireSession' || msg.op.type === 'beginTerm') return `op: ${msg.op.type} is the master's own`;
      return undefined;
    case 'acquire':
      if (!isId(msg.session) || !isId(msg.handle)) return 'acquire: session and handle must be non-negative integers';
      if (msg.mode !== 'exclusive' && msg.mode !== 'shared') return `acquire: mode must be exclusive or shared, got ${describe(msg.mode)}`;
      if (msg.attempt !== undefined && !isId(msg.attempt)) return 'acquire: attempt must be a non-negative integer';
      if (typeof msg.timeoutMs !== 'number' || !(msg.timeoutMs >= 0 && msg.timeoutMs <= MAX_ACQUIRE_TIMEOUT_MS)) return `acquire: timeoutMs must be from 0 to ${MAX_ACQUIRE_TIMEOUT_MS}`;
      return undefined;
    case 'query':
      if (!isObject(msg.query)) return 'query: an object is needed';
      if (msg.query.type === 'sessions') return "query: sessions is the master's own";
      if (msg.cache !== undefined && (!isObject(msg.cache) || !isId(msg.cache.session) || typeof msg.cache.path !== 'string')) return 'query: cache must name a session and a path';
      return undefined;
    case 'keepAlive':
      if (!isId(msg.session)) return 'keepAlive: session must be a non-negative integer';
      if (msg.answerNow !== undefined && typeof msg.answerNow !== 'boolean') return 'keepAlive: answerNow must be a boolean';
      if (msg.seen !== undefined && (!isObject(msg.seen) || typeof msg.seen.term !== 'string' || !isId(msg.seen.seq))) return 'keepAlive: seen must name a term and an event number';
      if (!Array.isArray(msg.acks) || msg.acks.length > MAX_ACKS || !msg.acks.every(isId)) return `keepAlive: acks must be at most ${MAX_ACKS} non-negative integers`;
      return undefined;
    default:
      return undefined;
  }
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
