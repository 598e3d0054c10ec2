/**
 * The master's operation log: one record per metadata mutation, a closed union. A record carries
 * every choice the master made (chunk handles, versions, deletion times), so applying the same
 * records in the same order always gives the same metadata.
 */
export type ChunkHandle = number;

export type MetadataRecord =
  | { type: 'mkdir'; path: string }
  | { type: 'rmdir'; path: string }
  | { type: 'create'; path: string }
  /** A new chunk (version 1) at the end of a file. */
  | { type: 'add-chunk'; path: string; handle: ChunkHandle }
  /**
   * A lease grant (or a replica found ahead) raises a chunk's version. A grant names the servers
   * it raises (`raisedOn`): after a restart, if all of them report an older version, the raise
   * reached no one and the chunk is raised again from them (else one may hold the new version).
   */
  | { type: 'set-version'; handle: ChunkHandle; version: number; raisedOn?: string[] }
  /** Renames the file to a hidden name carrying the deletion time; atMs exceeds every earlier deletion's. */
  | { type: 'delete'; path: string; atMs: number }
  | { type: 'undelete'; hiddenPath: string }
  /** Drops a hidden file for good; chunks no file refers to any more are forgotten (orphans on the chunkservers). */
  | { type: 'reclaim'; hiddenPath: string }
  | { type: 'rename'; from: string; to: string }
  /** Copy-on-write copy of a file or a directory tree: the copies share chunks (reference counted). */
  | { type: 'snapshot'; source: string; target: string }
  /** The first write to a shared chunk after a snapshot gives this file its own copy. */
  | { type: 'copy-on-write'; path: string; index: number; handle: ChunkHandle };

export type RecordType = MetadataRecord['type'];

const fields: { [T in RecordType]: ReadonlyArray<readonly [string, 'string' | 'number']> } = {
  mkdir: [['path', 'string']],
  rmdir: [['path', 'string']],
  create: [['path', 'string']],
  'add-chunk': [
    ['path', 'string'],
    ['handle', 'number'],
  ],
  'set-version': [
    ['handle', 'number'],
    ['version', 'number'],
  ],
  delete: [
    ['path', 'string'],
    ['atMs', 'number'],
  ],
  undelete: [['hiddenPath', 'string']],
  reclaim: [['hiddenPath', 'string']],
  rename: [
    ['from', 'string'],
    ['to', 'string'],
  ],
  snapshot: [
    ['source', 'string'],
    ['target', 'string'],
  ],
  'copy-on-write': [
    ['path', 'string'],
    ['index', 'number'],
    ['handle', 'number'],
  ],
};

/** The shape problem of a value read back as a record, or undefined when it is one. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(fields, type)) return `unknown record type ${JSON.stringify(type)}`;
  for (const [name, kind] of fields[type as RecordType]) {
    const v = (value as Record<string, unknown>)[name];
    if (kind === 'string' ? typeof v !== 'string' : !Number.isSafeInteger(v) || (v as number) < 0) {
      return `${type} record: ${name} must be ${kind === 'string' ? 'a string' : 'an integer >= 0'}`;
    }
  }
  const raisedOn = (value as { raisedOn?: unknown }).raisedOn;
  if (type === 'set-version' && raisedOn !== undefined && !(Array.isArray(raisedOn) && raisedOn.every((s) => typeof s === 'string'))) {
    return 'set-version record: raisedOn must be a list of server ids';
  }
  return undefined;
}
