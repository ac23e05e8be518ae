/**
 * Random access to the bytes of one file, wherever it lives (memory, a Blob/File, a cached Response, a file
 * on disk in Node). Readers ask for ranges, so a large checkpoint is never held twice in memory.
 */
export interface ByteSource {
  /** The file's name, for error messages. */
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length). The result is a fresh, 0-aligned array the caller may keep. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
}

/** A Blob or File: slices are read on demand (a cached Response's blob may live on disk). */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Every ByteSource implementation calls this: a read outside the file is a programming error, never data. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`${name}: read of ${length} bytes at ${offset} is outside the file (${size} bytes)`);
  }
}
