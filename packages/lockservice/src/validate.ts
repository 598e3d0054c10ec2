/**
 * Shape checks for untrusted ops and queries. The master runs them before proposing (no log slot
 * for a bad op), and apply and query run them again, so a malformed op that reaches the log
 * anyway is refused as BAD_REQUEST instead of throwing or corrupting the database.
 */
import { MAX_LOCK_DELAY_MS, type LsConfig } from './config.ts';
import { componentProblem, pathProblem, principalProblem } from './paths.ts';
import { EVENT_KINDS, type LsOpType, type LsQueryType, type Sequencer } from './protocol.ts';
import { sequencerProblem } from './sequencer-guard.ts';

/** A field's check: what is wrong with the value, or undefined. */
type Check = (value: unknown) => string | undefined;
interface Fields {
  required: Record<string, Check>;
  optional?: Record<string, Check>;
}
/** Fields as the checks walk them, made once per cell: the master checks every request. */
interface FieldChecks {
  required: Array<[string, Check]>;
  optional: Array<[string, Check]>;
  /** Names known without a check of their own (an op's `type`). */
  extra: string[];
  known: Set<string>;
}

const id: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : 'must be a non-negative integer');
const oneOf =
  (...values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;
/** A session's secret: the master draws 32 hex digits. */
export const MAX_SECRET_CHARS = 64;
const secretProblem: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_SECRET_CHARS ? undefined : `must be a string of 1 to ${MAX_SECRET_CHARS} characters`);
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be a boolean');
const eventKinds: Check = (v) => {
  if (!Array.isArray(v)) return 'must be an array of event kinds';
  if (v.length > EVENT_KINDS.length || new Set(v).size !== v.length) return 'must list each event kind at most once';
  const bad = v.find((k) => !(EVENT_KINDS as readonly unknown[]).includes(k));
  return bad === undefined ? undefined : `holds an unknown event kind ${JSON.stringify(bad)} (known: ${EVENT_KINDS.join(', ')})`;
};
const masterTerm: Check = (v) => {
  const t = v as { round?: unknown; id?: unknown } | null;
  const ok = typeof v === 'object' && t !== null && Object.keys(t).length === 2 && Number.isSafeInteger(t.round) && Number.isSafeInteger(t.id) && (t.round as number) >= 0 && (t.id as number) >= -1;
  return ok ? undefined : 'must be a master term { round, id } (integers, round from 0, id from -1)';
};
const lockDelay: Check = (v) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_LOCK_DELAY_MS ? undefined : `must be an integer from 0 to ${MAX_LOCK_DELAY_MS} (ms)`;

/** The op and query checkers of one cell. */
export function validators(config: LsConfig): { op: (op: unknown) => string | undefined; query: (q: unknown) => string | undefined } {
  const { limits } = config;
  const path: Check = (v) => pathProblem(v, config.cell, limits);
  const contents: Check = (v) => {
    if (!(v instanceof Uint8Array)) return 'must be bytes (a Uint8Array)';
    return v.byteLength > limits.maxContentsBytes ? `is ${v.byteLength} bytes, over the limit of ${limits.maxContentsBytes}` : undefined;
  };
  const aclName: Check = (v) => (v === null ? undefined : componentProblem(v, limits, 'an ACL file name'));
  const aclFields = fieldChecks({ required: {}, optional: { read: aclName, write: aclName, changeAcl: aclName } });
  const acl: Check = (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object { read?, write?, changeAcl? }';
    return fieldsProblem(v as Record<string, unknown>, aclFields);
  };
  const sequencer: Check = (v) => sequencerProblem(v) ?? path((v as Sequencer).lock);
  const onHandle: Fields = { required: { session: id, handle: id } };

  const ops: Record<LsOpType, Fields> = {
    openSession: { required: { principal: (v) => principalProblem(v, limits) }, optional: { secret: secretProblem } },
    closeSession: { required: { session: id } },
    expireSession: { required: { session: id } },
    open: {
      required: { session: id, path, create: oneOf('never', 'ifAbsent', 'exclusive') },
      optional: { kind: oneOf('file', 'dir'), ephemeral: boolean, contents, events: eventKinds },
    },
    close: onHandle,
    setContents: { required: { session: id, handle: id, contents }, optional: { ifGeneration: id, attempt: id } },
    delete: onHandle,
    setAcl: { required: { session: id, handle: id, acl } },
    acquire: { required: { session: id, handle: id, mode: oneOf('exclusive', 'shared') }, optional: { lockDelayMs: lockDelay, attempt: id, final: boolean } },
    release: onHandle,
    beginTerm: { required: { term: masterTerm } },
  };
  const queries: Record<LsQueryType, Fields> = {
    getContentsAndStat: onHandle,
    stat: onHandle,
    readdir: onHandle,
    getSequencer: onHandle,
    checkSequencer: { required: { sequencer } },
    sessions: { required: {}, optional: { session: id } },
    sessionCount: { required: {} },
    ephemerals: { required: { session: id } },
    heldLocks: { required: {}, optional: { path } },
  };

  // Every op may carry the term of the master that proposed it.
  const opChecks = tableChecks(Object.fromEntries(Object.entries(ops).map(([type, f]) => [type, { required: f.required, optional: { term: masterTerm, ...f.optional } }])));
  const queryChecks = tableChecks(queries);
  // Every check is made in full, also of an op this node checked before (the server's, then the
  // proposer's of the master's copy under its term, then apply's): remembering checked ops in a
  // weak set cost more than the checks it spared (0.3 us to add one, about as much as a check,
  // and more for the collector, which walks a weak set's entries apart).
  const op = (raw: unknown): string | undefined => {
    const problem = typed(raw, opChecks, 'op');
    if (problem) return problem;
    const o = raw as { type: string; kind?: unknown; contents?: unknown };
    return o.type === 'open' && o.kind === 'dir' && o.contents !== undefined ? 'open: a directory has no contents' : undefined;
  };
  return { op, query: (raw) => typed(raw, queryChecks, 'query') };
}

function fieldChecks(fields: Fields, extra: string[] = []): FieldChecks {
  const required = Object.entries(fields.required);
  const optional = Object.entries(fields.optional ?? {});
  return { required, optional, extra, known: new Set([...extra, ...required.map(([name]) => name), ...optional.map(([name]) => name)]) };
}

/** Each type's field checks; every op and query also has its `type`. */
function tableChecks(table: Record<string, Fields>): Record<string, FieldChecks> {
  return Object.fromEntries(Object.entries(table).map(([type, fields]) => [type, fieldChecks(fields, ['type'])]));
}

function typed(raw: unknown, table: Record<string, FieldChecks>, what: string): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${what} must be an object with a type`;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(table, type)) {
    return `unknown ${what} type ${JSON.stringify(type)} (known: ${Object.keys(table).join(', ')})`;
  }
  const problem = fieldsProblem(raw as Record<string, unknown>, table[type]!);
  return problem && `${type}: ${problem}`;
}

function fieldsProblem(obj: Record<string, unknown>, fields: FieldChecks): string | undefined {
  // Fields found with a value: when the object has no more keys than these, none is unknown, and
  // the keys need not be walked one by one (a third of a check's time).
  let found = fields.required.length;
  for (const [name, check] of fields.required) {
    if (obj[name] === undefined) return `${name}: missing`;
    const problem = check(obj[name]);
    if (problem) return `${name}: ${problem}`;
  }
  for (const [name, check] of fields.optional) {
    if (obj[name] === undefined) continue;
    found++;
    const problem = check(obj[name]);
    if (problem) return `${name}: ${problem}`;
  }
  for (const name of fields.extra) if (obj[name] !== undefined) found++;
  if (Object.keys(obj).length === found) return undefined;
  for (const name in obj) if (Object.hasOwn(obj, name) && !fields.known.has(name)) return `unknown field ${JSON.stringify(name)}`;
  return undefined;
}
