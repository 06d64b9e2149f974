import { type Queryable, sql } from "../db/index.ts";

export interface NodeRow {
  id: string;
  hostname: string;
  pid: number;
  isLeader: boolean;
  startedAt: Date;
  heartbeatAt: Date;
}

/** Records that this node is alive (and whether it leads). */
export async function heartbeat(
  db: Queryable,
  n: { id: string; hostname: string; pid: number; isLeader: boolean },
): Promise<void> {
  await db.query(sql`
    INSERT INTO kronos_nodes (id, hostname, pid, is_leader) VALUES (${n.id}, ${n.hostname}, ${n.pid}, ${n.isLeader})
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), is_leader = excluded.is_leader`);
}

/** Nodes seen within `withinMs`; older rows are removed on the way (a node that stopped). */
export async function listAlive(db: Queryable, p: { withinMs: number }): Promise<NodeRow[]> {
  await db.query(
    sql`DELETE FROM kronos_nodes WHERE heartbeat_at < now() - ${p.withinMs * 10} * interval '1 millisecond'`,
  );
  return db.query<NodeRow>(sql`
    SELECT id, hostname, pid, is_leader AS "isLeader", started_at AS "startedAt", heartbeat_at AS "heartbeatAt"
    FROM kronos_nodes WHERE heartbeat_at >= now() - ${p.withinMs} * interval '1 millisecond'
    ORDER BY started_at`);
}

export async function remove(db: Queryable, p: { id: string }): Promise<void> {
  await db.query(sql`DELETE FROM kronos_nodes WHERE id = ${p.id}`);
}

/** Takes the leader lock if free, on the caller's dedicated connection. */
export async function tryLeaderLock(conn: Queryable, p: { key: number }): Promise<boolean> {
  const [row] = await conn.query<{ ok: boolean }>(sql`SELECT pg_try_advisory_lock(${p.key}) AS ok`);
  return row?.ok === true;
}

export async function releaseLeaderLock(conn: Queryable, p: { key: number }): Promise<void> {
  await conn.query(sql`SELECT pg_advisory_unlock(${p.key})`);
}

/** Cheap round trip to prove the lock's connection is still there. */
export async function ping(conn: Queryable): Promise<void> {
  await conn.query(sql`SELECT 1`);
}
