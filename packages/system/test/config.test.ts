import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ConfigFileError, DEFAULT_CONFIG, loadConfigFile, parseConfig } from '../src/config.ts';

const problemsOf = (raw: unknown): string[] => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigFileError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
};

describe('the config file', () => {
  it('needs no key: an empty object is the defaults (5 lock replicas, a master, 3 chunkservers on two racks)', () => {
    const c = parseConfig({});
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.lockCell.nodes).toHaveLength(5);
    expect(new Set(c.gfs.chunkservers.map((cs) => cs.rack))).toEqual(new Set(['rack-a', 'rack-b']));
  });

  it('the example file in the package is a valid config, the same as the defaults', () => {
    expect(loadConfigFile(join(import.meta.dirname, '..', 'config.example.json'))).toEqual(DEFAULT_CONFIG);
  });

  it('takes nodes, racks, sizes and timings, keeping the defaults of what it does not name', () => {
    const c = parseConfig({
      http: { port: 8080 },
      lockCell: { nodes: ['a1', 'a2', 'a3'], timing: { leaseMs: 5000 } },
      gfs: { chunkservers: [{ name: 'x1', rack: 'r1', capacityBytes: 1 << 30 }], settings: { chunkSizeBytes: 1 << 20, replicas: 1 } },
    });
    expect(c.http.port).toBe(8080);
    expect(c.lockCell.nodes).toEqual(['a1', 'a2', 'a3']);
    expect(c.lockCell.timing).toEqual({ leaseMs: 5000, gracePeriodMs: 15000 });
    expect(c.lockCell.paxos).toEqual(DEFAULT_CONFIG.lockCell.paxos);
    expect(c.gfs.settings).toMatchObject({ chunkSizeBytes: 1 << 20, replicas: 1, heartbeatIntervalMs: 1000 });
  });

  it('runs a GFS master with a synchronous backup and a shadow by default; gfs.masters and gfs.shadows name their nodes', () => {
    expect(DEFAULT_CONFIG.gfs).toMatchObject({ masters: ['gfs-master1', 'gfs-master2'], shadows: ['gfs-shadow'] });
    expect(parseConfig({ gfs: { masters: ['m1', 'm2', 'm3'], shadows: [] } }).gfs).toMatchObject({ masters: ['m1', 'm2', 'm3'], shadows: [] });
    expect(problemsOf({ gfs: { masters: [], shadows: ['a', 'b', 'c'] } })).toEqual(['gfs.masters must have 1 to 3 items, got 0', 'gfs.shadows must have 0 to 2 items, got 3']);
    expect(problemsOf({ gfs: { masters: ['Master'] } })).toEqual([expect.stringMatching(/^gfs.masters\[0\] must be a node name/)]);
  });

  it('an older config naming one gfs.master is told what to write instead', () => {
    expect(problemsOf({ gfs: { master: 'gfs-master' } })).toEqual([expect.stringMatching(/^gfs.master is no longer read: the master is replicated since data format 2; name its nodes in gfs.masters/)]);
  });

  it('names every unknown key and wrong type, with its path, at once', () => {
    expect(problemsOf({ prot: 1, http: { port: 'eighty' }, gfs: { chunkservers: [{ name: 'cs1', rack: 7, capacityBytes: 1, disk: 'ssd' }], settings: { chunkSize: 1, replicas: '3' } } })).toEqual([
      'unknown key prot (known here: dataDir, http, lockCell, gfs)',
      'http.port must be an integer from 0 to 65535, got "eighty"',
      'gfs.chunkservers[0].rack must be a string, got 7',
      expect.stringMatching(/^unknown key gfs.chunkservers\[0\].disk \(known here: name, rack, capacityBytes\)$/),
      expect.stringMatching(/^unknown key gfs.settings.chunkSize \(known here: chunkSizeBytes, /),
      'gfs.settings.replicas must be a number, got "3"',
    ]);
    expect(problemsOf([])).toEqual(['the config must be an object, got a list']);
  });

  it('refuses what cannot work: a node used twice, 4 lock replicas, GFS and Paxos settings their packages refuse', () => {
    expect(problemsOf({ gfs: { shadows: ['ls1'] } })).toEqual([expect.stringMatching(/ls1 used twice/)]);
    expect(problemsOf({ gfs: { masters: ['m1', 'm1'] } })).toEqual([expect.stringMatching(/m1 used twice/)]);
    expect(problemsOf({ lockCell: { nodes: ['a', 'b', 'c', 'd'] } })).toEqual([expect.stringMatching(/3 or 5 replicas, got 4/)]);
    expect(problemsOf({ gfs: { settings: { blockSizeBytes: 3000 } } })).toEqual([expect.stringMatching(/blockSizeBytes \(3000\) must divide chunkSizeBytes/)]);
    expect(problemsOf({ lockCell: { paxos: { leaseMs: 100, heartbeatMs: 500 } } })).toEqual([expect.stringMatching(/^Paxos timing cannot work/)]);
  });
});
