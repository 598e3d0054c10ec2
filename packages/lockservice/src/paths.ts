import type { LsLimits } from './config.ts';

/** The cell's root directory: `/ls/<cell>`. */
export const cellRoot = (cell: string): string => `/ls/${cell}`;
/** The directory whose files are the cell's ACLs (lists of principal names, one a line). */
export const aclDirectory = (cell: string): string => `${cellRoot(cell)}/acl`;

export const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/'));
export const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
/** A JS string is valid UTF-8 once encoded unless it holds a lone surrogate. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with a name used as one path component (or an ACL file name), or undefined. */
export function componentProblem(name: unknown, limits: LsLimits, what = 'a path component'): string | undefined {
  if (typeof name !== 'string') return `${what} must be a string`;
  if (name.length === 0) return `${what} must not be empty`;
  if (name === '.' || name === '..') return `${what} must not be '.' or '..'`;
  if (name.includes('/')) return `${what} must not contain '/'`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${what} must not contain control characters`;
  if (LONE_SURROGATE.test(name)) return `${what} must be valid UTF-8 (it holds a lone surrogate)`;
  const bytes = utf8Bytes(name);
  if (bytes > limits.maxComponentBytes) return `${what} is ${bytes} bytes, over the limit of ${limits.maxComponentBytes}`;
  return undefined;
}

/** What is wrong with a path in the cell's namespace, or undefined. The root `/ls/<cell>` is a valid path. */
export function pathProblem(path: unknown, cell: string, limits: LsLimits): string | undefined {
  if (typeof path !== 'string') return 'path must be a string';
  if (LONE_SURROGATE.test(path)) return `path must be valid UTF-8 (it holds a lone surrogate)`;
  const bytes = utf8Bytes(path);
  if (bytes > limits.maxPathBytes) return `path is ${bytes} bytes, over the limit of ${limits.maxPathBytes}`;
  const root = cellRoot(cell);
  if (path !== root && !path.startsWith(`${root}/`)) return `path ${JSON.stringify(path)} is not in this cell's namespace ${root}/…`;
  if (path === root) return undefined;
  for (const component of path.slice(root.length + 1).split('/')) {
    const problem = componentProblem(component, limits);
    if (problem) return `path ${JSON.stringify(path)}: ${problem}`;
  }
  return undefined;
}

/** What is wrong with a principal (user) name, or undefined. ACL files list them one a line. */
export function principalProblem(name: unknown, limits: LsLimits): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'principal must be a non-empty string';
  if (/[\u0000-\u001f\u007f]/.test(name) || name.trim() !== name) return 'principal must not contain control characters or surrounding spaces';
  if (LONE_SURROGATE.test(name)) return 'principal must be valid UTF-8 (it holds a lone surrogate)';
  const bytes = utf8Bytes(name);
  if (bytes > limits.maxPrincipalBytes) return `principal is ${bytes} bytes, over the limit of ${limits.maxPrincipalBytes}`;
  return undefined;
}
