/** What a caller may do: `manage` sessions and keys, `read` events. */
export type Capability = "manage" | "read";

/** Every capability, in a stable order. */
export const allCapabilities: readonly Capability[] = ["manage", "read"];

/** The authenticated caller of one request. */
export interface Principal {
  /** How the caller authenticated. */
  kind: "api_key" | "user";
  /** The only organization the caller can see. */
  organizationId: string;
  /** JWT `sub` for users; the key's creator (if known) for API keys. */
  userId: string | undefined;
  /** The API key id when `kind` is `api_key`. */
  apiKeyId: string | undefined;
  capabilities: ReadonlySet<Capability>;
}

const roleCapabilities: Record<string, readonly Capability[]> = {
  owner: ["manage", "read"],
  admin: ["manage", "read"],
  member: ["read"],
  viewer: ["read"],
};

/** Capabilities of a login role; unknown roles get none. */
export function capabilitiesOfRole(role: string): Capability[] {
  return [...(roleCapabilities[role.toLowerCase()] ?? [])];
}

/** Narrows a string to a {@link Capability}. */
export function isCapability(s: string): s is Capability {
  return (allCapabilities as readonly string[]).includes(s);
}
