/**
 * Weight shards: reading a record's bytes out of its `params_shard_<n>.bin`, and packing records into new
 * shards the way tvmjs `dump_tensor_cache` does (shards of up to 32 MiB; a record at least half that size
 * gets a shard of its own). A shard whose size differs from what tensor-cache.json says (truncated, or a
 * different file) is an AppError('mlc') before any of it is used.
 */
import type { ByteSource } from '../io/byte-source.ts';
import type { ModelSource, OpenOptions } from '../io/model-source.ts';
import { mlcError, type RecordLocation } from './manifest.ts';
import type { MlcRecord, MlcShard, TensorCache } from './types.ts';

export class MlcShardReader {
  readonly #source: ModelSource;
  readonly #open = new Map<string, Promise<ByteSource>>();
  readonly #options: OpenOptions;

  constructor(source: ModelSource, options: OpenOptions = {}) {
    this.#source = source;
    this.#options = options;
  }

  #shard(shard: MlcShard): Promise<ByteSource> {
    let file = this.#open.get(shard.dataPath);
    if (!file) {
      file = (async () => {
        const f = await this.#source.open(shard.dataPath, this.#options);
        if (!f) throw mlcError(this.#source.label, `${shard.dataPath}, which tensor-cache.json lists, is missing`);
        if (f.size !== shard.nbytes) {
          throw mlcError(this.#source.label, `${shard.dataPath} has ${f.size} bytes, but tensor-cache.json says ${shard.nbytes}${f.size < shard.nbytes ? ' (the file is truncated)' : ''}`);
        }
        return f;
      })();
      this.#open.set(shard.dataPath, file);
    }
    return file;
  }

  /** The bytes of one record. */
  async read({ shard, record }: RecordLocation): Promise<Uint8Array> {
    const file = await this.#shard(shard);
    return file.read(record.byteOffset, record.nbytes);
  }
}

/** Receives each finished shard (e.g. writes it to disk or to the browser cache, then drops it). */
export type ShardSink = (dataPath: string, bytes: Uint8Array) => Promise<void> | void;

export const SHARD_CAP_BYTES = 32 * 2 ** 20;

/** Packs records into shards in the order they are added; `finish` returns the tensor cache index. */
export class ShardWriter {
  readonly #sink: ShardSink;
  readonly #cap: number;
  readonly #shards: MlcShard[] = [];
  #pending: Array<{ record: MlcRecord; bytes: Uint8Array }> = [];
  #pendingBytes = 0;
  #written = 0;

  constructor(sink: ShardSink, capBytes = SHARD_CAP_BYTES) {
    this.#sink = sink;
    this.#cap = capBytes;
  }

  /** Bytes of the shards handed to the sink so far. */
  get written(): number {
    return this.#written;
  }

  async add(record: Omit<MlcRecord, 'byteOffset' | 'nbytes'>, bytes: Uint8Array): Promise<void> {
    const rec = { ...record, nbytes: bytes.byteLength, byteOffset: 0 };
    if (this.#pendingBytes + bytes.byteLength >= this.#cap) {
      if (bytes.byteLength * 2 >= this.#cap) return this.#commit([{ record: rec, bytes }]);
      await this.#flush();
    }
    rec.byteOffset = this.#pendingBytes;
    this.#pending.push({ record: rec, bytes });
    this.#pendingBytes += bytes.byteLength;
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const items = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#commit(items);
  }

  async #commit(items: Array<{ record: MlcRecord; bytes: Uint8Array }>): Promise<void> {
    const total = items.reduce((n, i) => n + i.bytes.byteLength, 0);
    const out = new Uint8Array(total);
    for (const { record, bytes } of items) out.set(bytes, record.byteOffset);
    const dataPath = `params_shard_${this.#shards.length}.bin`;
    this.#shards.push({ dataPath, format: 'raw-shard', nbytes: total, records: items.map((i) => i.record) });
    await this.#sink(dataPath, out);
    this.#written += total;
  }

  async finish(metadata: Record<string, unknown>): Promise<TensorCache> {
    await this.#flush();
    return { metadata, records: this.#shards };
  }
}
