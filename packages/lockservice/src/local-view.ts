/**
 * A session's cache as its own thread may read it without a message: the synchronous path of a
 * cached read. A client-session actor shares its view while it runs; an LsClient in the same
 * thread finds it by the actor's ref (actors on other threads are not found, and are asked).
 * A view answers only what the actor itself would answer from its cache at that moment.
 */
import type { ActorRef } from '@actorfs/actors';
import type { HandleId, Stat } from './protocol.ts';

export interface CachedFile {
  contents: Uint8Array;
  stat: Stat;
}

export interface LocalView {
  /** The cached contents and stat of the handle's file, or undefined for a miss (always, once withdrawn). */
  read(handle: HandleId): CachedFile | undefined;
}

/** One per live client-session actor of this thread: bounded by the actors themselves. */
const views = new Map<string, LocalView>();

const keyOf = (ref: ActorRef<never>): string => `${ref.node}/${ref.id}`;

export function shareView(ref: ActorRef<never>, view: LocalView): void {
  views.set(keyOf(ref), view);
}

/** Withdraws the view, unless a newer actor of the same name shares its own by now. */
export function withdrawView(ref: ActorRef<never>, view: LocalView): void {
  if (views.get(keyOf(ref)) === view) views.delete(keyOf(ref));
}

export function localView(ref: ActorRef<never>): LocalView | undefined {
  return views.get(keyOf(ref));
}
