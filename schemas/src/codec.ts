// Avro with Confluent framing: byte 0 = 0x00, bytes 1-4 = big-endian schema id, then the Avro binary body.
// This is what ClickHouse's AvroConfluent format, Confluent deserializers and most Kafka tools read.
import type avro from "avsc";
import { builtinCatalog, compile, type SchemaEntry } from "./catalog.js";

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

/** Looks up, in a schema registry, ids the codec has not seen; see AvroCodec.prepare. */
export type RegistryLookup = (ids: number[]) => Promise<void>;

/**
 * Encodes and decodes the records of a schema catalog. Readers resolve writer to reader schema:
 * a record written with any catalogued version of a name is read as the reader version of that name
 * (the newest in the catalog unless set), so producers and consumers can be upgraded one at a time.
 *
 * With a schema registry (pipeline/src/schema-registry), records are framed with the ids the registry
 * gave per topic (useWriterId), and ids from the registry are resolved the same way, by the record's
 * full name (learn); without one, the pinned ids of the catalog, as always.
 */
export class AvroCodec {
  private readonly byId = new Map<number, SchemaEntry>();
  private readonly writers = new Map<string, SchemaEntry>();
  private readonly readers = new Map<string, SchemaEntry>();
  private readonly resolvers = new Map<SchemaEntry, avro.Resolver | null>();
  /** Registry id -> writer: the catalog's entry when the layout is the same, else the registry's schema. */
  private readonly learned = new Map<number, SchemaEntry>();
  /** Registry ids the registry did not have when asked (read with the pinned ids), until when that holds. */
  private readonly absent = new Map<number, number>();
  /** Registry ids whose schema cannot be used here, and why. */
  private readonly unusable = new Map<number, string>();
  /** `topic\0name` -> the id the registry gave to this process's writer schema under that topic's subject. */
  private readonly topicWriterIds = new Map<string, number>();
  private lookup?: RegistryLookup;
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly catalog: SchemaEntry[] = builtinCatalog(),
    readerVersions: Record<string, number> = {},
  ) {
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

  /** The catalog entry of a pinned id. */
  schema(id: number): SchemaEntry | undefined {
    return this.byId.get(id);
  }

  /** Every catalogued version of a record name, oldest first (what a producer registers, in that order). */
  versionsOf(name: string): SchemaEntry[] {
    return this.catalog.filter((e) => e.name === name).sort((a, b) => a.version - b.version);
  }

  /** The entry a producer writes for a record name (the reader version, so one process reads what it writes). */
  writerFor(name: string): SchemaEntry {
    const e = this.readers.get(name);
    if (!e) throw new Error(`no schema named ${name} in the catalog`);
    return e;
  }

  /** The id framing `name` on `topic`: the registry's when one was set for the topic, else the pinned one. */
  writerId(name: string, topic?: string): number {
    const w = this.writerFor(name);
    return (topic !== undefined && this.topicWriterIds.get(`${topic}\0${name}`)) || w.id;
  }

  /** Frames `name` on `topic` with `id` from now on (the registry's id of the writer schema under the topic's subject). */
  useWriterId(topic: string, name: string, id: number): void {
    this.writerFor(name);
    this.topicWriterIds.set(`${topic}\0${name}`, id);
  }

  /**
   * Adds a schema the registry holds under `id`. A schema with the layout of a catalogued version (same
   * canonical form) is that version; another one of a known record name is read through resolution to
   * the reader version, like a catalogued one. Throws when the schema cannot be compiled.
   */
  learn(id: number, schema: avro.Schema): SchemaEntry {
    let e: SchemaEntry;
    try {
      const type = compile(schema);
      e = this.catalog.find((c) => c.name === type.name && c.type.equals(type)) ?? { id, name: type.name ?? "", version: 0, schema, type };
    } catch (err) {
      this.unusable.set(id, `the registry's schema ${id} is not usable Avro: ${(err as Error).message}`);
      throw err;
    }
    this.learned.set(id, e);
    this.absent.delete(id);
    this.unusable.delete(id);
    return e;
  }

  /** Records that the registry has no schema `id` (so it is a pinned id), until `untilMs`. */
  markAbsent(id: number, untilMs: number): void {
    this.absent.set(id, untilMs);
  }

  /** Marks a registry id as unusable here (a schema with references, for instance): decoding it fails with `why`. */
  markUnusable(id: number, why: string): void {
    this.unusable.set(id, why);
  }

  /** Sets the registry lookup prepare() uses; without one, prepare() does nothing and only pinned ids are known. */
  setRegistryLookup(lookup: RegistryLookup | undefined): void {
    this.lookup = lookup;
  }

  /**
   * Looks up in the registry the schema ids of these messages that are not known yet, so that decode(),
   * which is synchronous, can read them. A consumer calls it once per batch; a no-op without a registry.
   * While the registry does not answer, `heartbeat` is called every few seconds (a consumer keeps its group).
   */
  async prepare(values: Iterable<Buffer | null | undefined>, heartbeat?: () => Promise<void>): Promise<void> {
    if (!this.lookup) return;
    const now = Date.now();
    let ids: Set<number> | undefined;
    for (const v of values) {
      if (!v || v.length < FRAME_HEADER_SIZE || v[0] !== MAGIC_BYTE) continue;
      const id = v.readUInt32BE(1);
      if (this.learned.has(id) || this.unusable.has(id) || (this.absent.get(id) ?? 0) > now) continue;
      (ids ??= new Set()).add(id);
    }
    if (!ids) return;
    const looked = this.lookup([...ids]);
    if (!heartbeat) return looked;
    let done = false;
    const settled = looked.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await Promise.race([settled, new Promise((r) => setTimeout(r, 3000))]);
      if (!done) await heartbeat().catch(() => undefined);
    }
    return looked;
  }

  /** Encodes one record with the framing; the value must match the writer schema of `name`. */
  encode(name: string, value: unknown, topic?: string): Buffer {
    const w = this.writerFor(name);
    const id = this.writerId(name, topic);
    for (;;) {
      const end = w.type.encode(value, this.scratch, FRAME_HEADER_SIZE);
      if (end >= 0) {
        writeFrameHeader(this.scratch, id);
        return Buffer.from(this.scratch.subarray(0, end));
      }
      // encode returns minus the missing byte count when the buffer is too small.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, FRAME_HEADER_SIZE - end));
    }
  }

  /**
   * Decodes a framed message as the reader version of `expectedName`; `writer` is the schema it was
   * written with (a catalog entry, or a registry schema of another layout, version 0).
   * Throws DecodeError with a reason for anything that is not a whole, valid record.
   */
  decode<T = unknown>(buf: Buffer, expectedName: string): { schemaId: number; value: T; writer: SchemaEntry } {
    const { schemaId, bodyOffset } = readFrame(buf);
    const writer = this.writerOf(schemaId, expectedName);
    if (writer.name !== expectedName) {
      throw new DecodeError("wrong_record", `schema id ${schemaId} is ${writer.name}, expected ${expectedName}`, schemaId);
    }
    const reader = this.readers.get(expectedName)!;
    const resolver = this.resolverFor(writer, reader, schemaId);
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
    return { schemaId, value: res.value as T, writer };
  }

  /**
   * The writer schema of an id. A registry numbers its schemas from 1 like the catalog: an id the registry
   * gave to another record than the one expected, when the pinned id is that record, is a record written
   * with the pinned ids (before the registry, or by a process without one), so the pinned entry wins then.
   */
  private writerOf(id: number, expectedName: string): SchemaEntry {
    const why = this.unusable.get(id);
    if (why !== undefined) throw new DecodeError("unknown_schema_id", why, id);
    const registered = this.learned.get(id);
    const pinned = this.byId.get(id);
    if (registered && (registered.name === expectedName || pinned?.name !== expectedName)) return registered;
    if (pinned) return pinned;
    throw new DecodeError("unknown_schema_id", `unknown schema id ${id}${this.lookup ? " (neither in the schema registry nor pinned)" : ""}`, id);
  }

  private resolverFor(writer: SchemaEntry, reader: SchemaEntry, schemaId: number): avro.Resolver | null {
    if (writer === reader) return null;
    let r = this.resolvers.get(writer);
    if (r === undefined) {
      try {
        r = reader.type.createResolver(writer.type);
      } catch (err) {
        throw new DecodeError(
          "invalid_avro",
          `schema id ${schemaId} (${writer.name}) cannot be read as version ${reader.version}: ${(err as Error).message}`,
          schemaId,
          { cause: err },
        );
      }
      this.resolvers.set(writer, r);
    }
    return r;
  }
}
