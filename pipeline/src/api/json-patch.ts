// PATCH with an RFC 6902 JSON Patch, as Skydive's API took it: the operations applied to the resource's
// JSON form (never in place), the result checked again by the route. A patch that cannot apply is a 400.
import jsonpatch from "fast-json-patch";
import { isDeepStrictEqual } from "node:util";
import type { FastifyInstance, FastifyReply } from "fastify";

/** The body of a PATCH: a list of operations. */
export const jsonPatchSchema = {
  type: "array",
  maxItems: 1000,
  description: "RFC 6902 JSON Patch (application/json-patch+json or application/json)",
  items: {
    type: "object",
    required: ["op", "path"],
    additionalProperties: false,
    properties: {
      op: { type: "string", enum: ["add", "remove", "replace", "move", "copy", "test"] },
      path: { type: "string", maxLength: 1024 },
      from: { type: "string", maxLength: 1024 },
      value: {},
    },
  },
} as const;

export type JsonPatch = jsonpatch.Operation[];

export class PatchError extends Error {}

/** `doc` with the patch applied (a copy), or a PatchError saying which operation failed and why. */
export function applyJsonPatch<T>(doc: T, patch: JsonPatch): T {
  const err = jsonpatch.validate(patch, doc);
  if (err) throw new PatchError(`patch operation ${err.index ?? 0}: ${err.message.split("\n")[0]}`);
  try {
    return jsonpatch.applyPatch(jsonpatch.deepClone(doc) as T, patch, false, true).newDocument;
  } catch (e) {
    throw new PatchError(`patch: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * A PATCH route's first half: the patched copy of `old`, or undefined once the answer is sent (400 when the
 * patch cannot apply, 304 when it changes nothing).
 */
export function patchedOrAnswered<T>(old: T, patch: JsonPatch, reply: FastifyReply): T | undefined {
  let next: T;
  try {
    next = applyJsonPatch(old, patch);
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    void reply.code(400).send({ statusCode: 400, error: err.message });
    return undefined;
  }
  if (isDeepStrictEqual(old, next)) {
    void reply.code(304).send();
    return undefined;
  }
  return next;
}

/** PATCH bodies may come as application/json-patch+json. */
export function acceptJsonPatch(app: FastifyInstance): void {
  if (app.hasContentTypeParser("application/json-patch+json")) return;
  app.addContentTypeParser("application/json-patch+json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      const err = e as Error & { statusCode?: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
}
