import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The layout of the data folder this code reads and writes. Raise it when a change makes older
 * folders unreadable; a folder of another version is refused, never half-read.
 */
export const DATA_FORMAT = 2;
/** Why each older format cannot be read, for the refusal. */
const WHY_NOT: Record<number, string> = {
  1: 'format 1 ran one GFS master on node gfs-master; format 2 replicates it (gfs.masters, gfs.shadows), and a single master\'s log is not taken over',
};
export const MARKER_FILE = 'actorfs-data.json';

export class DataDirError extends Error {
  override name = 'DataDirError';
}

interface Marker {
  format: number;
  createdAt: string;
}

/**
 * Makes sure `dir` is ours and of this format: a new or empty folder gets the marker; a folder
 * with the marker of another format, or with files but no marker, is refused with what to do.
 */
export function claimDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const markerPath = join(dir, MARKER_FILE);
  if (!existsSync(markerPath)) {
    const present = readdirSync(dir);
    if (present.length > 0) {
      throw new DataDirError(`data folder ${dir} holds files (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}) but no ${MARKER_FILE}: it is not an actorfs data folder of format ${DATA_FORMAT}. Choose another folder (--data DIR) or empty this one.`);
    }
    const marker: Marker = { format: DATA_FORMAT, createdAt: new Date().toISOString() };
    writeFileSync(markerPath, `${JSON.stringify(marker)}\n`);
    return;
  }
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(markerPath, 'utf8')) as Partial<Marker>).format;
  } catch (err) {
    throw new DataDirError(`data folder ${dir}: ${MARKER_FILE} is unreadable (${(err as Error).message}); it was not written by actorfs, or was damaged`);
  }
  if (format !== DATA_FORMAT) {
    const why = typeof format === 'number' ? WHY_NOT[format] : undefined;
    throw new DataDirError(`data folder ${dir} is of format ${JSON.stringify(format)}, this actorfs reads format ${DATA_FORMAT}${why ? ` (${why})` : ''}. Start with another folder (--data DIR), or use the actorfs version that wrote it.`);
  }
}
