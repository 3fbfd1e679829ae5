import type { DescEnum, DescEnumValue } from "@bufbuild/protobuf";

interface EnumWords {
  byNumber: Map<number, string>;
  byWord: Map<string, DescEnumValue>;
}

const cache = new WeakMap<DescEnum, EnumWords>();

function wordsOf(e: DescEnum): EnumWords {
  let w = cache.get(e);
  if (!w) {
    const byNumber = new Map<number, string>();
    const byWord = new Map<string, DescEnumValue>();
    for (const v of e.values) {
      const word = enumValueWord(v);
      if (!byNumber.has(v.number)) byNumber.set(v.number, word);
      byWord.set(word, v);
      byWord.set(v.name.toLowerCase(), v);
    }
    cache.set(e, (w = { byNumber, byWord }));
  }
  return w;
}

/**
 * The contract's word for an enum value: its name without the enum's shared
 * prefix, in lowercase (`SESSION_STATUS_SCAN_QR_CODE` → `scan_qr_code`).
 */
export function enumValueWord(v: DescEnumValue): string {
  const lower = v.name.toLowerCase();
  const prefix = v.parent.sharedPrefix?.toLowerCase();
  return prefix && lower.startsWith(prefix) && lower.length > prefix.length ? lower.slice(prefix.length) : lower;
}

/** The word of `n`, or undefined for a number the enum does not declare. */
export function enumWordOf(e: DescEnum, n: number): string | undefined {
  return wordsOf(e).byNumber.get(n);
}

/** The value named by a word (or by its full proto name, any case), if any. */
export function enumValueOfWord(e: DescEnum, word: string): DescEnumValue | undefined {
  return wordsOf(e).byWord.get(word.toLowerCase());
}

/** Every word of the enum, in declaration order (for documentation). */
export function enumWords(e: DescEnum): string[] {
  return [...new Set(e.values.map(enumValueWord))];
}
