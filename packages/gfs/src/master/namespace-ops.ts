import type { MetadataRead, MetadataReadResults } from '../ha/ha-protocol.ts';
import type { MasterMsg } from '../protocol.ts';
import { leaseAsked } from './leases.ts';
import type { Answer, MasterHost } from './master-host.ts';
import { MetadataError } from './metadata.ts';
import { addChunk } from './new-chunks.ts';
import type { MetadataRecord } from './records.ts';
import { startSnapshot } from './snapshots.ts';

export type ClientOp = Extract<MasterMsg, { type: 'mkdir' | 'create' | 'delete' | 'undelete' | 'rename' | 'snapshot' | 'list' | 'stat' | 'add-chunk' | 'locate' | 'lease' }>;

/** A client's operation, run under its namespace locks: read locks on the ancestors, a read or write lock on each path. */
export function clientOp(m: MasterHost, msg: ClientOp): void {
  switch (msg.type) {
    case 'mkdir':
    case 'create': {
      const path = m.pathOf(msg.path);
      return m.locked({ write: [path] }, (a) => mutateAndAnswer(m, { type: msg.type, path }, a));
    }
    case 'delete': {
      const path = m.pathOf(msg.path);
      return m.locked({ write: [path] }, (a) => mutateAndAnswer(m, { type: 'delete', path, atMs: m.metadata.deletionTime(m.ctx.now()) }, a));
    }
    case 'undelete': {
      const path = m.pathOf(msg.path);
      return m.locked({ write: [path] }, (a) => {
        const hidden = m.metadata.deletedVersionsOf(path).pop();
        if (!hidden) throw new MetadataError('not-found', `no deleted file ${path} to undelete`);
        mutateAndAnswer(m, { type: 'undelete', hiddenPath: hidden }, a);
      });
    }
    case 'rename': {
      const [from, to] = [m.pathOf(msg.from), m.pathOf(msg.to)];
      return m.locked({ write: [from, to] }, (a) => mutateAndAnswer(m, { type: 'rename', from, to }, a));
    }
    case 'snapshot': {
      const [source, target] = [m.pathOf(msg.source), m.pathOf(msg.target)];
      return m.locked({ write: [source, target] }, (a, op) => startSnapshot(m, op, source, target, a));
    }
    case 'list':
    case 'stat': {
      const path = m.pathOf(msg.path);
      return m.locked({ read: [path] }, (a) => a.reply(readMetadata(m, { type: msg.type, path })));
    }
    case 'add-chunk': {
      const path = m.pathOf(msg.path);
      return m.locked({ write: [path] }, (a) => addChunk(m, path, msg.index, a));
    }
    case 'locate': {
      const path = m.pathOf(msg.path);
      return m.locked({ read: [path] }, (a) => a.reply(readMetadata(m, { type: 'locate', path, index: msg.index })));
    }
    case 'lease': {
      const path = m.pathOf(msg.path);
      // a write lock: the first lease after a snapshot gives the file a chunk of its own
      return m.locked({ write: [path] }, (a) => leaseAsked(m, path, msg.index, a));
    }
    default: {
      const never: never = msg;
      m.ctx.unhandled(never);
    }
  }
}

function mutateAndAnswer(m: MasterHost, record: MetadataRecord, answer: Answer): void {
  m.mutate(record);
  answer.replyDurable(true);
}

/** A read of the namespace (also a high-availability replica's, see ha/replica.ts). */
export function readMetadata<K extends MetadataRead['type']>(m: MasterHost, r: MetadataRead & { type: K }): MetadataReadResults[K];
export function readMetadata(m: MasterHost, r: MetadataRead): MetadataReadResults[MetadataRead['type']] {
  switch (r.type) {
    case 'list':
      return m.metadata.list(m.pathOf(r.path)).map(({ name, entry }) => ({ name, kind: entry.kind }));
    case 'stat': {
      const entry = m.metadata.get(m.pathOf(r.path));
      if (!entry) throw new MetadataError('not-found', `${r.path} does not exist`);
      return entry.kind === 'dir' ? { kind: 'dir' } : { kind: 'file', chunks: entry.chunks.length };
    }
    case 'locate': {
      const handle = m.chunkAt(m.pathOf(r.path), r.index);
      const version = m.versionOf(handle)!;
      return { handle, version, replicas: m.locations.liveReplicas(handle, version) };
    }
    default: {
      const never: never = r;
      throw new Error(`unknown read ${JSON.stringify(never)}`);
    }
  }
}
