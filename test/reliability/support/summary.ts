/** Prints a part's one-line summary of what it held (shown by vitest under the test). */
export function summary(line: string): void {
  console.log(`reliability | ${line}`);
}

/** `1234567` → `1,234,567`. */
export const n = (x: number) => x.toLocaleString("en-US");
