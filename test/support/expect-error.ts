import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { type ErrorWord, errorFields, errorWord } from "../../src/errors/api-error.js";

/** Awaits `p`, expects it to fail with the contract word (and protocol code); returns the error. */
export async function expectApiError(p: Promise<unknown>, word: ErrorWord, code?: Code): Promise<ConnectError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${word} error`).toBeInstanceOf(ConnectError);
  const ce = caught as ConnectError;
  expect({ word: errorWord(ce), message: ce.rawMessage }).toMatchObject({ word });
  if (code !== undefined) expect(Code[ce.code]).toBe(Code[code]);
  return ce;
}

export { errorFields };
