// Server processes the bench starts: each in its own process group, so that stopping one also
// stops whatever it forked (workerd under Node, PostgreSQL backends under the postmaster), and
// nothing is left behind when the bench ends, fails or is interrupted.
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** @typedef {{ name: string, child: import("node:child_process").ChildProcess, pid: number, logFile: string, exited: Promise<number | null>, exitCode: number | null | undefined }} Started */

/** @type {Set<Started>} */
const running = new Set();

/**
 * Start `command` in a new process group, its output appended to `logFile`.
 * @param {string} name what it is, for messages
 * @param {string} command
 * @param {string[]} args
 * @param {{ logFile: string, env?: NodeJS.ProcessEnv, cwd?: string, uid?: number, gid?: number }} options
 * @returns {Started}
 */
export function startGroup(name, command, args, { logFile, env = process.env, cwd, uid, gid }) {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, {
    cwd,
    env,
    uid,
    gid,
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  /** @type {Started} */
  const started = {
    name,
    child,
    pid: /** @type {number} */ (child.pid),
    logFile,
    exitCode: undefined,
    exited: Promise.resolve(null),
  };
  started.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      started.exitCode = code ?? (signal ? -1 : null);
      resolve(started.exitCode);
    });
    child.on("error", () => {
      started.exitCode = -1;
      resolve(-1);
    });
  });
  running.add(started);
  return started;
}

/** Pids of every live process whose process group is `pgid`. */
export function groupMembers(pgid) {
  const members = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") members.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return members;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Stop a started group: `signal` to its leader (or the whole group), then SIGKILL to the whole
 * group if anything is still there after `graceMs`. Resolves once no member is left.
 * @param {Started} started
 * @param {{ signal?: NodeJS.Signals, leaderOnly?: boolean, graceMs?: number }} [options]
 */
export async function stopGroup(
  started,
  { signal = "SIGTERM", leaderOnly = false, graceMs = 8000 } = {},
) {
  if (leaderOnly) {
    try {
      process.kill(started.pid, signal);
    } catch {
      // already gone
    }
  } else {
    signalGroup(started.pid, signal);
  }
  const deadline = Date.now() + graceMs;
  while (groupMembers(started.pid).length > 0 && Date.now() < deadline) await sleep(50);
  if (groupMembers(started.pid).length > 0) {
    signalGroup(started.pid, "SIGKILL");
    while (groupMembers(started.pid).length > 0) await sleep(50);
  }
  running.delete(started);
}

/** Last lines of a started process's log, for error messages. */
export function logTail(started, lines = 20) {
  try {
    return readFileSync(started.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Poll `check` until it returns a truthy value; fail early if `started` exits meanwhile.
 * @template T
 * @param {string} what
 * @param {() => Promise<T> | T} check
 * @param {{ started?: Started, timeoutMs?: number, intervalMs?: number }} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(what, check, { started, timeoutMs = 60_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started && started.exitCode !== undefined) {
      throw new Error(
        `${started.name} exited (code ${started.exitCode}) while waiting for ${what}:\n${logTail(started)}`,
      );
    }
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${started ? `:\n${logTail(started)}` : ""}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** Last resort on exit: SIGKILL every group still running (synchronous, for process "exit"). */
function killAllNow() {
  for (const started of running) signalGroup(started.pid, "SIGKILL");
  running.clear();
}

/** Stop every group still running, politely first. */
export async function stopAll() {
  for (const started of [...running].reverse()) await stopGroup(started, { graceMs: 3000 });
}

process.on("exit", killAllNow);
for (const signal of /** @type {NodeJS.Signals[]} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping the servers it started…`);
    stopAll().finally(() => process.exit(130));
  });
}

/** Run a bench entry point: whatever happens, stop every process it started, then exit with its code. */
export function runMain(main) {
  main()
    .catch((error) => {
      console.error(error);
      return 1;
    })
    .then(async (code) => {
      await stopAll();
      process.exit(code ?? 0);
    });
}
