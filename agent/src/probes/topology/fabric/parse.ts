// Skydive's fabric syntax, one link per line:
//   PARENT -> [link attrs] CHILD     ownership + layer2
//   PARENT --> [link attrs] CHILD    layer2 only
//   node  := NAME | NAME[k=v, ...]
//   CHILD may also be *[k=v,...]/NAME[k=v,...]: every interface NAME owned by a node matching the filter.
export type Attrs = Record<string, string | number>;

export interface FabricNodeDef {
  name: string;
  attrs: Attrs;
}

export interface FabricLink {
  line: number;
  parent: FabricNodeDef;
  ownership: boolean;
  linkAttrs: Attrs;
  child: FabricNodeDef | { wildcard: Attrs; name: string; attrs: Attrs };
}

export class FabricSyntaxError extends Error {}

function attrs(text: string, where: string): Attrs {
  const out: Attrs = {};
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const i = part.indexOf("=");
    if (i <= 0) throw new FabricSyntaxError(`${where}: expected k=v, got "${part.trim()}"`);
    const k = part.slice(0, i).trim();
    const v = part
      .slice(i + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
    // Integers become numbers (Skydive kept every value a string; MTU=1500 compares as a number here).
    out[k] = /^-?\d{1,15}$/.test(v) ? Number(v) : v;
  }
  return out;
}

const NODE = /^([A-Za-z0-9_.:-]+)(?:\[([^\]]*)\])?$/;

function nodeDef(text: string, where: string): FabricNodeDef {
  const m = NODE.exec(text.trim());
  if (!m) throw new FabricSyntaxError(`${where}: expected NAME or NAME[k=v,...], got "${text.trim()}"`);
  return { name: m[1]!, attrs: attrs(m[2] ?? "", where) };
}

export function parseFabric(lines: string[]): FabricLink[] {
  return lines.map((raw, idx) => {
    const where = `line ${idx + 1} ("${raw}")`;
    const arrow = raw.includes("-->") ? "-->" : raw.includes("->") ? "->" : undefined;
    if (!arrow) throw new FabricSyntaxError(`${where}: expected PARENT -> CHILD or PARENT --> CHILD`);
    const sides = raw.split(arrow);
    if (sides.length !== 2) throw new FabricSyntaxError(`${where}: expected exactly two endpoints`);
    const parentText = sides[0]!.trim();
    if (parentText.startsWith("*")) throw new FabricSyntaxError(`${where}: a wildcard can only be the child`);
    let right = sides[1]!.trim();
    let linkAttrs: Attrs = {};
    if (right.startsWith("[")) {
      const end = right.indexOf("]");
      if (end < 0) throw new FabricSyntaxError(`${where}: unclosed [`);
      linkAttrs = attrs(right.slice(1, end), where);
      right = right.slice(end + 1).trim();
    }
    let child: FabricLink["child"];
    const wild = /^\*\[([^\]]*)\]\/(.+)$/.exec(right);
    if (wild) {
      const c = nodeDef(wild[2]!, where);
      child = { wildcard: attrs(wild[1]!, where), name: c.name, attrs: c.attrs };
    } else {
      child = nodeDef(right, where);
    }
    return { line: idx + 1, parent: nodeDef(parentText, where), ownership: arrow === "->", linkAttrs, child };
  });
}
