import { ActorRef, decode, encode, type Asks } from '@actorfs/actors';
import type { ClientEvent, Sequencer } from '@actorfs/lockservice';
import type { CheckpointPiece } from '../master/metadata.ts';
import type { MetadataRecord } from '../master/records.ts';
import type { ChunkLocation, MasterMsg } from '../protocol.ts';
import type { Won } from './election.ts';

/** Which lock generation wrote the records from `start` on (until the next term's start). */
export type Term = readonly [start: number, generation: number];

/** A backup's answer to an append: its log now ends at lastSeq; `matched` false means the append did not fit its log (nothing changed). */
export interface AppendAck {
  matched: boolean;
  lastSeq: number;
  lastGeneration: number;
}

/** What a replica answers a read with, and how far behind the master it may be. */
export interface ShadowAnswer<R> {
  answer: R;
  /** Records the master had logged (as last heard) that this replica has not. */
  lagRecords: number;
  /** How long since this replica last knew it had all the master's records (0 on the master). */
  lagMs: number;
  /** The replica that answered. */
  replica: string;
}

export type MetadataRead = { type: 'list'; path: string } | { type: 'stat'; path: string } | { type: 'locate'; path: string; index: number };
export interface MetadataReadResults {
  list: Array<{ name: string; kind: 'dir' | 'file' }>;
  stat: { kind: 'dir' } | { kind: 'file'; chunks: number };
  locate: ChunkLocation;
}

export interface HaStatus {
  replica: string;
  role: 'master' | 'backup' | 'shadow';
  generation: number | null;
  lastSeq: number;
  /** Replicas the master waits for (on the master). */
  inSync: string[];
  /** How often a backup has left the master's in-sync set (down or silent) this term (on the master). */
  inSyncDrops: number;
}

/** What master replicas say to each other: every request from the master carries its sequencer. */
export type HaMsg =
  /** Records from prevSeq + 1 on, if the receiver's log ends at prevSeq written by prevGeneration's master. */
  | ({
      type: 'ha-append';
      sequencer: Sequencer;
      from: string;
      prevSeq: number;
      prevGeneration: number;
      records: MetadataRecord[];
      terms: Term[];
      /** The master's newest record, for the replica's lag. */
      masterLastSeq: number;
    } & Asks<AppendAck>)
  /** One piece of the master's checkpoint (covering records up to `seq`); the last one replaces the receiver's log. */
  | ({ type: 'ha-install'; sequencer: Sequencer; from: string; seq: number; index: number; count: number; piece: CheckpointPiece; terms: Term[] } & Asks<true>)
  | ({ type: 'shadow-read'; read: MetadataRead } & Asks<ShadowAnswer<MetadataReadResults[MetadataRead['type']]>>)
  | ({ type: 'ha-status' } & Asks<HaStatus>)
  // ---- the replica's own ----
  | { type: 'ha-elected'; session: number; won: Won }
  | { type: 'ha-campaign-failed'; session: number; error: string }
  | { type: 'ha-events'; session: number; events: ClientEvent[] }
  | { type: 'ha-poll' }
  | { type: 'ha-ship' }
  | { type: 'ha-synced'; seq: number }
  /** Results of the master's requests, tagged with its generation (a result from an earlier term is dropped). */
  /** An append's answer, tagged with the peer's stream it was sent in and when; `down`: the replica's node is known to be down. */
  | { type: 'ha-acked'; generation: number; peer: string; stream: number; sentAtMs: number; ack: AppendAck | null; error?: { message: string; down: boolean } }
  | { type: 'ha-installed'; generation: number; peer: string; seq: number; ok: boolean }
  | { type: 'ha-in-sync-written'; generation: number; inSync: string[]; ok: boolean; error?: string };

/** What the master writes into the lock file: where it is, its generation, and which replicas hold every record it acknowledged. */
export interface MasterFile {
  master: { node: string; id: string };
  name: string;
  generation: number;
  inSync: string[];
}

export function encodeMasterFile(f: MasterFile): Uint8Array {
  return encode(f);
}

/** The lock file's contents, or undefined when empty or not a master's. */
export function decodeMasterFile(bytes: Uint8Array): MasterFile | undefined {
  if (bytes.length === 0) return undefined;
  try {
    const f = decode(bytes) as Partial<MasterFile> | null;
    if (!f || typeof f.name !== 'string' || !Array.isArray(f.inSync) || typeof f.master?.node !== 'string' || typeof f.master.id !== 'string') return undefined;
    return f as MasterFile;
  } catch {
    return undefined;
  }
}

export const masterRefOf = (f: MasterFile): ActorRef<MasterMsg> => new ActorRef<MasterMsg>(f.master.node, f.master.id);

/** The error every master-only request gets at a replica that is not the master: nothing was done, ask the master. */
export class NotMasterError extends Error {
  override readonly name = 'NotMasterError';
}

const HA_TYPES: { [T in HaMsg['type']]: true } = {
  'ha-append': true,
  'ha-install': true,
  'shadow-read': true,
  'ha-status': true,
  'ha-elected': true,
  'ha-campaign-failed': true,
  'ha-events': true,
  'ha-poll': true,
  'ha-ship': true,
  'ha-synced': true,
  'ha-acked': true,
  'ha-installed': true,
  'ha-in-sync-written': true,
};

export function isHaMsg(msg: MasterMsg): msg is HaMsg {
  return Object.hasOwn(HA_TYPES, msg.type);
}
