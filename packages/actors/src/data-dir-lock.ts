import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Data directories held by systems of this process (a lock file alone cannot tell two of ours apart). */
const heldHere = new Set<string>();

export const LOCK_FILE = 'actors.lock';

/**
 * Takes a data directory for one system: two systems writing one directory would each think
 * their commits are the only ones, and acknowledged writes would be lost. Refused if a system of
 * this process holds it, or if its lock file names a live process other than this one. A lock
 * file left by a process that died is taken over. Returns the release function.
 */
export function lockDataDir(dir: string): () => void {
  if (heldHere.has(dir)) throw new Error(`data directory ${dir} is already in use by another ActorSystem of this process`);
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (holder !== process.pid && processAlive(holder)) {
      throw new Error(`data directory ${dir} is already in use by process ${holder} (its lock file ${file}); one directory serves one system at a time`);
    }
    rmSync(file, { force: true }); // left by a process that is gone (or by an earlier system of ours that did not shut down)
  }
  heldHere.add(dir);
  return () => {
    heldHere.delete(dir);
    rmSync(file, { force: true });
  };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
