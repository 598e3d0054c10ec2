/**
 * ACLs as in Chubby: a node names, per permission, a file in the cell's ACL directory, and that
 * file lists the principals who hold the permission, one a line. A null name lets everyone; a
 * name whose file is missing lets no one.
 */
import type { AclPermission } from './protocol.ts';
import type { DbState, LsNode } from './state.ts';

/** Parsed ACL files, keyed by their contents (a write replaces the array, so an entry never goes stale). */
const parsed = new WeakMap<Uint8Array, ReadonlySet<string>>();
const decoder = new TextDecoder();

function principalsIn(contents: Uint8Array): ReadonlySet<string> {
  let names = parsed.get(contents);
  if (!names) {
    names = new Set(decoder.decode(contents).split('\n').map((line) => line.trim()).filter((line) => line.length > 0));
    parsed.set(contents, names);
  }
  return names;
}

/** Why `principal` may not use `permission` on `node`, or undefined if it may. */
export function denial(state: DbState, principal: string, node: LsNode, permission: AclPermission): string | undefined {
  const name = node.acl[permission];
  if (name === null) return undefined;
  const aclPath = `${state.aclDir}/${name}`;
  const file = state.nodes.get(aclPath);
  if (!file || file.kind !== 'file') return `${permission} permission denied on ${node.path}: its ${permission} ACL file ${aclPath} does not exist`;
  if (!principalsIn(file.contents).has(principal)) {
    return `${permission} permission denied on ${node.path}: ${principal} is not listed in its ${permission} ACL file ${aclPath}`;
  }
  return undefined;
}
