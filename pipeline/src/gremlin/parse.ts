// The Gremlin dialect's reader: text -> a list of steps with their arguments, every part with its
// position in the text. Skydive's grammar: a query starts with G, steps are chained with dots, keywords
// are case-insensitive, strings are in '' or "", numbers are integers or decimals; arguments are
// literals, the words ASC DESC NOW FOREVER TRUE FALSE, or calls (predicates, Metadata(...)).
// A mistake is a GremlinSyntaxError that says where (0-based offset) and what was expected there.

export class GremlinError extends Error {
  constructor(
    message: string,
    /** Offset in the query text of the part in error. */
    readonly position: number,
    /** What would have been accepted there, when the reader knows. */
    readonly expected?: string,
  ) {
    super(message);
    this.name = "GremlinError";
  }
}

export type Word = "ASC" | "DESC" | "NOW" | "FOREVER" | "TRUE" | "FALSE";

export type Arg =
  | { kind: "string"; value: string; pos: number }
  | { kind: "number"; value: number; pos: number }
  | { kind: "word"; value: Word; pos: number }
  | { kind: "call"; name: string; args: Arg[]; pos: number }
  /** A traversal as an argument (Union, Or): steps applied to the current value, or to the graph after G. */
  | { kind: "traversal"; fromGraph: boolean; steps: Step[]; pos: number };

export interface Step {
  /** Canonical name (as in the STEPS table), whatever the case it was written in. */
  name: string;
  args: Arg[];
  pos: number;
  /** Set by the evaluator's reduction: the step may stop after this many elements (a Limit follows). */
  take?: number;
}

export interface Query {
  text: string;
  /** Steps after the leading G (a mid-query G is a step of its own). */
  steps: Step[];
}

/** Every step the dialect knows, by lower-case name. Aliases map to their canonical step. */
// prettier-ignore
export const STEP_NAMES = [
  "V", "E", "Has", "HasEither", "HasKey", "HasNot", "Out", "In", "Both", "OutE", "InE", "BothE", "OutV", "InV", "BothV",
  "Dedup", "Count", "Range", "Limit", "Sort", "Values", "ValueMap", "Keys", "Sum", "As", "Select", "ShortestPathTo",
  "SubGraph", "Context", "Flows", "Metrics", "Sockets", "Hops", "Nodes", "CaptureNode", "Group", "MoreThan",
  "Descendants", "Ascendants", "Neighbors", "Union", "Or", "G", "Aggregates",
] as const;
const STEPS = new Map<string, string>([...STEP_NAMES.map((s) => [s.toLowerCase(), s] as const), ["at", "Context"], ["node", "CaptureNode"]]);

// prettier-ignore
const CALL_NAMES = [
  "NE", "NEE", "Within", "Without", "Regex", "Lt", "Gt", "Lte", "Gte", "Inside", "Outside", "Between", "IPV4Range", "IPRange", "Metadata",
] as const;
const CALLS = new Map<string, string>(CALL_NAMES.map((c) => [c.toLowerCase(), c]));
const WORDS = new Set<Word>(["ASC", "DESC", "NOW", "FOREVER", "TRUE", "FALSE"]);

export const LIMITS = { length: 10_000, steps: 200, depth: 8, args: 1_000 };

type Token =
  | { t: "ident"; v: string; pos: number }
  | { t: "string"; v: string; pos: number }
  | { t: "number"; v: number; pos: number }
  | { t: "punct"; v: "(" | ")" | "," | "."; pos: number }
  | { t: "end"; pos: number };

const describe = (tok: Token) =>
  tok.t === "end" ? "the end of the query" : tok.t === "string" ? `string ${JSON.stringify(tok.v)}` : tok.t === "number" ? `number ${tok.v}` : `'${tok.v}'`;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === "(" || c === ")" || c === "," || c === ".") {
      // A dot followed by a digit starts a number only after a comma or an opening parenthesis.
      out.push({ t: "punct", v: c, pos });
      i++;
    } else if (c === "'" || c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new GremlinError(`unterminated string starting at ${pos}`, pos, `a closing ${c}`);
        const d = text[i]!;
        if (d === "\\" && i + 1 < text.length) {
          const n = text[i + 1]!;
          v += n === "n" ? "\n" : n === "t" ? "\t" : n;
          i += 2;
        } else if (d === c) {
          i++;
          break;
        } else {
          v += d;
          i++;
        }
      }
      out.push({ t: "string", v, pos });
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i));
      if (!m) throw new GremlinError(`unexpected '${c}' at ${pos}`, pos, "a number");
      out.push({ t: "number", v: Number(m[0]), pos });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ t: "ident", v: m[0], pos });
      i += m[0].length;
    } else {
      throw new GremlinError(`unexpected '${c}' at ${pos}`, pos, "a step, a string, a number or punctuation");
    }
  }
  out.push({ t: "end", pos: text.length });
  return out;
}

export function parseGremlin(text: string): Query {
  if (text.length > LIMITS.length) throw new GremlinError(`query is ${text.length} characters long; at most ${LIMITS.length} are accepted`, LIMITS.length);
  const toks = tokenize(text);
  let k = 0;
  const peek = () => toks[k]!;
  const fail = (expected: string): never => {
    const tok = peek();
    throw new GremlinError(`expected ${expected} at ${tok.pos}, found ${describe(tok)}`, tok.pos, expected);
  };
  const punct = (v: string) => {
    const tok = peek();
    if (tok.t !== "punct" || tok.v !== v) fail(`'${v}'`);
    k++;
  };
  const isPunct = (v: string) => {
    const tok = peek();
    return tok.t === "punct" && tok.v === v;
  };
  let argCount = 0;

  const arg = (depth: number): Arg => {
    const tok = peek();
    if (++argCount > LIMITS.args) throw new GremlinError(`more than ${LIMITS.args} arguments`, tok.pos);
    if (tok.t === "string" || tok.t === "number") {
      k++;
      return { kind: tok.t, value: tok.v, pos: tok.pos } as Arg;
    }
    if (tok.t === "ident") {
      const upper = tok.v.toUpperCase() as Word;
      if (WORDS.has(upper) && !(toks[k + 1]?.t === "punct" && (toks[k + 1] as { v: string }).v === "(")) {
        k++;
        return { kind: "word", value: upper, pos: tok.pos };
      }
      const name = CALLS.get(tok.v.toLowerCase());
      if (!name) {
        // A traversal: a step name, or G, starting a chain (Union(Out(), In().Has('Type', 'host'))).
        const lower = tok.v.toLowerCase();
        if (lower === "g" || STEPS.has(lower)) {
          if (depth >= LIMITS.depth) throw new GremlinError(`traversals nested deeper than ${LIMITS.depth} at ${tok.pos}`, tok.pos);
          const fromGraph = lower === "g";
          if (fromGraph) k++;
          return { kind: "traversal", fromGraph, steps: chain(depth + 1, !fromGraph), pos: tok.pos };
        }
        throw new GremlinError(`unknown predicate '${tok.v}' at ${tok.pos}`, tok.pos, `a value, a traversal or one of ${CALL_NAMES.join(", ")}`);
      }
      if (depth >= LIMITS.depth) throw new GremlinError(`predicates nested deeper than ${LIMITS.depth} at ${tok.pos}`, tok.pos);
      k++;
      return { kind: "call", name, args: args(depth + 1), pos: tok.pos };
    }
    return fail("a value (string, number, predicate or one of ASC, DESC, NOW, FOREVER, TRUE, FALSE)");
  };
  const args = (depth: number): Arg[] => {
    punct("(");
    const out: Arg[] = [];
    if (isPunct(")")) {
      k++;
      return out;
    }
    if (peek().t === "end") fail("an argument or ')'");
    for (;;) {
      out.push(arg(depth));
      if (isPunct(",")) {
        k++;
        continue;
      }
      if (isPunct(")")) {
        k++;
        return out;
      }
      fail("',' or ')'");
    }
  };

  /** Steps chained with dots until something else (the end, or a ',' or ')' after a traversal argument). */
  const chain = (depth: number, firstWithoutDot: boolean): Step[] => {
    const steps: Step[] = [];
    for (let n = 0; ; n++) {
      if (!(n === 0 && firstWithoutDot)) {
        if (!isPunct(".")) {
          if (peek().t === "end" || depth > 0) return steps;
          fail("'.' and a step");
        }
        k++;
      }
      const tok = peek();
      if (tok.t !== "ident") fail("a step name");
      const word = (tok as { v: string }).v;
      const name = STEPS.get(word.toLowerCase());
      if (!name) throw new GremlinError(`unknown step '${word}' at ${tok.pos}`, tok.pos, `one of ${STEP_NAMES.join(", ")}`);
      if (++stepCount > LIMITS.steps) throw new GremlinError(`more than ${LIMITS.steps} steps`, tok.pos);
      k++;
      // G (mid-query) takes no parentheses; every other step has them.
      const stepArgs = name === "G" && !isPunct("(") ? [] : args(depth);
      steps.push({ name, args: stepArgs, pos: tok.pos });
    }
  };
  let stepCount = 0;

  const first = peek();
  if (first.t !== "ident" || first.v.toUpperCase() !== "G") fail("G (a query starts with G)");
  k++;
  const steps = chain(0, false);
  return { text, steps };
}
