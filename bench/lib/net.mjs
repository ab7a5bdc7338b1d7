// Loopback ports: picking a free one, and finding which process really listens on one (to show
// that "workerd direct" is served by workerd and not by a Node proxy).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

function listeningInodes(port) {
  const inodes = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const localPort = parseInt(f[1].split(":")[1], 16);
      if (localPort === port && f[3] === "0A") inodes.add(f[9]);
    }
  }
  return inodes;
}

/**
 * The processes holding a listening socket on `port`.
 * @returns {{ pid: number, comm: string }[]}
 */
export function listenersOf(port) {
  const inodes = listeningInodes(port);
  const found = [];
  if (inodes.size === 0) return found;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds;
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1])) {
        found.push({
          pid: Number(entry),
          comm: readFileSync(`/proc/${entry}/comm`, "utf8").trim(),
        });
        break;
      }
    }
  }
  return found;
}
