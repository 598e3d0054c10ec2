import { describe, expect, it } from '@jest/globals';
import { PushBuffer, PushBufferError } from '../src/chunkserver/push-buffer.ts';

const piece = (n: number, v = 1): Uint8Array => new Uint8Array(n).fill(v);

describe('push buffer (pushed data waiting for its write)', () => {
  it('holds pieces until complete, then hands the data over once', () => {
    const b = new PushBuffer({ pushBufferBytes: 100, pushTimeoutMs: 1000 });
    b.begin('d', 0);
    b.add('d', piece(10, 1), 0);
    b.add('d', piece(5, 2), 0);
    expect(b.take('d')).toBeUndefined(); // not complete yet
    b.complete('d', 0);
    expect(b.lengthOf('d')).toBe(15);
    expect([...Buffer.concat(b.take('d')!)]).toEqual([...piece(10, 1), ...piece(5, 2)]);
    expect(b.take('d')).toBeUndefined();
    expect(b.bytes).toBe(0);
  });

  it('at its byte bound drops the least recently used entries, and says which', () => {
    const b = new PushBuffer({ pushBufferBytes: 30, pushTimeoutMs: 1000 });
    for (const id of ['a', 'b', 'c']) {
      b.begin(id, 0);
      b.add(id, piece(10), 0);
      b.complete(id, 0);
    }
    b.complete('a', 1); // a used again: b is now the oldest
    b.begin('d', 2);
    expect(b.add('d', piece(15), 2)).toEqual(['b', 'c']);
    expect(b.has('a') && b.has('d') && !b.has('b') && !b.has('c')).toBe(true);
    expect(b.bytes).toBe(25);
  });

  it('refuses a push larger than the whole buffer, and pieces for an unknown push', () => {
    const b = new PushBuffer({ pushBufferBytes: 30, pushTimeoutMs: 1000 });
    b.begin('big', 0);
    b.add('big', piece(20), 0);
    expect(() => b.add('big', piece(20), 0)).toThrow(PushBufferError);
    expect(b.has('big')).toBe(false);
    expect(() => b.add('nobody', piece(1), 0)).toThrow(/no push of nobody is open here/);
  });

  it('drops entries unused for the timeout', () => {
    const b = new PushBuffer({ pushBufferBytes: 100, pushTimeoutMs: 1000 });
    b.begin('old', 0);
    b.add('old', piece(10), 0);
    b.begin('new', 500);
    expect(b.expire(999)).toEqual([]);
    expect(b.expire(1000)).toEqual(['old']);
    expect(b.has('new')).toBe(true);
    expect(b.bytes).toBe(0);
  });
});
