import type { HttpBinding } from "./http-rule.js";

interface Node {
  literal: Map<string, Node>;
  star: Node | undefined;
  /** Bindings whose template ends in `**` here, by verb ("" for none), then by HTTP method. */
  doubleStar: Map<string, Map<string, HttpBinding>> | undefined;
  /** Bindings ending exactly here, by verb ("" for none), then by HTTP method. */
  end: Map<string, Map<string, HttpBinding>> | undefined;
}

/** The result of matching a request against the table. */
export type RouteMatch =
  | { kind: "found"; binding: HttpBinding; segments: string[] }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" };

/** A precompiled table of REST bindings, matched segment by segment (no regular expressions). */
export interface RouteTable {
  /** Matches `method` and the raw path (no query) against every binding. */
  match(method: string, path: string): RouteMatch;
  bindings: readonly HttpBinding[];
}

const newNode = (): Node => ({ literal: new Map(), star: undefined, doubleStar: undefined, end: undefined });

/** Builds the table; fails when two bindings claim the same method and template shape. */
export function createRouteTable(bindings: readonly HttpBinding[]): RouteTable {
  const root = newNode();
  for (const b of bindings) {
    let node = root;
    let terminal: "end" | "doubleStar" = "end";
    for (const seg of b.template.segments) {
      if (seg.kind === "literal") {
        let next = node.literal.get(seg.value);
        if (!next) node.literal.set(seg.value, (next = newNode()));
        node = next;
      } else if (seg.kind === "star") {
        node = node.star ??= newNode();
      } else {
        terminal = "doubleStar";
      }
    }
    const byVerb = (node[terminal] ??= new Map());
    const verb = b.template.verb ?? "";
    let byMethod = byVerb.get(verb);
    if (!byMethod) byVerb.set(verb, (byMethod = new Map()));
    const clash = byMethod.get(b.httpMethod);
    if (clash) {
      throw new Error(`REST binding ${b.httpMethod} ${b.template.source} of ${b.method.name} clashes with ${clash.method.name}`);
    }
    byMethod.set(b.httpMethod, b);
  }

  function collect(node: Node, segs: string[], i: number, verb: string, out: Map<string, HttpBinding>[]): void {
    if (node.doubleStar) {
      const m = node.doubleStar.get(verb);
      if (m) out.push(m);
    }
    if (i === segs.length) {
      const m = node.end?.get(verb);
      if (m) out.push(m);
      return;
    }
    const seg = segs[i]!;
    const lit = node.literal.get(seg);
    if (lit) collect(lit, segs, i + 1, verb, out);
    if (node.star && seg !== "") collect(node.star, segs, i + 1, verb, out);
  }

  function matchWith(method: string, segs: string[], verb: string): RouteMatch | undefined {
    const found: Map<string, HttpBinding>[] = [];
    collect(root, segs, 0, verb, found);
    if (found.length === 0) return undefined;
    // Prefer the most specific candidate: literal over `*` over `**` (collect's order, reversed for `**`).
    const ordered = found.slice().sort((a, b) => (isDoubleStar(a) ? 1 : 0) - (isDoubleStar(b) ? 1 : 0));
    for (const m of ordered) {
      const b = m.get(method) ?? (method === "HEAD" ? m.get("GET") : undefined);
      if (b) return { kind: "found", binding: b, segments: segs };
    }
    const allow = new Set<string>();
    for (const m of found) for (const k of m.keys()) allow.add(k);
    return { kind: "method-not-allowed", allow: [...allow].sort() };
  }

  return {
    bindings,
    match(method, path) {
      if (!path.startsWith("/")) return { kind: "not-found" };
      const segs = path.slice(1).split("/");
      const last = segs[segs.length - 1]!;
      const colon = last.lastIndexOf(":");
      if (colon >= 0) {
        const withVerb = segs.slice(0, -1);
        withVerb.push(last.slice(0, colon));
        const r = matchWith(method, withVerb, last.slice(colon + 1));
        if (r) return r;
      }
      return matchWith(method, segs, "") ?? { kind: "not-found" };
    },
  };
}

function isDoubleStar(m: Map<string, HttpBinding>): boolean {
  for (const b of m.values()) return b.template.segments[b.template.segments.length - 1]?.kind === "double-star";
  return false;
}
