import { type DescField, type DescMessage, type DescMethod, type DescService, getOption } from "@bufbuild/protobuf";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import { http } from "../../gen/google/api/annotations_pb.js";
import { http_success_status } from "../../gen/wagateway/v1/http_options_pb.js";
import { type PathTemplate, parsePathTemplate } from "./path-template.js";

/** A request field bound by a path variable. */
export interface PathField {
  /** Dotted proto name, e.g. `book.id`. */
  name: string;
  /** The fields from the request message down to the bound scalar. */
  fields: DescField[];
}

/** A query parameter accepted by a binding. */
export interface QueryField {
  /** The canonical (lowerCamel, dotted) name. */
  name: string;
  /** The fields from the request message down to the scalar (or repeated scalar). */
  fields: DescField[];
}

/** One REST binding of an RPC: an HTTP method and path template plus body rules. */
export interface HttpBinding {
  method: DescMethod;
  /** Upper-case HTTP method. */
  httpMethod: string;
  template: PathTemplate;
  pathFields: PathField[];
  /** `*` for the whole message, a field for `body: "field"`, undefined for no body. */
  body: "*" | DescField | undefined;
  /** The response field sent as the body (`response_body`), if any. */
  responseBody: DescField | undefined;
  /** Query parameters by every accepted spelling (JSON and proto names). */
  query: Map<string, QueryField>;
  /** The canonical query parameters, for documentation. */
  queryFields: QueryField[];
  /**
   * Success status: the method's `(wagateway.v1.http_success_status)` when
   * set; else 201 for POST of a `Create*` method, 204 for an empty response,
   * else 200.
   */
  successStatus: number;
  /**
   * True when the response (or its `response_body` field) is a
   * `google.api.HttpBody`: the body is its raw `data` with its
   * `content_type` instead of JSON (streamed: the first message's type).
   */
  httpBody: boolean;
}

/** The well-known raw-body message of HTTP transcoding. */
const httpBodyTypeName = "google.api.HttpBody";

/** An annotation that cannot be served; start-up fails with it. */
export class HttpRuleError extends Error {
  override name = "HttpRuleError";
}

/** Reads the `google.api.http` rule (and its additional bindings) of every method of `services`. */
export function readHttpBindings(services: Iterable<DescService>): HttpBinding[] {
  const out: HttpBinding[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      const rule = getOption(method, http);
      if (rule.pattern.case === undefined) continue;
      out.push(toBinding(method, rule));
      for (const extra of rule.additionalBindings) {
        if (extra.additionalBindings.length > 0) throw new HttpRuleError(`${method.parent.typeName}.${method.name}: nested additional_bindings`);
        out.push(toBinding(method, extra));
      }
    }
  }
  return out;
}

function toBinding(method: DescMethod, rule: HttpRule): HttpBinding {
  const where = `${method.parent.typeName}.${method.name}`;
  let httpMethod: string;
  let path: string;
  switch (rule.pattern.case) {
    case "custom":
      httpMethod = rule.pattern.value.kind.toUpperCase();
      path = rule.pattern.value.path;
      break;
    case undefined:
      throw new HttpRuleError(`${where}: http rule without a pattern`);
    default:
      httpMethod = rule.pattern.case.toUpperCase();
      path = rule.pattern.value;
  }
  const template = parsePathTemplate(path);
  const input = method.input;
  const pathFields = template.variables.map((v) => {
    const fields = resolveFieldPath(input, v.fieldPath, where);
    const leaf = fields[fields.length - 1]!;
    if (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum") {
      throw new HttpRuleError(`${where}: path variable "${v.fieldPath.join(".")}" must name a scalar field`);
    }
    return { name: v.fieldPath.join("."), fields };
  });
  let body: HttpBinding["body"];
  if (rule.body === "*") body = "*";
  else if (rule.body !== "") {
    body = input.fields.find((f) => f.name === rule.body);
    if (!body) throw new HttpRuleError(`${where}: body field "${rule.body}" not found`);
  }
  let responseBody: DescField | undefined;
  if (rule.responseBody !== "") {
    responseBody = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBody) throw new HttpRuleError(`${where}: response_body field "${rule.responseBody}" not found`);
  }
  const queryFields: QueryField[] = [];
  const query = new Map<string, QueryField>();
  if (body !== "*") {
    const bound = new Set(pathFields.map((p) => p.fields[p.fields.length - 1]!));
    if (body) bound.add(body);
    collectQueryFields(input, [], [], [], bound, queryFields, query, new Set([input.typeName]));
  }
  const empty = (responseBody === undefined && method.output.fields.length === 0);
  const explicit = getOption(method, http_success_status);
  if (explicit !== 0 && (explicit < 200 || explicit > 299)) throw new HttpRuleError(`${where}: http_success_status ${explicit} is not a 2xx status`);
  const successStatus = explicit !== 0 ? explicit : empty ? 204 : httpMethod === "POST" && method.name.startsWith("Create") ? 201 : 200;
  const httpBody = responseBody
    ? responseBody.fieldKind === "message" && responseBody.message.typeName === httpBodyTypeName
    : method.output.typeName === httpBodyTypeName;
  return { method, httpMethod, template, pathFields, body, responseBody, query, queryFields, successStatus, httpBody };
}

function resolveFieldPath(message: DescMessage, names: string[], where: string): DescField[] {
  const out: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of names) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (!field) throw new HttpRuleError(`${where}: field "${names.join(".")}" not found in ${message.typeName}`);
    out.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return out;
}

function collectQueryFields(
  message: DescMessage,
  prefix: DescField[],
  jsonPrefix: string[],
  protoPrefix: string[],
  bound: Set<DescField>,
  out: QueryField[],
  byName: Map<string, QueryField>,
  visiting: Set<string>,
): void {
  for (const field of message.fields) {
    if (bound.has(field)) continue;
    const fields = [...prefix, field];
    const leafKind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
    if (leafKind === "scalar" || leafKind === "enum") {
      const qf = { name: [...jsonPrefix, field.jsonName].join("."), fields };
      out.push(qf);
      byName.set(qf.name, qf);
      byName.set([...protoPrefix, field.name].join("."), qf);
    } else if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) {
      if (visiting.has(field.message.typeName) || fields.length > 4) continue;
      visiting.add(field.message.typeName);
      collectQueryFields(field.message, fields, [...jsonPrefix, field.jsonName], [...protoPrefix, field.name], bound, out, byName, visiting);
      visiting.delete(field.message.typeName);
    }
  }
}
