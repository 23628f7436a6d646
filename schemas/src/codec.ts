// Avro with Confluent framing: byte 0 = 0x00, bytes 1-4 = big-endian schema id, then the Avro binary body.
// This is what ClickHouse's AvroConfluent format, Confluent deserializers and most Kafka tools read.
import type avro from "avsc";
import { builtinCatalog, type SchemaEntry } from "./catalog.js";

export const MAGIC_BYTE = 0;
export const FRAME_HEADER_SIZE = 5;

/** Why a message could not be decoded; bounded set, used as a metric label and DLQ header. */
export type DecodeFailure = "empty" | "bad_magic" | "unknown_schema_id" | "truncated" | "invalid_avro" | "trailing_bytes" | "wrong_record";

export class DecodeError extends Error {
  readonly code = "SKY_ERR_AVRO_DECODE";
  constructor(
    readonly reason: DecodeFailure,
    message: string,
    readonly schemaId?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DecodeError";
  }
}

export interface Framed {
  schemaId: number;
  /** Offset of the Avro body in the message (always FRAME_HEADER_SIZE). */
  bodyOffset: number;
}

/** Reads the frame header without decoding the body. */
export function readFrame(buf: Uint8Array): Framed {
  if (buf.length === 0) throw new DecodeError("empty", "empty message");
  if (buf[0] !== MAGIC_BYTE || buf.length < FRAME_HEADER_SIZE) {
    throw new DecodeError("bad_magic", `not Confluent-framed Avro: first byte 0x${(buf[0] ?? 0).toString(16)}, length ${buf.length}`);
  }
  const schemaId = ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
  return { schemaId, bodyOffset: FRAME_HEADER_SIZE };
}

export function writeFrameHeader(target: Buffer, schemaId: number, offset = 0): void {
  target[offset] = MAGIC_BYTE;
  target.writeUInt32BE(schemaId, offset + 1);
}

/**
 * Encodes and decodes the records of a schema catalog. Readers resolve writer to reader schema:
 * a record written with any catalogued version of a name is read as the reader version of that name
 * (the newest in the catalog unless set), so producers and consumers can be upgraded one at a time.
 */
export class AvroCodec {
  private readonly byId = new Map<number, SchemaEntry>();
  private readonly writers = new Map<string, SchemaEntry>();
  private readonly readers = new Map<string, SchemaEntry>();
  private readonly resolvers = new Map<number, avro.Resolver | null>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(catalog: SchemaEntry[] = builtinCatalog(), readerVersions: Record<string, number> = {}) {
    for (const e of catalog) {
      if (this.byId.has(e.id)) throw new Error(`schema id ${e.id} is used twice in the catalog`);
      this.byId.set(e.id, e);
      const newest = this.writers.get(e.name);
      if (!newest || newest.version < e.version) this.writers.set(e.name, e);
    }
    for (const [name, e] of this.writers) {
      const wanted = readerVersions[name];
      const reader = wanted === undefined ? e : catalog.find((c) => c.name === name && c.version === wanted);
      if (!reader) throw new Error(`no version ${wanted} of ${name} in the catalog`);
      this.readers.set(name, reader);
    }
  }

  schema(id: number): SchemaEntry | undefined {
    return this.byId.get(id);
  }

  /** The entry a producer writes for a record name (the reader version, so one process reads what it writes). */
  writerFor(name: string): SchemaEntry {
    const e = this.readers.get(name);
    if (!e) throw new Error(`no schema named ${name} in the catalog`);
    return e;
  }

  /** Encodes one record with the framing; the value must match the writer schema of `name`. */
  encode(name: string, value: unknown): Buffer {
    const w = this.writerFor(name);
    for (;;) {
      const end = w.type.encode(value, this.scratch, FRAME_HEADER_SIZE);
      if (end >= 0) {
        writeFrameHeader(this.scratch, w.id);
        return Buffer.from(this.scratch.subarray(0, end));
      }
      // encode returns minus the missing byte count when the buffer is too small.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, FRAME_HEADER_SIZE - end));
    }
  }

  /**
   * Decodes a framed message as the reader version of `expectedName`.
   * Throws DecodeError with a reason for anything that is not a whole, valid record.
   */
  decode<T = unknown>(buf: Buffer, expectedName: string): { schemaId: number; value: T } {
    const { schemaId, bodyOffset } = readFrame(buf);
    const writer = this.byId.get(schemaId);
    if (!writer) throw new DecodeError("unknown_schema_id", `unknown schema id ${schemaId}`, schemaId);
    if (writer.name !== expectedName) {
      throw new DecodeError("wrong_record", `schema id ${schemaId} is ${writer.name}, expected ${expectedName}`, schemaId);
    }
    const reader = this.readers.get(expectedName)!;
    const resolver = this.resolverFor(writer, reader);
    let res: { value: unknown; offset: number };
    try {
      res = resolver ? reader.type.decode(buf, bodyOffset, resolver) : reader.type.decode(buf, bodyOffset);
    } catch (err) {
      throw new DecodeError("invalid_avro", `invalid Avro body for schema id ${schemaId}: ${(err as Error).message}`, schemaId, { cause: err });
    }
    if (res.offset < 0) throw new DecodeError("truncated", `truncated Avro body for schema id ${schemaId} (${buf.length} bytes)`, schemaId);
    if (res.offset !== buf.length) {
      throw new DecodeError("trailing_bytes", `${buf.length - res.offset} bytes after the record (schema id ${schemaId})`, schemaId);
    }
    return { schemaId, value: res.value as T };
  }

  private resolverFor(writer: SchemaEntry, reader: SchemaEntry): avro.Resolver | null {
    if (writer.id === reader.id) return null;
    let r = this.resolvers.get(writer.id);
    if (r === undefined) {
      r = reader.type.createResolver(writer.type);
      this.resolvers.set(writer.id, r);
    }
    return r;
  }
}
