const NOISE = /^(Closing session|Opening session|Removing old closed session|Closing open session in favor|Session already (closed|open)|Decrypted message with closed session)/;

/**
 * Drops libsignal's routine session chatter (`Closing session: SessionEntry {…}` dumps and the like,
 * trap 7) from `console.info`/`console.warn` in this process. Errors still print. Returns undo.
 */
export function quietLibsignal(): () => void {
  const { info, warn } = console;
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && NOISE.test(args[0])) return;
      original.apply(console, args);
    };
  console.info = filter(info);
  console.warn = filter(warn);
  return () => {
    console.info = info;
    console.warn = warn;
  };
}
