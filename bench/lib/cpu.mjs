// CPU time of server process trees, read from /proc/<pid>/stat (utime + stime, plus cutime +
// cstime for children that already exited and were waited for), by process name.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

function clockTicksPerSecond() {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}

const MS_PER_TICK = 1000 / clockTicksPerSecond();

/** @returns {Map<number, { ppid: number, comm: string, ticks: number }>} */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      // after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      table.set(Number(entry), { ppid: Number(f[1]), comm, ticks });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/**
 * CPU milliseconds used so far by the given processes and all their descendants, by name.
 * @param {number[]} roots
 * @returns {{ totalMs: number, byName: Record<string, number>, byProcess: Record<string, number> }}
 */
export function treeCpu(roots) {
  const table = processTable();
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  /** @type {Record<string, number>} */
  const byName = {};
  /** @type {Record<string, number>} */
  const byProcess = {};
  let totalMs = 0;
  const seen = new Set();
  const stack = roots.filter((pid) => table.has(pid));
  while (stack.length) {
    const pid = stack.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    const p = table.get(pid);
    const ms = p.ticks * MS_PER_TICK;
    byName[p.comm] = (byName[p.comm] ?? 0) + ms;
    byProcess[`${p.comm} ${pid}`] = ms;
    totalMs += ms;
    stack.push(...(children.get(pid) ?? []));
  }
  return { totalMs, byName, byProcess };
}

function subtract(before, after) {
  const out = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)]))
    out[key] = Math.max(0, (after[key] ?? 0) - (before[key] ?? 0));
  return out;
}

/**
 * What the processes used between two readings.
 * @param {ReturnType<typeof treeCpu>} before
 * @param {ReturnType<typeof treeCpu>} after
 */
export function cpuDelta(before, after) {
  return {
    totalMs: Math.max(0, after.totalMs - before.totalMs),
    byName: subtract(before.byName, after.byName),
    byProcess: subtract(before.byProcess, after.byProcess),
  };
}

/** CPU milliseconds this process (the load generator) has used so far. */
export function ownCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** "node ×2, workerd ×2, esbuild": what runs under the given processes. */
export function describeTree(roots) {
  const counts = {};
  for (const key of Object.keys(treeCpu(roots).byProcess)) {
    const name = key.slice(0, key.lastIndexOf(" "));
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return Object.entries(counts)
    .map(([name, n]) => (n > 1 ? `${name} ×${n}` : name))
    .join(", ");
}

/** Busy CPU milliseconds of the whole machine so far (all cores, from /proc/stat). */
export function machineBusyMs() {
  const fields = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy
  const busy = fields.reduce((a, b) => a + b, 0) - fields[3] - (fields[4] ?? 0);
  return busy * MS_PER_TICK;
}
