/** The wire protocols the gateway serves to generated clients. */
export type Protocol = "grpc" | "connect" | "grpc-web";

/** The protocols, in the order `--help` texts list them. */
export const protocols: readonly Protocol[] = ["connect", "grpc", "grpc-web"];

/** True when `value` names a {@link Protocol}. */
export function isProtocol(value: unknown): value is Protocol {
  return typeof value === "string" && (protocols as readonly string[]).includes(value);
}
