/**
 * A stand-in for the origin-private file system in Node (no browser here): folders and files in memory with
 * the browser's behaviours that the checkpoint store must handle — getFileHandle({create}) makes a 0-byte file
 * at once, writes go to a swap buffer that replaces the file only on close() (abort() drops it), a full quota
 * fails the write with a QuotaExceededError DOMException, missing entries throw NotFoundError. Faults can be
 * injected per path (quota on one file, bytes changed on commit). The real OPFS is tested in Chromium
 * (tests/e2e/training-checkpoints.spec.ts).
 */
import type { OpfsDir, OpfsFile, OpfsWritable } from '../../src/ui/training/checkpoint-store.ts';

export interface OpfsFaults {
  /** Bytes the whole file system may hold (default unlimited). */
  quota: number;
  /** Paths ("checkpoints/run/latest.json") whose writes fail as over quota. */
  quotaOn: (path: string) => boolean;
  /** Paths whose committed bytes differ from what was written (a bad disk). */
  corruptOn: (path: string) => boolean;
}

class DoubleFile implements OpfsFile {
  bytes = new Uint8Array(0);
  constructor(
    private readonly fs: OpfsDouble,
    readonly path: string,
  ) {}

  async getFile() {
    const bytes = this.bytes.slice();
    return { size: bytes.byteLength, arrayBuffer: async () => bytes.buffer };
  }

  async createWritable(): Promise<OpfsWritable> {
    let swap = new Uint8Array(0);
    let open = true;
    return {
      write: async (data: Uint8Array) => {
        if (!open) throw new DOMException('closed', 'InvalidStateError');
        const next = new Uint8Array(swap.byteLength + data.byteLength);
        next.set(swap);
        next.set(data, swap.byteLength);
        if (this.fs.faults.quotaOn(this.path) || this.fs.usage() - this.bytes.byteLength + next.byteLength > this.fs.faults.quota) {
          throw new DOMException('Quota exceeded.', 'QuotaExceededError');
        }
        swap = next;
      },
      close: async () => {
        open = false;
        this.bytes = swap;
        if (this.fs.faults.corruptOn(this.path) && swap.byteLength > 0) (this.bytes = swap.slice())[0] ^= 0xff;
      },
      abort: async () => {
        open = false;
      },
    };
  }
}

class DoubleDir implements OpfsDir {
  readonly children = new Map<string, DoubleDir | DoubleFile>();
  constructor(
    private readonly fs: OpfsDouble,
    readonly path: string,
  ) {}

  #child(name: string): string {
    return this.path ? `${this.path}/${name}` : name;
  }

  async getDirectoryHandle(name: string, options: { create?: boolean } = {}): Promise<OpfsDir> {
    const c = this.children.get(name);
    if (c instanceof DoubleDir) return c;
    if (c) throw new DOMException(`${name} is a file`, 'TypeMismatchError');
    if (!options.create) throw new DOMException(`${name} not found`, 'NotFoundError');
    const d = new DoubleDir(this.fs, this.#child(name));
    this.children.set(name, d);
    return d;
  }

  async getFileHandle(name: string, options: { create?: boolean } = {}): Promise<OpfsFile> {
    const c = this.children.get(name);
    if (c instanceof DoubleFile) return c;
    if (c) throw new DOMException(`${name} is a folder`, 'TypeMismatchError');
    if (!options.create) throw new DOMException(`${name} not found`, 'NotFoundError');
    const f = new DoubleFile(this.fs, this.#child(name));
    this.children.set(name, f);
    return f;
  }

  async removeEntry(name: string, options: { recursive?: boolean } = {}): Promise<void> {
    const c = this.children.get(name);
    if (!c) throw new DOMException(`${name} not found`, 'NotFoundError');
    if (c instanceof DoubleDir && c.children.size > 0 && !options.recursive) throw new DOMException(`${name} is not empty`, 'InvalidModificationError');
    this.children.delete(name);
  }

  async *entries(): AsyncIterable<[string, { kind: 'file' | 'directory' }]> {
    for (const [name, c] of [...this.children]) yield [name, { kind: c instanceof DoubleDir ? 'directory' : 'file' }];
  }
}

export class OpfsDouble {
  readonly root: DoubleDir;
  faults: OpfsFaults = { quota: Infinity, quotaOn: () => false, corruptOn: () => false };

  constructor() {
    this.root = new DoubleDir(this, '');
  }

  /** Every file as "path size", sorted. */
  files(): string[] {
    const out: string[] = [];
    const walk = (d: DoubleDir) => {
      for (const c of d.children.values()) {
        if (c instanceof DoubleDir) walk(c);
        else out.push(`${c.path} ${c.bytes.byteLength}`);
      }
    };
    walk(this.root);
    return out.sort();
  }

  usage(): number {
    return this.files().reduce((n, f) => n + Number(f.split(' ')[1]), 0);
  }

  /** Replaces a file's bytes (a damaged checkpoint). */
  async overwrite(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const parts = path.split('/');
    let d: OpfsDir = this.root;
    for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p);
    ((await d.getFileHandle(parts.at(-1)!)) as DoubleFile).bytes = bytes;
  }
}
