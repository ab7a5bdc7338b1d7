// A throwaway PostgreSQL cluster: initdb into a temporary directory, a postmaster that listens only
// on a Unix socket in that directory, and everything removed afterwards. Server settings are left
// at PostgreSQL's defaults (fsync on, synchronous_commit on, shared_buffers 128MB, ...).
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startGroup, stopGroup, waitFor } from "../lib/processes.mjs";

/** The newest Debian PostgreSQL server binaries, or null when PostgreSQL is not installed. */
export function findPostgres() {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter(
      (v) =>
        existsSync(join(base, v, "bin", "initdb")) && existsSync(join(base, v, "bin", "postgres")),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? { version: versions[0], bin: join(base, versions[0], "bin") } : null;
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user (or nobody). */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  for (const user of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      return { uid, gid, user };
    } catch {
      // no such user
    }
  }
  throw new Error(
    "running as root and neither a postgres nor a nobody user exists to run PostgreSQL as",
  );
}

/**
 * @param {{ dir: string, bin: string }} options dir: an empty directory for the cluster
 * @returns {Promise<{ socketDir: string, port: number, user: string, stop: () => Promise<void>, pids: () => number[] }>}
 */
export async function startCluster({ dir, bin }) {
  const owner = runAs();
  const data = join(dir, "data");
  const socketDir = join(dir, "socket");
  mkdirSync(socketDir, { recursive: true });
  if (owner.uid !== undefined) {
    chmodSync(dir, 0o755);
    chownSync(dir, owner.uid, owner.gid);
    chownSync(socketDir, owner.uid, owner.gid);
  }
  // --no-sync only skips fsync of initdb's own files; the running server keeps fsync on.
  execFileSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
    {
      uid: owner.uid,
      gid: owner.gid,
      cwd: dir,
      stdio: "pipe",
    },
  );
  const port = 5432; // only names the socket file inside our private socket directory
  const postmaster = startGroup(
    "postgres",
    join(bin, "postgres"),
    ["-D", data, "-k", socketDir, "-p", String(port), "-c", "listen_addresses="],
    { logFile: join(dir, "postgres.log"), uid: owner.uid, gid: owner.gid, cwd: dir },
  );
  await waitFor(
    "PostgreSQL to accept connections",
    () => {
      try {
        execFileSync(join(bin, "pg_isready"), ["-q", "-h", socketDir, "-p", String(port)]);
        return true;
      } catch {
        return false;
      }
    },
    { started: postmaster, timeoutMs: 30_000 },
  );
  return {
    socketDir,
    port,
    user: "postgres",
    pids: () => [postmaster.pid],
    // SIGINT to the postmaster is PostgreSQL's "fast" shutdown.
    stop: () => stopGroup(postmaster, { signal: "SIGINT", leaderOnly: true, graceMs: 10_000 }),
  };
}
