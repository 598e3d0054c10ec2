import type { Random } from '../random.ts';
import type { SimEvent } from './event-queue.ts';

/** Faults on one directed link, or the default for all of them. All probabilities are 0..1. */
export interface LinkFaults {
  /** Probability a message is lost. */
  drop?: number;
  /** Probability a message is delivered twice. */
  duplicate?: number;
  /** Delivery delay range in virtual ms. Default [1, 1]. */
  delayMs?: readonly [number, number];
  /** Let a later message overtake an earlier one on the same link (else FIFO, as on real ports). */
  reorder?: boolean;
}

export type ResolvedFaults = Required<LinkFaults>;

export const noFaults: ResolvedFaults = { drop: 0, duplicate: 0, delayMs: [1, 1], reorder: false };

export function resolveFaults(base: ResolvedFaults, f: LinkFaults | undefined): ResolvedFaults {
  return f ? { ...base, ...f } : base;
}

export function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

/** One directed link: its faults and whether it is cut, read again whenever the network's settings change. */
export interface Link {
  readonly from: string;
  readonly to: string;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** The settings version `faults` and `blocked` were read at. */
  version: number;
  faults: ResolvedFaults;
  blocked: boolean;
  /** When the last message on the link arrives (a FIFO link delivers none before it). */
  lastArrival: number;
}

// Read once: under a vm context (jest's) every lookup of a global such as Math goes through the context's interceptors.
const { max } = Math;

/**
 * The simulated network's directed links: the faults of each (its own or the default) and which
 * are cut. A link reads the settings again only when they changed since it last did.
 */
export class SimLinks {
  private base: ResolvedFaults;
  private readonly own = new Map<string, LinkFaults>();
  private readonly cutLinks = new Set<string>();
  /** Links by sender, then receiver; they outlive crashes (a FIFO link stays FIFO). */
  private readonly links = new Map<string, Map<string, Link>>();
  /** Bumped by every change of faults or partitions. */
  private version = 0;
  readonly dropped = { partition: 0, random: 0, nodeDown: 0 };
  readonly duplicated = { count: 0 };
  /** When the copies `send` counted arrive. */
  readonly arrivals = [0, 0];

  constructor(
    base: LinkFaults | undefined,
    /** The node whose links are reliable unless set otherwise. */
    private readonly driver: string,
    private readonly indexOf: (node: string) => number | undefined,
  ) {
    this.base = resolveFaults(noFaults, base);
  }

  setDefault(faults: LinkFaults): void {
    this.base = resolveFaults(noFaults, faults);
    this.version++;
  }

  setLink(from: string, to: string, faults: LinkFaults, oneWay: boolean): void {
    this.own.set(linkKey(from, to), faults);
    if (!oneWay) this.own.set(linkKey(to, from), faults);
    this.version++;
  }

  cut(a: string[], b: string[], oneWay: boolean): void {
    for (const x of a)
      for (const y of b) {
        this.cutLinks.add(linkKey(x, y));
        if (!oneWay) this.cutLinks.add(linkKey(y, x));
      }
    this.version++;
  }

  heal(): void {
    this.cutLinks.clear();
    this.version++;
  }

  /** The links out of a node (made on first use). */
  from(node: string): Map<string, Link> {
    let out = this.links.get(node);
    if (!out) this.links.set(node, (out = new Map()));
    return out;
  }

  /** The link from -> to with its current settings, or undefined when `to` is no node. */
  link(out: Map<string, Link>, from: string, to: string): Link | undefined {
    let link = out.get(to);
    if (link === undefined) {
      const toIndex = this.indexOf(to);
      if (toIndex === undefined) return undefined;
      link = { from, to, fromIndex: this.indexOf(from)!, toIndex, version: -1, faults: noFaults, blocked: false, lastArrival: 0 };
      out.set(to, link);
    }
    return this.current(link);
  }

  current(link: Link): Link {
    if (link.version !== this.version) {
      link.version = this.version;
      link.faults = this.faultsFor(link.from, link.to);
      link.blocked = this.cutLinks.has(linkKey(link.from, link.to));
    }
    return link;
  }

  /**
   * A message goes out on `link` at `now`: how many copies arrive (none if the link is cut or
   * drops it, two if it duplicates it), and when each does in `arrivals` (in the order sent
   * unless the link reorders).
   */
  send(link: Link, now: number, rng: Random): number {
    if (link.blocked) {
      this.dropped.partition++;
      return 0;
    }
    const f = link.faults;
    if (f.drop > 0 && rng() < f.drop) {
      this.dropped.random++;
      return 0;
    }
    const copies = f.duplicate > 0 && rng() < f.duplicate ? 2 : 1;
    if (copies === 2) this.duplicated.count++;
    const [lo, hi] = f.delayMs;
    for (let c = 0; c < copies; c++) {
      let at = now + (lo === hi ? lo : lo + rng() * (hi - lo));
      if (!f.reorder) at = max(at, link.lastArrival);
      link.lastArrival = at;
      this.arrivals[c] = at;
    }
    return copies;
  }

  private faultsFor(from: string, to: string): ResolvedFaults {
    const own = this.own.get(linkKey(from, to));
    if (own) return resolveFaults(this.base, own);
    return from === this.driver || to === this.driver ? noFaults : this.base;
  }
}

/** A message in flight: the event and its payload in one object. */
export class Delivery implements SimEvent {
  seq = 0;
  cancelled = false;
  constructor(
    readonly time: number,
    private readonly deliver: (link: Link, id: string, body: unknown, corr: number) => void,
    private readonly link: Link,
    private readonly id: string,
    private readonly body: unknown,
    private readonly corr: number,
  ) {}

  run(): void {
    this.deliver(this.link, this.id, this.body, this.corr);
  }
}
