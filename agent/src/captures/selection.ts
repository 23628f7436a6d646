// The node selections captures use, until the Gremlin engine (issue 6) replaces this: the subset
//   G.V()                          every node
//   G.V('<id>')                    one node by ID
//   .Has('Key', value, ...)        key/value pairs (value: 'string', "string", number, Regex('re'),
//                                  Within(v, ...), Without(v, ...), Ne(v))
//   .Has('Key')                    the key exists
// Keys are a node's Name, Type, ID, Host, or a Metadata key (dotted for nested ones: 'Ovs.DatapathType').
// Anything else is refused with a message that says what is supported.
import type { GraphNode } from "../graph/graph.js";

type Predicate = (v: unknown) => boolean;

export interface Selection {
  id?: string;
  has: { key: string; test: Predicate }[];
}

export class SelectionError extends Error {}

const SUPPORTED = "supported until the Gremlin engine lands: G.V(['id']) followed by .Has('Key'[, value, 'Key', value...]) steps";

/** Tokens of a Gremlin expression: identifiers, strings, numbers, punctuation. */
function tokenize(q: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([().,]))/y;
  let pos = 0;
  while (pos < q.length) {
    if (/^\s*$/.test(q.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(q);
    if (!m) throw new SelectionError(`cannot read "${q.slice(pos, pos + 20)}" in ${JSON.stringify(q)}; ${SUPPORTED}`);
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
    pos = re.lastIndex;
  }
  return tokens;
}

const isString = (t: string | undefined) => t !== undefined && (t.startsWith("'") || t.startsWith('"'));
const unquote = (t: string) => t.slice(1, -1).replace(/\\(.)/g, "$1");

type Value = string | number | { fn: string; args: Value[] };

export function parseSelection(query: string): Selection {
  const t = tokenize(query);
  let i = 0;
  const expect = (tok: string) => {
    if (t[i] !== tok) throw new SelectionError(`expected "${tok}" at "${t.slice(i, i + 3).join("")}" in ${JSON.stringify(query)}; ${SUPPORTED}`);
    i++;
  };
  const value = (): Value => {
    const tok = t[i++];
    if (tok === undefined) throw new SelectionError(`unexpected end of ${JSON.stringify(query)}`);
    if (isString(tok)) return unquote(tok);
    if (/^-?\d/.test(tok)) return Number(tok);
    if (/^[A-Za-z]/.test(tok) && t[i] === "(") {
      i++;
      const args: Value[] = [];
      while (t[i] !== ")") {
        args.push(value());
        if (t[i] === ",") i++;
      }
      i++;
      return { fn: tok, args };
    }
    throw new SelectionError(`unexpected "${tok}" in ${JSON.stringify(query)}; ${SUPPORTED}`);
  };
  if (t[i] !== "G" && t[i] !== "g") throw new SelectionError(`a selection starts with G.V(); ${SUPPORTED}`);
  i++;
  expect(".");
  expect("V");
  expect("(");
  const sel: Selection = { has: [] };
  if (t[i] !== ")") {
    const id = value();
    if (typeof id !== "string") throw new SelectionError(`G.V() takes a node ID string`);
    sel.id = id;
  }
  expect(")");
  while (i < t.length) {
    expect(".");
    const step = t[i++];
    if (step !== "Has") throw new SelectionError(`step ${step}() is not supported; ${SUPPORTED}`);
    expect("(");
    const args: Value[] = [];
    while (t[i] !== ")") {
      if (i >= t.length) throw new SelectionError(`unclosed Has( in ${JSON.stringify(query)}`);
      args.push(value());
      if (t[i] === ",") i++;
    }
    i++;
    if (args.length === 1) {
      if (typeof args[0] !== "string") throw new SelectionError("Has(key) takes a string key");
      sel.has.push({ key: args[0], test: (v) => v !== undefined });
      continue;
    }
    if (args.length % 2 !== 0) throw new SelectionError(`Has() takes a key, or key/value pairs: ${JSON.stringify(query)}`);
    for (let k = 0; k < args.length; k += 2) {
      if (typeof args[k] !== "string") throw new SelectionError("Has() keys are strings");
      sel.has.push({ key: args[k] as string, test: predicate(args[k + 1]!) });
    }
  }
  return sel;
}

function predicate(v: Value): Predicate {
  if (typeof v !== "object") return (x) => x === v || (typeof x === "number" && typeof v === "string" && String(x) === v);
  const eq = v.args.map((a) => predicate(a));
  switch (v.fn) {
    case "Regex": {
      const re = new RegExp(`^(?:${String(v.args[0])})$`);
      return (x) => typeof x === "string" && re.test(x);
    }
    case "Within":
      return (x) => eq.some((p) => p(x));
    case "Without":
      return (x) => x !== undefined && !eq.some((p) => p(x));
    case "Ne":
      return (x) => x !== undefined && !eq[0]!(x);
  }
  throw new SelectionError(`predicate ${v.fn}() is not supported (Regex, Within, Without, Ne are)`);
}

function field(n: GraphNode, key: string): unknown {
  if (key === "Name" || key === "Type" || key === "ID" || key === "Host") return n[key] ?? n.Metadata[key];
  let v: unknown = n.Metadata;
  for (const part of key.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export function matches(sel: Selection, n: GraphNode): boolean {
  if (sel.id !== undefined && n.ID !== sel.id) return false;
  return sel.has.every((h) => h.test(field(n, h.key)));
}
