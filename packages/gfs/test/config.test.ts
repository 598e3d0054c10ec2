import { describe, expect, it } from '@jest/globals';
import { ConfigError, gfsConfig } from '../src/config.ts';

describe('configuration', () => {
  it("defaults are the paper's: 64 MiB chunks, 64 KiB blocks, 3 replicas, 60 s leases, 3-day GC delay, records up to a quarter chunk", () => {
    expect(gfsConfig()).toMatchObject({
      chunkSizeBytes: 64 * 1024 * 1024,
      blockSizeBytes: 64 * 1024,
      replicas: 3,
      leaseMs: 60_000,
      gcDelayMs: 3 * 24 * 60 * 60 * 1000,
      maxRecordBytes: 16 * 1024 * 1024,
    });
  });

  it('small settings for tests derive the rest (record limit, block size, server timeout)', () => {
    const c = gfsConfig({ chunkSizeBytes: 16 * 1024, heartbeatIntervalMs: 100 });
    expect(c).toMatchObject({ blockSizeBytes: 16 * 1024, maxRecordBytes: 4096, serverTimeoutMs: 300 });
  });

  it('a bad configuration is refused with one error naming every problem', () => {
    let err: unknown;
    try {
      gfsConfig({ replicas: 0, leaseMs: -1, gcDelayMs: 1.5, rebalanceThreshold: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'replicas must be a positive integer (got 0)',
      'leaseMs must be a positive integer (got -1)',
      'gcDelayMs must be an integer >= 0 (got 1.5)',
      'rebalanceThreshold must be in [0, 1) (got 2)',
    ]);
    expect(() => gfsConfig({ chunkSizeBytes: 100_000 })).toThrow(/blockSizeBytes \(65536\) must divide chunkSizeBytes \(100000\)/);
    expect(() => gfsConfig({ chunkSizeBytes: 65536, maxRecordBytes: 20_000 })).toThrow(/at most a quarter of chunkSizeBytes/);
    expect(() => gfsConfig({ heartbeatIntervalMs: 100, serverTimeoutMs: 100 })).toThrow(/serverTimeoutMs \(100\) must exceed heartbeatIntervalMs/);
  });
});
