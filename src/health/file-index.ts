import type { DescFile, DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";

/** Proto files by name and by the symbols they declare, for server reflection. */
export interface FileIndex {
  file(name: string): DescFile | undefined;
  /** The file declaring a fully-qualified message, enum, service, method, field, enum value or extension. */
  fileOfSymbol(symbol: string): DescFile | undefined;
  /** The file declaring extension `number` of message `extendee`. */
  fileOfExtension(extendee: string, number: number): DescFile | undefined;
  /** Every known extension number of message `extendee`. */
  extensionNumbers(extendee: string): number[];
  /** `file` followed by its transitive imports. */
  withDependencies(file: DescFile): DescFile[];
}

/** Indexes the files of `services` and everything they import. */
export function createFileIndex(services: readonly DescService[]): FileIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const add = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) add(dep);
    for (const s of file.services) {
      symbols.set(s.typeName, file);
      for (const m of s.methods) symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const t of nestedTypes(file)) {
      symbols.set(t.typeName, file);
      if (t.kind === "message") for (const f of t.fields) symbols.set(`${t.typeName}.${f.name}`, file);
      if (t.kind === "enum") {
        // Enum values are scoped like siblings of their enum.
        const scope = t.typeName.slice(0, Math.max(0, t.typeName.lastIndexOf(".")));
        for (const v of t.values) symbols.set(scope ? `${scope}.${v.name}` : v.name, file);
      }
      if (t.kind === "extension") {
        const byNumber = extensions.get(t.extendee.typeName) ?? new Map<number, DescFile>();
        byNumber.set(t.number, file);
        extensions.set(t.extendee.typeName, byNumber);
      }
    }
  };
  for (const s of services) add(s.file);
  return {
    file: (name) => files.get(name),
    fileOfSymbol: (symbol) => symbols.get(symbol.replace(/^\./, "")),
    fileOfExtension: (extendee, number) => extensions.get(extendee.replace(/^\./, ""))?.get(number),
    extensionNumbers: (extendee) => [...(extensions.get(extendee.replace(/^\./, ""))?.keys() ?? [])].sort((a, b) => a - b),
    withDependencies(file) {
      const out: DescFile[] = [];
      const seen = new Set<string>();
      const visit = (f: DescFile) => {
        if (seen.has(f.proto.name)) return;
        seen.add(f.proto.name);
        out.push(f);
        for (const d of f.dependencies) visit(d);
      };
      visit(file);
      return out;
    },
  };
}
