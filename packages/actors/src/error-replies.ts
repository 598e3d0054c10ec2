import { DeliveryError, RemoteActorError, type DeadLetterReason } from './errors.ts';

/** An error reply as plain data, to cross the wire (a DeliveryError keeps its reason). */
export function errorBody(value: unknown): { name: string; message: string; reason?: string } {
  if (value instanceof DeliveryError) return { name: value.name, message: value.message, reason: value.reason };
  if (value instanceof Error) return { name: value.name, message: value.message };
  return { name: 'Error', message: String(value) };
}

/** The error an asker sees for an error reply from `target`. */
export function errorFrom(target: string, body: unknown): Error {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { name?: string; message?: string; reason?: string };
  if (b.name === 'DeliveryError' && b.reason) return new DeliveryError(target, b.reason as DeadLetterReason);
  return new RemoteActorError(target, b.message ?? String(body), b.name ?? 'Error');
}
