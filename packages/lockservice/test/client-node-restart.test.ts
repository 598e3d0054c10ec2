import { describe, expect, test } from '@jest/globals';
import { inSimCell, simClient, str, text } from './cell-harness.ts';

describe('a client node started again', () => {
  test("its new session's requests are served at once, not dropped as copies of its earlier start's", async () => {
    await inSimCell(
      3,
      async ({ sim, plan }, a) => {
        const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
        for (let i = 0; i < 40; i++) await a.setContents(handle, text(`v${i}`));
        sim.crash('c0');
        sim.restart('c0');
        const again = simClient(sim, plan, 'c0', 'a-again', 'drive');
        // The master drops a request whose reply handle it saw before. Each request here must be
        // answered without the client's retry (500 ms): a dropped one would cost at least that.
        // (Another file: a write of /ls/test/f waits out the crashed session's cached copy, by design.)
        const t0 = sim.now();
        const h = (await again.open('/ls/test/g', { create: 'ifAbsent' })).handle;
        for (let i = 0; i < 40; i++) await again.setContents(h, text(`w${i}`));
        expect(str((await again.getContentsAndStat(h)).contents)).toBe('w39');
        expect(sim.now() - t0).toBeLessThan(500);
      },
      { mode: 'drive' },
    );
  });
});
