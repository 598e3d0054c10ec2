/**
 * Path rules. A path is absolute, '/'-separated, with non-empty components that are not '.' or
 * '..', hold no NUL, fit maxNameBytes of UTF-8 each and maxPathBytes in all, and are valid
 * Unicode (no lone surrogates, which have no UTF-8 form; bytes must decode as UTF-8). Names that
 * start with HIDDEN_PREFIX are the master's own (deleted files) and refused from clients.
 */
export interface PathLimits {
  maxNameBytes: number;
  maxPathBytes: number;
}

export const ROOT = '/';
/** Deleted files are renamed to `${HIDDEN_PREFIX}${deletedAtMs}~${name}` in their directory. */
export const HIDDEN_PREFIX = '.deleted~';

export class PathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`bad path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'PathError';
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Checks a client's path and returns it with its components ([] for the root). */
export function validatePath(input: unknown, limits: PathLimits): { path: string; components: string[] } {
  const path = asString(input);
  if (path.length === 0) throw new PathError(path, 'empty');
  if (!path.startsWith('/')) throw new PathError(path, 'not absolute (must start with "/")');
  if (LONE_SURROGATE.test(path)) throw new PathError(path, 'not valid Unicode (a lone surrogate has no UTF-8 form)');
  const bytes = utf8.encode(path).length;
  if (bytes > limits.maxPathBytes) throw new PathError(path, `${bytes} bytes, over the limit of ${limits.maxPathBytes}`);
  if (path === ROOT) return { path, components: [] };
  const components = path.slice(1).split('/');
  components.forEach((name, i) => {
    if (name === '') throw new PathError(path, i === components.length - 1 ? 'ends with "/"' : `empty component at position ${i + 1}`);
    if (name === '.' || name === '..') throw new PathError(path, `component "${name}" is not allowed (paths are absolute and normalized)`);
    if (name.includes('\u0000')) throw new PathError(path, `component ${i + 1} holds a NUL character`);
    const nameBytes = utf8.encode(name).length;
    if (nameBytes > limits.maxNameBytes) {
      throw new PathError(path, `component ${i + 1} is ${nameBytes} bytes, over the limit of ${limits.maxNameBytes}`);
    }
    if (name.startsWith(HIDDEN_PREFIX)) throw new PathError(path, `names starting with "${HIDDEN_PREFIX}" are reserved for deleted files`);
  });
  return { path, components };
}

function asString(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) {
    try {
      return strictUtf8.decode(input);
    } catch {
      throw new PathError(`<${input.length} bytes>`, 'not valid UTF-8');
    }
  }
  throw new PathError(String(input), `not a string (a ${input === null ? 'null' : typeof input})`);
}

/** '/a/b/c' -> '/a/b'; the root's parent is undefined. */
export function parentOf(path: string): string | undefined {
  if (path === ROOT) return undefined;
  const i = path.lastIndexOf('/');
  return i === 0 ? ROOT : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/** Every ancestor of a path, the root first ('/a/b/c' -> ['/', '/a', '/a/b']). */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); p !== undefined; p = parentOf(p)) out.push(p);
  return out.reverse();
}

export function depthOf(path: string): number {
  if (path === ROOT) return 0;
  let d = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) d++;
  return d;
}

/** True when `path` is `root` or lies below it. */
export function isWithin(path: string, root: string): boolean {
  return root === ROOT || path === root || path.startsWith(`${root}/`);
}

export function hiddenName(name: string, deletedAtMs: number): string {
  return `${HIDDEN_PREFIX}${deletedAtMs}~${name}`;
}

/** The original name and deletion time of a hidden name, or undefined for an ordinary one. */
export function parseHiddenName(name: string): { name: string; deletedAtMs: number } | undefined {
  if (!name.startsWith(HIDDEN_PREFIX)) return undefined;
  const rest = name.slice(HIDDEN_PREFIX.length);
  const sep = rest.indexOf('~');
  if (sep <= 0) return undefined;
  const deletedAtMs = Number(rest.slice(0, sep));
  return Number.isSafeInteger(deletedAtMs) ? { name: rest.slice(sep + 1), deletedAtMs } : undefined;
}
