/** One segment of a compiled path template. */
export type TemplateSegment =
  | { kind: "literal"; value: string }
  | { kind: "star" }
  | { kind: "double-star" };

/** A `{field.path=pattern}` variable: the segments `[start, end)` it captures. */
export interface TemplateVariable {
  /** The field path, e.g. `["book", "id"]` for `{book.id}`. */
  fieldPath: string[];
  start: number;
  end: number;
}

/** A parsed `google.api.http` path template. */
export interface PathTemplate {
  /** The template as written in the annotation. */
  source: string;
  segments: TemplateSegment[];
  variables: TemplateVariable[];
  /** The custom verb after a trailing `:`, if any. */
  verb: string | undefined;
}

/** A template that does not follow the `google.api.http` grammar. */
export class PathTemplateError extends Error {
  override name = "PathTemplateError";
}

const identRe = /^[A-Za-z_][A-Za-z0-9_]*$/;
const literalRe = /^[^/{}*=:]+$/;

/**
 * Parses a path template of the `google.api.http` grammar:
 * `"/" Segments [":" Verb]` where a segment is a literal, `*`, `**` or a
 * variable `{a.b}` / `{a.b=pattern}`. `**` may only be the last segment.
 */
export function parsePathTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(`invalid path template "${source}": ${why}`);
  };
  if (!source.startsWith("/")) fail("must start with /");
  // Split off the verb: the last ':' outside braces and after the last '/'.
  let depth = 0;
  let colon = -1;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (depth === 0 && c === "/") colon = -1;
    else if (depth === 0 && c === ":") colon = i;
    if (depth < 0 || depth > 1) fail("unbalanced braces");
  }
  if (depth !== 0) fail("unbalanced braces");
  const verb = colon >= 0 ? source.slice(colon + 1) : undefined;
  if (verb !== undefined && !literalRe.test(verb)) fail("invalid verb");
  const path = colon >= 0 ? source.slice(1, colon) : source.slice(1);

  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  for (const raw of splitOutsideBraces(path)) {
    if (raw.startsWith("{")) {
      if (!raw.endsWith("}")) fail(`invalid variable "${raw}"`);
      const inner = raw.slice(1, -1);
      const eq = inner.indexOf("=");
      const fieldPath = (eq < 0 ? inner : inner.slice(0, eq)).split(".");
      if (!fieldPath.every((p) => identRe.test(p))) fail(`invalid field path in "${raw}"`);
      const pattern = eq < 0 ? "*" : inner.slice(eq + 1);
      const start = segments.length;
      for (const p of pattern.split("/")) segments.push(plainSegment(p, fail));
      variables.push({ fieldPath, start, end: segments.length });
    } else {
      segments.push(plainSegment(raw, fail));
    }
  }
  const ds = segments.findIndex((s) => s.kind === "double-star");
  if (ds >= 0 && ds !== segments.length - 1) fail("** must be the last segment");
  const seen = new Set<string>();
  for (const v of variables) {
    const key = v.fieldPath.join(".");
    if (seen.has(key)) fail(`variable "${key}" bound twice`);
    seen.add(key);
  }
  return { source, segments, variables, verb };
}

function plainSegment(raw: string, fail: (why: string) => never): TemplateSegment {
  if (raw === "*") return { kind: "star" };
  if (raw === "**") return { kind: "double-star" };
  if (!literalRe.test(raw)) fail(`invalid segment "${raw}"`);
  return { kind: "literal", value: raw };
}

function splitOutsideBraces(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "/" && depth === 0) {
      out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  out.push(path.slice(start));
  return out;
}

/** The OpenAPI form of a template: each variable as `{a.b}`, the verb kept. */
export function openApiPath(t: PathTemplate): string {
  const parts: string[] = [];
  for (let i = 0; i < t.segments.length; ) {
    const v = t.variables.find((x) => x.start === i);
    if (v) {
      parts.push(`{${v.fieldPath.join(".")}}`);
      i = Math.max(v.end, i + 1);
      continue;
    }
    const s = t.segments[i]!;
    parts.push(s.kind === "literal" ? s.value : s.kind === "star" ? "*" : "**");
    i++;
  }
  return `/${parts.join("/")}${t.verb !== undefined ? `:${t.verb}` : ""}`;
}
