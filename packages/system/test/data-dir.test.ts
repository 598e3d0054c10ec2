import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDataDir, DATA_FORMAT, DataDirError, MARKER_FILE } from '../src/data-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'actorfs-datadir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the data folder and its version marker', () => {
  it('a new folder gets the marker, and is claimed again on the next start', () => {
    const dir = join(root, 'new');
    claimDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, MARKER_FILE), 'utf8'))).toMatchObject({ format: DATA_FORMAT });
    expect(() => claimDataDir(dir)).not.toThrow();
  });

  it('a folder of another format is refused, naming both formats', () => {
    const dir = join(root, 'old');
    claimDataDir(dir);
    writeFileSync(join(dir, MARKER_FILE), JSON.stringify({ format: 0 }));
    expect(() => claimDataDir(dir)).toThrow(new DataDirError(`data folder ${dir} is of format 0, this actorfs reads format ${DATA_FORMAT}. Start with another folder (--data DIR), or use the actorfs version that wrote it.`));
  });

  it('a folder of format 1 (one GFS master, before replication) is refused, saying why', () => {
    const dir = join(root, 'format1');
    claimDataDir(dir);
    writeFileSync(join(dir, MARKER_FILE), JSON.stringify({ format: 1 }));
    expect(() => claimDataDir(dir)).toThrow(/is of format 1, this actorfs reads format 2 \(format 1 ran one GFS master on node gfs-master; format 2 replicates it/);
  });

  it('a folder with files but no marker is not taken over', () => {
    const dir = join(root, 'foreign');
    claimDataDir(join(dir, 'sub'));
    rmSync(join(dir, 'sub', MARKER_FILE));
    expect(() => claimDataDir(join(dir, 'sub'))).not.toThrow(); // empty: taken
    expect(() => claimDataDir(dir)).toThrow(/holds files \(sub\) but no actorfs-data.json/);
  });
});
