import { describe, expect, it } from '@jest/globals';
import { ReportOrder, stampProblem } from '../src/master/report-order.ts';

describe('ReportOrder: which chunkserver reports are older than one the master applied', () => {
  it('a report stamped before the newest applied from its server is outdated; a later one, or one from another server, is not', () => {
    const order = new ReportOrder();
    order.applied('cs1', { incarnation: 5, seq: 7 });
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 6 })).toBe(true);
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 7 })).toBe(false);
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 8 })).toBe(false);
    expect(order.isOutdated('cs2', { incarnation: 5, seq: 0 })).toBe(false);
  });

  it('an older message applied late does not move the mark back', () => {
    const order = new ReportOrder();
    order.applied('cs1', { incarnation: 5, seq: 7 });
    order.applied('cs1', { incarnation: 5, seq: 3 });
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 6 })).toBe(true);
  });

  it('a restarted server (a greater incarnation) starts its sequence again; a late report of its previous incarnation is outdated', () => {
    const order = new ReportOrder();
    order.applied('cs1', { incarnation: 5, seq: 900 });
    expect(order.isOutdated('cs1', { incarnation: 9, seq: 0 })).toBe(false);
    order.applied('cs1', { incarnation: 9, seq: 0 });
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 901 })).toBe(true);
  });

  it('unstamped reports (older senders, hand-made ones) are never outdated and move nothing', () => {
    const order = new ReportOrder();
    order.applied('cs1', undefined);
    expect(order.isOutdated('cs1', undefined)).toBe(false);
    order.applied('cs1', { incarnation: 1, seq: 1 });
    expect(order.isOutdated('cs1', undefined)).toBe(false);
    expect(order.isOutdated('cs1', { incarnation: 1, seq: 0 })).toBe(true);
  });

  it("a dead server's stamp is kept (its late reports stay outdated) until it has been dead for the keep time; a server reporting again meanwhile keeps its stamp", () => {
    const order = new ReportOrder();
    order.applied('cs1', { incarnation: 5, seq: 7 });
    order.applied('cs2', { incarnation: 3, seq: 2 });
    order.dead('cs1', 1000);
    order.dead('cs2', 1000);
    order.dead('cs9', 1000); // never reported: nothing to keep
    order.forgetDead(1999, 1000);
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 6 })).toBe(true);
    // cs2 is heard from again (taken back) before the keep time is up: its stamp stays
    order.applied('cs2', { incarnation: 3, seq: 3 });
    order.forgetDead(2000, 1000);
    expect(order.isOutdated('cs1', { incarnation: 5, seq: 6 })).toBe(false);
    expect(order.isOutdated('cs2', { incarnation: 3, seq: 2 })).toBe(true);
    order.forgetDead(10_000, 1000);
    expect(order.isOutdated('cs2', { incarnation: 3, seq: 2 })).toBe(true);
  });

  it('a malformed stamp is named', () => {
    expect(stampProblem(undefined)).toBeUndefined();
    expect(stampProblem({ incarnation: 0, seq: 0 })).toBeUndefined();
    expect(stampProblem({ incarnation: -1, seq: 0 })).toMatch(/bad stamp .*integers >= 0/);
    expect(stampProblem({ incarnation: 1, seq: '2' })).toMatch(/bad stamp/);
    expect(stampProblem(null)).toMatch(/bad stamp null/);
  });
});
