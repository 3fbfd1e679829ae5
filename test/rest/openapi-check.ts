import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { expect } from "vitest";

type Doc = Record<string, any>;

/** Checks REST responses against the gateway's own `/openapi.json`. */
export interface OpenApiCheck {
  doc: Doc;
  /** Fails the test unless the response matches the documented operation (or the error envelope for unknown routes). */
  response(method: string, path: string, res: { status: number; contentType: string | undefined; text: string }): void;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** Fetches `/openapi.json` from `baseUrl`, validates it as OpenAPI 3.1, and returns a response checker. */
export async function openApiCheck(baseUrl: string): Promise<OpenApiCheck> {
  const res = await fetch(`${baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as Doc;
  const result = await new Validator().validate(doc);
  expect(result.errors ?? [], "openapi.json must be a valid OpenAPI 3.1 document").toEqual([]);
  expect(result.valid).toBe(true);
  expect(doc.openapi).toMatch(/^3\.1\./);

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat("int32", true);
  ajv.addFormat("int64", true);
  ajv.addSchema(doc, "openapi.json");

  // A path variable is one segment unless its parameter says it spans several.
  const multi = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string; "x-multi-segment"?: boolean }[] }>>)) {
    for (const op of Object.values(ops)) for (const param of op.parameters ?? []) if (param.in === "path" && param["x-multi-segment"]) multi.add(`${p} ${param.name}`);
  }
  const routes = Object.keys(doc.paths).map((p) => ({
    template: p,
    re: new RegExp(
      `^${p
        .split(/(\{[^}]+\})/)
        .map((part) => (part.startsWith("{") ? (multi.has(`${p} ${part.slice(1, -1)}`) ? ".+" : "[^/]+") : part.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&")))
        .join("")}$`,
    ),
    literals: p.split("/").filter((s) => !s.startsWith("{")).length,
  }));
  routes.sort((a, b) => b.literals - a.literals);

  const validate = (pointer: string, value: unknown, what: string) => {
    const v = ajv.getSchema(`openapi.json#${pointer}`) ?? ajv.compile({ $ref: `openapi.json#${pointer}` });
    const ok = v(value);
    expect(ok ? [] : v.errors, `${what} must match ${pointer}`).toEqual([]);
  };
  const esc = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

  return {
    doc,
    response(method, path, r) {
      const m = method.toLowerCase();
      const route = routes.find((x) => x.re.test(path) && doc.paths[x.template][m]);
      const what = `${method} ${path} → ${r.status}`;
      if (!route) {
        expect([404, 405, 413], `${what}: undocumented route`).toContain(r.status);
        validate("/components/schemas/Error", JSON.parse(r.text), what);
        return;
      }
      const op = doc.paths[route.template][m];
      let response = op.responses[String(r.status)];
      if (response === undefined && (r.status === 404 || r.status === 405)) {
        // Route-level answers (the path matched a template but not a binding): the envelope.
        validate("/components/schemas/Error", JSON.parse(r.text), what);
        return;
      }
      expect(response, `${what}: status not documented`).toBeDefined();
      let pointer = `/paths/${esc(route.template)}/${m}/responses/${r.status}`;
      if (response.$ref) {
        pointer = response.$ref.slice(1);
        response = doc.components.responses[response.$ref.split("/").pop()];
      }
      if (!response.content) {
        expect(r.text, `${what}: documented without a body`).toBe("");
        return;
      }
      const ctype = (r.contentType ?? "").split(";")[0]!.trim();
      expect(Object.keys(response.content), `${what}: content type`).toContain(ctype);
      if (ctype === "application/json") validate(`${pointer}/content/${esc(ctype)}/schema`, JSON.parse(r.text), what);
      else if (ctype === "application/x-ndjson") {
        for (const line of r.text.split("\n").filter((l) => l !== "")) validate(`${pointer}/content/${esc(ctype)}/x-item-schema`, JSON.parse(line), what);
      } else if (ctype === "text/event-stream") {
        for (const block of r.text.split("\n\n")) {
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (data === "") continue;
          const isError = block.split("\n").includes("event: error");
          validate(isError ? "/components/schemas/Error" : `${pointer}/content/${esc(ctype)}/x-item-schema`, JSON.parse(data), what);
        }
      }
    },
  };
}
