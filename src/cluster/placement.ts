/** What placement needs to know of a live gateway. */
export interface PlacementGateway {
  id: string;
  name: string;
  capacity: number;
  draining: boolean;
  held: number;
}

/**
 * How many sessions each live gateway should hold: `runnable` spread evenly
 * over the gateways that are not draining, none above its capacity (what a
 * full gateway cannot take goes to the others). Draining gateways get 0.
 */
export function targetShares(gateways: readonly PlacementGateway[], runnable: number): Map<string, number> {
  const out = new Map<string, number>(gateways.map((g) => [g.id, 0]));
  const open = gateways.filter((g) => !g.draining).sort((a, b) => a.capacity - b.capacity || a.id.localeCompare(b.id));
  let left = runnable;
  open.forEach((g, i) => {
    const share = Math.min(g.capacity, Math.ceil(left / (open.length - i)));
    out.set(g.id, share);
    left -= share;
  });
  return out;
}

/** FNV-1a, 32 bits: a cheap, stable hash for rendezvous ordering. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Rendezvous score of a session on a gateway (by name, so a restarted gateway prefers the same sessions). */
export function affinity(sessionId: string, gatewayName: string): number {
  return fnv1a(`${sessionId}|${gatewayName}`);
}

/**
 * Orders candidate sessions for gateway `me`: first those for which `me`
 * scores highest among `names` (its natural share, so concurrent gateways
 * rarely race for the same session), then the rest by `me`'s score.
 */
export function preferenceOrder(sessionIds: readonly string[], me: string, names: readonly string[]): string[] {
  const scored = sessionIds.map((id) => {
    const mine = affinity(id, me);
    const top = names.every((n) => n === me || affinity(id, n) < mine);
    return { id, top, mine };
  });
  scored.sort((a, b) => Number(b.top) - Number(a.top) || b.mine - a.mine);
  return scored.map((s) => s.id);
}

/** What one reconciliation should do on gateway `me`. */
export interface PlacementPlan {
  /** How many unheld sessions to take now. */
  take: number;
  /** How many held sessions to hand over (rebalancing), at most a few per round. */
  handOver: number;
}

/**
 * Plans one round for gateway `me`: take unheld sessions up to its target
 * share; when rebalancing, hand over what exceeds the target by more than
 * one, but only while another gateway is below its own target (so sessions
 * move only to where they are wanted), at most `maxMoves` per round.
 */
export function planRound(
  gateways: readonly PlacementGateway[],
  me: string,
  runnable: number,
  opts: { rebalance: boolean; maxMoves: number },
): PlacementPlan {
  const targets = targetShares(gateways, runnable);
  const self = gateways.find((g) => g.id === me);
  if (!self) return { take: 0, handOver: 0 };
  const target = targets.get(me) ?? 0;
  const take = Math.max(0, target - self.held);
  let handOver = 0;
  if (self.draining) handOver = self.held;
  else if (opts.rebalance && self.held > target + 1) {
    const room = gateways.filter((g) => g.id !== me).reduce((sum, g) => sum + Math.max(0, (targets.get(g.id) ?? 0) - g.held), 0);
    handOver = Math.min(self.held - target, room, opts.maxMoves);
  }
  return { take, handOver };
}
