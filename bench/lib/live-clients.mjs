// @ts-check
// A second process of simulated storefronts for `npm run bench:reads`: opens N live sockets to
// /api/products/:id/live (Node's own WebSocket client), counts the frames they receive, and
// reports over IPC. Run as a child (fork) so the sockets' work never shares the load generator's
// event loop. Messages in: {url, productId, count}; "report"; "close". Out: {opened, failed,
// refused, frames, messages}.
const sockets = [];
let opened = 0;
let failed = 0;
let frames = 0;

process.on("message", async (message) => {
  if (message === "report") {
    process.send?.({ opened, failed, frames });
  } else if (message === "close") {
    for (const socket of sockets) socket.close();
    process.send?.({ closed: true });
    setTimeout(() => process.exit(0), 200);
  } else if (typeof message === "object" && message && "url" in message) {
    const { url, productId, count } =
      /** @type {{url: string, productId: number, count: number}} */ (message);
    const wsUrl = `${url.replace(/^http/, "ws")}/api/products/${productId}/live`;
    // Open in batches, so the server is not asked for thousands of upgrades in the same instant.
    for (let i = 0; i < count; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => openOne(wsUrl)));
    }
    process.send?.({ opened, failed, frames });
  }
});

/** @param {string} url */
function openOne(url) {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.onopen = () => {
      opened++;
      sockets.push(socket);
      resolve(undefined);
    };
    socket.onmessage = () => void frames++;
    socket.onerror = () => {
      failed++;
      resolve(undefined);
    };
  });
}
