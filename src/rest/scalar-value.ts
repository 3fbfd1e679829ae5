import { type DescEnum, ScalarType } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { enumValueOfWord, enumWords } from "./enum-word.js";

/** A value that does not fit its field; the message says what is expected. */
export class ValueError extends Error {
  override name = "ValueError";
}

const int32Range = [-2147483648, 2147483647] as const;
const uint32Range = [0, 4294967295] as const;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const uint64Max = 2n ** 64n - 1n;
const float32Max = 3.4028234663852886e38;
const intRe = /^-?(0|[1-9][0-9]{0,30})$/;
const floatRe = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const base64Re = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Reads a scalar from a JSON value (or, with `fromText`, from a path or query
 * string): numbers or decimal strings for integers (int64 as bigint), `true`
 * / `false`, base64 for bytes. Throws a {@link ValueError} otherwise.
 */
export function readScalar(type: ScalarType, value: unknown, fromText: boolean, longAsString = false): unknown {
  switch (type) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw new ValueError("must be a string");
      return value;
    case ScalarType.BOOL:
      if (typeof value === "boolean") return value;
      if (fromText && value === "true") return true;
      if (fromText && value === "false") return false;
      throw new ValueError("must be true or false");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return readInt32(value, int32Range);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return readInt32(value, uint32Range);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64: {
      const n = readInt64(value, int64Min, int64Max);
      return longAsString ? n.toString() : n;
    }
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const n = readInt64(value, 0n, uint64Max);
      return longAsString ? n.toString() : n;
    }
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      let n: number;
      if (typeof value === "number") n = value;
      else if (typeof value === "string" && (value === "NaN" || value === "Infinity" || value === "-Infinity" || floatRe.test(value))) n = Number(value);
      else throw new ValueError("must be a number");
      if (type === ScalarType.FLOAT && Number.isFinite(n) && Math.abs(n) > float32Max) throw new ValueError("is out of range for a float");
      return n;
    }
    case ScalarType.BYTES:
      if (typeof value !== "string" || !base64Re.test(value)) throw new ValueError("must be base64");
      try {
        return base64Decode(value);
      } catch {
        throw new ValueError("must be base64");
      }
  }
}

function readInt32(value: unknown, [min, max]: readonly [number, number]): number {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && intRe.test(value)) n = Number(value);
  else throw new ValueError("must be an integer");
  if (!Number.isInteger(n)) throw new ValueError("must be an integer");
  if (n < min || n > max) throw new ValueError(`must be between ${min} and ${max}`);
  return n;
}

function readInt64(value: unknown, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new ValueError("must be an integer");
    if (!Number.isSafeInteger(value)) throw new ValueError("is too large for a JSON number: send it as a decimal string");
    n = BigInt(value);
  } else if (typeof value === "string" && intRe.test(value)) n = BigInt(value);
  else throw new ValueError("must be an integer");
  if (n < min || n > max) throw new ValueError(`must be between ${min} and ${max}`);
  return n;
}

/** Reads an enum from its lowercase word, its proto name or its number. */
export function readEnum(e: DescEnum, value: unknown): number {
  if (typeof value === "string") {
    const v = enumValueOfWord(e, value);
    if (v) return v.number;
  } else if (typeof value === "number" && Number.isInteger(value) && e.value[value]) {
    return value;
  }
  throw new ValueError(`must be one of ${enumWords(e).map((w) => JSON.stringify(w)).join(", ")}`);
}
