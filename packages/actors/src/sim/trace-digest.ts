import { hashString } from '../random.ts';

/**
 * A digest of everything that happened in a simulation, in order (a tag, the virtual time and a
 * few numbers per happening): equal for equal seeds, so a replay can be checked event for event.
 */
export class TraceDigest {
  private a = 0x811c9dc5;
  private b = 0x01234567;
  private readonly idHashes = new Map<string, number>();

  /** Folds one happening into the digest. */
  record(tag: number, time: number, a: number, b = 0, c = 0, d = 0): void {
    const t = time * 1000;
    let x = this.a;
    x = foldA(foldA(foldA(foldA(foldA(foldA(x, tag), t), a), b), c), d);
    let y = this.b;
    y = foldB(foldB(foldB(foldB(foldB(foldB(y, tag), t), a), b), c), d);
    this.a = x >>> 0;
    this.b = y >>> 0;
  }

  /** hashString(id), remembered for the few ids a run addresses (forgotten all at once at the bound). */
  idHash(id: string): number {
    let h = this.idHashes.get(id);
    if (h === undefined) {
      if (this.idHashes.size >= 10_000) this.idHashes.clear();
      this.idHashes.set(id, (h = hashString(id)));
    }
    return h;
  }

  hex(): string {
    return `${(this.a >>> 0).toString(16).padStart(8, '0')}${(this.b >>> 0).toString(16).padStart(8, '0')}`;
  }
}

// Read once: under a vm context (jest's) every lookup of a global such as Math goes through the context's interceptors.
const { imul } = Math;

function foldA(x: number, v: number): number {
  return imul(x ^ (v | 0), 0x01000193) ^ ((v / 4294967296) | 0);
}

function foldB(y: number, v: number): number {
  return imul(y ^ ((v | 0) + 0x9e3779b9), 0x85ebca6b) ^ imul((v / 4294967296) | 0, 0xc2b2ae35);
}
