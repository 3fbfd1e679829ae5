import { type DescField, type DescMessage, type DescService, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { enumWords } from "./enum-word.js";
import { type HttpBinding, readHttpBindings } from "./http-rule.js";
import type { MediaRenderer } from "./media-renderer.js";
import { openApiPath } from "./path-template.js";

/** Title and version of the document. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  /** Defaults to `UNLICENSED` (the package is not published under a licence). */
  license?: { name: string; identifier?: string; url?: string };
}

type Schema = Record<string, unknown>;

const errorStatuses: Record<string, string> = {
  "400": "validation_error: the request failed validation (`details.fields` names each field)",
  "401": "unauthorized: missing or invalid credentials",
  "403": "forbidden: the caller lacks the capability",
  "404": "not_found: no such resource in the caller's organization",
  "409": "conflict: the resource is not in a state that allows this",
  "429": "rate_limited",
  "500": "internal",
  "501": "internal: the RPC is not implemented yet",
  "503": "unavailable: retry later",
};

/**
 * Builds an OpenAPI 3.1 document from the services' descriptors and
 * `google.api.http` annotations: the REST routes, the contract's JSON
 * profile, the error envelope and the bearer scheme.
 */
export function buildOpenApi(services: readonly DescService[], info: OpenApiInfo = { title: "wa-gateway", version: "v1" }, renderers: readonly MediaRenderer[] = []): Schema {
  const schemas: Record<string, Schema> = {};
  const gen = new SchemaGen(schemas);
  const paths: Record<string, Record<string, Schema>> = {};
  const bindings = readHttpBindings(services);
  const counts = new Map<string, number>();
  for (const b of bindings) {
    // OpenAPI knows only the standard methods; custom kinds stay undocumented.
    if (!openApiMethods.has(b.httpMethod)) continue;
    const id = `${b.method.parent.name}_${b.method.name}`;
    const n = counts.get(id) ?? 0;
    counts.set(id, n + 1);
    const path = openApiPath(b.template);
    const media = renderers.filter((r) => r.method === `${b.method.parent.typeName}/${b.method.name}`).map((r) => r.contentType);
    (paths[path] ??= {})[b.httpMethod.toLowerCase()] = operation(b, gen, n === 0 ? id : `${id}_${n}`, media);
  }
  paths["/openapi.json"] = {
    get: {
      operationId: "OpenApi",
      summary: "This document",
      security: [],
      responses: {
        "200": { description: "The OpenAPI document", content: { "application/json": { schema: { type: "object" } } } },
        "4XX": { $ref: "#/components/responses/Error" },
        "5XX": { $ref: "#/components/responses/Error" },
      },
    },
  };
  schemas.Error = {
    type: "object",
    additionalProperties: false,
    required: ["error"],
    properties: {
      error: {
        type: "object",
        additionalProperties: false,
        required: ["code", "message", "details"],
        properties: {
          code: { type: "string", enum: ["validation_error", "unauthorized", "forbidden", "not_found", "conflict", "rate_limited", "internal", "unavailable"] },
          message: { type: "string" },
          details: {
            type: "object",
            properties: {
              fields: { type: "object", additionalProperties: { type: "string" } },
              metadata: { type: "object", additionalProperties: { type: "string" } },
            },
          },
        },
      },
    },
  };
  return {
    openapi: "3.1.0",
    info: { license: { name: "UNLICENSED", identifier: "LicenseRef-UNLICENSED" }, ...info },
    // Relative: the gateway that serves this document (REST tooling resolves it against the document's URL).
    servers: [{ url: "/", description: "The gateway serving this document" }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "A login JWT minted by the frontend, or an API key (`wag_…`).",
        },
      },
      responses: {
        Error: { description: "An error in the contract's envelope", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        Unauthorized: {
          description: errorStatuses["401"],
          headers: { "WWW-Authenticate": { schema: { type: "string", const: "Bearer" } } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
    security: [{ bearer: [] }],
  };
}

function operation(b: HttpBinding, gen: SchemaGen, operationId: string, media: string[]): Schema {
  const parameters: Schema[] = b.pathFields.map((pf, i) => {
    const v = b.template.variables[i]!;
    const segs = b.template.segments.slice(v.start, v.end);
    const param: Schema = { name: pf.name, in: "path", required: true, schema: gen.scalarInput(pf.fields[pf.fields.length - 1]!) };
    if (segs.length > 1 || segs[0]?.kind === "double-star") {
      // A variable spanning segments (`{name=a/*/b/*}`, `{path=**}`): its slashes are not encoded.
      const re = segs.map((s) => (s.kind === "literal" ? s.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : s.kind === "star" ? "[^/]+" : ".*")).join("/");
      param.schema = { type: "string", pattern: `^${re}$` };
      param["x-multi-segment"] = true;
    }
    return param;
  });
  for (const qf of b.queryFields) {
    const leaf = qf.fields[qf.fields.length - 1]!;
    const item = gen.scalarInput(leaf);
    parameters.push(
      leaf.fieldKind === "list"
        ? { name: qf.name, in: "query", required: false, style: "form", explode: true, schema: { type: "array", items: item } }
        : { name: qf.name, in: "query", required: false, schema: item },
    );
  }
  const streaming = b.method.methodKind === "server_streaming";
  if (streaming && b.method.input.fields.some((f) => f.name === "after")) {
    parameters.push({ name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" }, description: "Resume after this event id (sets `after`)." });
  }
  const op: Schema = {
    operationId,
    tags: [b.method.parent.name],
    summary: b.method.name,
    parameters,
  };
  if (b.body === "*") {
    const bound = new Set(b.pathFields.map((p) => p.fields[0]!));
    op.requestBody = { required: false, content: { "application/json": { schema: gen.messageInput(b.method.input, bound) } } };
  } else if (b.body) {
    op.requestBody = { required: false, content: { "application/json": { schema: gen.fieldInput(b.body) } } };
  }
  const responses: Schema = {};
  if (b.httpBody) {
    responses[String(b.successStatus)] = {
      description: "The raw bytes, with their Content-Type.",
      content: { "*/*": { schema: { type: "string", contentMediaType: "application/octet-stream" } } },
    };
  } else if (streaming) {
    const item = b.responseBody ? gen.fieldOutput(b.responseBody) : gen.streamItem(b.method.output);
    responses["200"] = {
      description: "A stream: SSE (`Accept: text/event-stream`; `id:` is the item's id; comments are heartbeats; a failure is an `event: error` with the error envelope) or NDJSON (`{\"result\": item}` lines, a final error envelope line on failure).",
      content: {
        "text/event-stream": { schema: { type: "string" }, "x-item-schema": item },
        "application/x-ndjson": {
          schema: { type: "string" },
          "x-item-schema": { oneOf: [{ type: "object", required: ["result"], properties: { result: item } }, { $ref: "#/components/schemas/Error" }] },
        },
      },
    };
  } else if (b.successStatus === 204) {
    responses["204"] = { description: "Done; no body" };
  } else {
    const schema = b.responseBody ? gen.fieldOutput(b.responseBody) : gen.messageRef(b.method.output);
    const content: Schema = { "application/json": { schema } };
    for (const type of media) content[type] = { schema: { type: "string", contentMediaType: type } };
    responses[String(b.successStatus)] = { description: b.successStatus === 201 ? "Created" : b.successStatus === 202 ? "Accepted" : "OK", content };
  }
  for (const [status, description] of Object.entries(errorStatuses)) {
    responses[status] = status === "401" ? { $ref: "#/components/responses/Unauthorized" } : { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  }
  if (b.body !== undefined) {
    responses["408"] = { description: "validation_error: the request body arrived too slowly", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    responses["413"] = { description: "validation_error: the request body is too large", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  }
  op.responses = responses;
  return op;
}

const openApiMethods = new Set(["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"]);

const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: "null" }] });

/** Generates JSON-profile schemas into `components.schemas`. */
class SchemaGen {
  constructor(private readonly schemas: Record<string, Schema>) {}

  messageRef(desc: DescMessage): Schema {
    const wkt = wellKnown(desc);
    if (wkt) return wkt;
    const name = desc.typeName;
    if (!this.schemas[name]) {
      this.schemas[name] = {}; // placeholder: recursive types
      const properties: Record<string, Schema> = {};
      for (const f of desc.fields) properties[f.jsonName] = this.fieldOutput(f);
      this.schemas[name] = { type: "object", additionalProperties: false, required: desc.fields.map((f) => f.jsonName), properties };
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  /** A oneof-only stream message is sent as its set member. */
  streamItem(desc: DescMessage): Schema {
    const o = desc.oneofs.length === 1 && desc.oneofs[0]!.fields.length === desc.fields.length ? desc.oneofs[0]! : undefined;
    if (!o) return this.messageRef(desc);
    const members = o.fields.filter((f) => !(f.name === "heartbeat" || (f.fieldKind === "message" && f.message.name === "Heartbeat")));
    const schemas = members.map((f) => this.valueOutput(f));
    return schemas.length === 1 ? schemas[0]! : { oneOf: schemas };
  }

  fieldOutput(f: DescField): Schema {
    const s = this.valueOutput(f);
    const isNullable = f.oneof !== undefined || f.fieldKind === "message" || ((f.fieldKind === "scalar" || f.fieldKind === "enum") && f.presence === FeatureSet_FieldPresence.EXPLICIT);
    return isNullable ? nullable(s) : s;
  }

  private valueOutput(f: DescField): Schema {
    switch (f.fieldKind) {
      case "scalar":
        return scalarOutput(f.scalar);
      case "enum":
        return { type: "string", enum: enumWords(f.enum) };
      case "message":
        return this.messageRef(f.message);
      case "list":
        return {
          type: "array",
          items: f.listKind === "scalar" ? scalarOutput(f.scalar) : f.listKind === "enum" ? { type: "string", enum: enumWords(f.enum) } : this.messageRef(f.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties: f.mapKind === "scalar" ? scalarOutput(f.scalar) : f.mapKind === "enum" ? { type: "string", enum: enumWords(f.enum) } : this.messageRef(f.message),
        };
    }
  }

  messageInput(desc: DescMessage, omit?: Set<DescField>): Schema {
    const wkt = wellKnown(desc);
    if (wkt) return wkt;
    const build = (): Schema => {
      const properties: Record<string, Schema> = {};
      for (const f of desc.fields) if (!omit?.has(f)) properties[f.jsonName] = this.fieldInput(f);
      return { type: "object", additionalProperties: false, properties };
    };
    if (omit && omit.size > 0) return build();
    const name = `${desc.typeName}.Input`;
    if (!this.schemas[name]) {
      this.schemas[name] = {};
      this.schemas[name] = build();
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  fieldInput(f: DescField): Schema {
    let s: Schema;
    switch (f.fieldKind) {
      case "message":
        s = this.messageInput(f.message);
        break;
      case "list":
        s = { type: "array", items: f.listKind === "message" ? this.messageInput(f.message) : this.scalarInput(f) };
        break;
      case "map":
        s = { type: "object", additionalProperties: f.mapKind === "message" ? this.messageInput(f.message) : f.mapKind === "enum" ? { type: "string", enum: enumWords(f.enum) } : scalarInput(f.scalar) };
        break;
      default:
        s = this.scalarInput(f);
    }
    return nullable(s);
  }

  /** The input schema of a scalar or enum field (or the element of a repeated one). */
  scalarInput(f: DescField): Schema {
    if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) return { type: "string", enum: enumWords(f.enum) };
    if (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) return scalarInput(f.scalar);
    return {};
  }
}

function scalarOutput(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return { anyOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }] };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "integer", format: "int64" };
    default:
      return { type: "integer", format: "int32" };
  }
}

function scalarInput(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BOOL:
    case ScalarType.BYTES:
      return scalarOutput(t);
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return { anyOf: [{ type: "number" }, { type: "string" }] };
    default:
      return { anyOf: [scalarOutput(t), { type: "string", pattern: "^-?[0-9]+$" }] };
  }
}

function wellKnown(desc: DescMessage): Schema | undefined {
  switch (desc.typeName) {
    case "google.protobuf.Struct":
      return { type: "object" };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
    case "google.protobuf.FieldMask":
      return { type: "string" };
    case "google.protobuf.Empty":
    case "google.protobuf.Any":
      return { type: "object" };
    case "google.protobuf.StringValue":
    case "google.protobuf.BytesValue":
      return { type: "string" };
    case "google.protobuf.BoolValue":
      return { type: "boolean" };
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return { type: ["integer", "string"] };
    case "google.protobuf.FloatValue":
    case "google.protobuf.DoubleValue":
      return { type: ["number", "string"] };
  }
  return undefined;
}
