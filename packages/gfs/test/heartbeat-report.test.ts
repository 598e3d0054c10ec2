import { describe, expect, it } from '@jest/globals';
import { ActorRef } from '@actorfs/actors';
import { heartbeatReport } from '../src/chunkserver/heartbeat-report.ts';

describe('heartbeat report (a chunkserver tells the master what it holds)', () => {
  const identity = { server: 'cs1', ref: new ActorRef('n1', 'cs1'), rack: 'r1', capacityBytes: 1000 };

  it('names every chunk with its version, the bytes used in all, and the chunks being cloned', () => {
    const report = heartbeatReport(
      identity,
      [
        { handle: 3, version: 2, lengthBytes: 100 },
        { handle: 7, version: 5, lengthBytes: 40 },
      ],
      new Set([9]),
    );
    expect(report).toEqual({
      type: 'heartbeat',
      server: 'cs1',
      ref: identity.ref,
      rack: 'r1',
      usedBytes: 140,
      capacityBytes: 1000,
      chunks: [
        { handle: 3, version: 2 },
        { handle: 7, version: 5 },
      ],
      cloning: [9],
    });
  });

  it('an empty server reports no chunks and no use', () => {
    expect(heartbeatReport(identity, [], [])).toMatchObject({ usedBytes: 0, chunks: [], cloning: [] });
  });
});
