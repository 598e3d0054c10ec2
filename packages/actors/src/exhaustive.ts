/**
 * Ends a switch over a union: `default: return unreachable(msg)` compiles only when every member
 * has its case, and at run time (data from another node) it throws naming what arrived.
 */
export function unreachable(value: never, what = 'message'): never {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  throw new Error(`unexpected ${what}${typeof type === 'string' ? ` of type ${type}` : `: ${String(value)}`}`);
}
