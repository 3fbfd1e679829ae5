/** Advisory-lock namespace of gateway liveness locks: "wagx" in ASCII. */
export const livenessLockSpace = 0x77616778;

/**
 * SQL condition on a `gateways` row aliased `g`: the gateway is live. Its
 * heartbeat has not lapsed and its process still holds its liveness lock (a
 * crashed process loses the lock with its connection, so it counts as gone
 * at once; a paused one once its heartbeat lapses). `pg_locks` spans the
 * whole server, hence the database filter.
 */
export const liveCondition = `g.expires_at > now()
  and exists (
    select 1 from pg_locks k
    where k.locktype = 'advisory' and k.granted and k.objsubid = 2
      and k.database = (select oid from pg_database where datname = current_database())
      and k.classid = ${livenessLockSpace}::oid and k.objid = g.lock_no::oid)`;

/** SQL subquery: the ids of live gateways. */
export const liveGatewayIds = `(select g.id from gateways g where ${liveCondition})`;
