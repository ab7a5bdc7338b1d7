// "baseline": the classic design (node:http + pg Pool + PostgreSQL row locks) on a throwaway cluster.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { findPostgres, startCluster } from "../baseline-postgres/cluster.mjs";
import { call } from "../lib/http.mjs";
import { freePort } from "../lib/net.mjs";
import { startGroup, stopGroup, waitFor } from "../lib/processes.mjs";

const SERVER = fileURLToPath(new URL("../baseline-postgres/server.mjs", import.meta.url));
const SCHEMA = fileURLToPath(new URL("../baseline-postgres/schema.sql", import.meta.url));

/** Pool size for 2 cores: enough to keep PostgreSQL busy, few enough not to thrash on one row lock. */
export const DEFAULT_POOL_SIZE = 10;

/**
 * @param {{ tmp: string, poolSize?: number }} options
 * @returns {Promise<object | { skipped: string }>}
 */
export async function startBaseline({ tmp, poolSize = DEFAULT_POOL_SIZE }) {
  const postgres = findPostgres();
  if (!postgres)
    return {
      skipped:
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres); install Debian's `postgresql` package to run the baseline.",
    };

  const dir = join(tmp, "baseline");
  mkdirSync(dir, { recursive: true });
  const cluster = await startCluster({ dir: join(dir, "pg"), bin: postgres.bin });
  const pgEnv = {
    PGHOST: cluster.socketDir,
    PGPORT: String(cluster.port),
    PGUSER: cluster.user,
    PGDATABASE: "postgres",
  };

  const client = new pg.Client({
    host: cluster.socketDir,
    port: cluster.port,
    user: cluster.user,
    database: "postgres",
  });
  await client.connect();
  await client.query(readFileSync(SCHEMA, "utf8"));
  const settings = Object.fromEntries(
    (
      await client.query(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_sync_method')",
      )
    ).rows.map((r) => [r.name, r.setting]),
  );
  const version = (await client.query("SHOW server_version")).rows[0].server_version;
  await client.end();

  const port = await freePort();
  let server;
  try {
    server = startGroup("baseline server (node:http)", process.execPath, [SERVER], {
      logFile: join(dir, "server.log"),
      env: {
        ...process.env,
        ...pgEnv,
        PORT: String(port),
        PG_POOL_SIZE: String(poolSize),
        ADMIN_TOKEN: "dev-admin-token",
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      "the baseline server",
      async () => (await call(url, "GET", "/healthz")).status === 200,
      { started: server, timeoutMs: 15_000 },
    );
    return {
      key: "baseline",
      label: "baseline (PostgreSQL)",
      url,
      serverPids: () => [server.pid, ...cluster.pids()],
      description: `node:http (no framework), one Node process, pg Pool of ${poolSize}; PostgreSQL ${version} over a Unix socket, server settings at defaults (fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, shared_buffers=${settings.shared_buffers}×8kB). CPU counts the Node server and all PostgreSQL processes.`,
      postgres: { version, settings, poolSize },
      stop: async () => {
        await stopGroup(server);
        await cluster.stop();
      },
    };
  } catch (error) {
    if (server) await stopGroup(server);
    await cluster.stop();
    throw error;
  }
}
