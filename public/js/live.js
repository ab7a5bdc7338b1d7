// The live feed of a product: a WebSocket to /api/products/:id/live (optionally following a queue
// ticket) that reconnects with backoff when it drops, and falls back to polling when WebSockets
// do not get through (an old proxy, a corporate network) or the product has as many sockets open as
// it allows (503 live_full, which a browser only sees as a socket that never opened), so the page
// never shows a stale counter. While the socket is open the page does not poll at all.

const HEARTBEAT_MS = 25_000; // the object answers "ping" with "pong"
const SILENCE_MS = 60_000; // no frame and no pong for this long: the line is dead
const MAX_BACKOFF_MS = 30_000;
const FAILURES_BEFORE_POLLING = 3;

/** @typedef {import("./api-types.js").LiveFrame} LiveFrame */
/** @typedef {"connecting" | "live" | "reconnecting" | "polling"} LiveMode */

export class LiveFeed {
  /**
   * @param {object} options
   * @param {() => string} options.path the socket's path, read at every (re)connect
   * @param {(frame: LiveFrame) => void} options.onFrame each message ({type: "stock"|"queue", …})
   * @param {() => Promise<LiveFrame[]>} options.poll frames from plain HTTP, used while polling
   * @param {(mode: LiveMode) => void} [options.onMode]
   * @param {number} [options.pollEveryMs]
   */
  constructor({ path, onFrame, poll, onMode = () => {}, pollEveryMs = 3_000 }) {
    this.path = path;
    this.onFrame = onFrame;
    this.poll = poll;
    this.onMode = onMode;
    this.pollEveryMs = pollEveryMs;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.failures = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reconnectTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pollTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeatTimer = undefined;
    this.lastHeard = 0;
    this.stopped = true;
    this.onVisible = () => {
      // Phones suspend sockets in background tabs: reconnect at once when the page is back.
      if (document.visibilityState === "visible" && !this.isOpen()) this.reconnectNow();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    document.removeEventListener("visibilitychange", this.onVisible);
    clearTimeout(this.reconnectTimer);
    this.stopPolling();
    this.drop();
  }

  /** The path changed (a queue ticket to follow, or no longer): open a new socket. */
  restart() {
    if (this.stopped) return;
    this.failures = 0;
    this.reconnectNow();
  }

  isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  reconnectNow() {
    clearTimeout(this.reconnectTimer);
    this.drop();
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    if (typeof WebSocket !== "function") {
      this.startPolling();
      return;
    }
    this.onMode(this.failures === 0 ? "connecting" : this.pollTimer ? "polling" : "reconnecting");
    const url = new URL(this.path(), location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.lastHeard = 0;
    socket.onopen = () => {
      this.failures = 0;
      this.lastHeard = Date.now();
      this.stopPolling();
      this.onMode("live");
      this.startHeartbeat();
    };
    socket.onmessage = (event) => {
      this.lastHeard = Date.now();
      if (event.data === "pong") return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not ours to understand
      }
      for (const frame of Array.isArray(message) ? message : [message]) this.onFrame(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return; // an old socket we already let go of
      const neverOpened = this.lastHeard === 0;
      this.drop();
      // Refused before it opened (live_full, a proxy): poll at once, try the socket with backoff.
      if (neverOpened) this.startPolling();
      this.scheduleReconnect();
    };
  }

  /** Let go of the current socket without waiting for its closing handshake. */
  drop() {
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close();
    } catch {
      // already closed
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.failures += 1;
    // After a few failures in a row, poll meanwhile; keep trying the socket, less often.
    if (this.failures >= FAILURES_BEFORE_POLLING) this.startPolling();
    this.onMode(this.pollTimer ? "polling" : "reconnecting");
    const base = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** (this.failures - 1));
    const delay = base / 2 + Math.random() * (base / 2); // jitter: not every page at once
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (!this.isOpen()) return;
      if (Date.now() - this.lastHeard > SILENCE_MS) {
        this.drop();
        this.scheduleReconnect();
        return;
      }
      this.socket?.send("ping");
    }, HEARTBEAT_MS);
  }

  startPolling() {
    if (this.pollTimer || this.stopped) return;
    this.onMode("polling");
    const pollOnce = async () => {
      try {
        for (const frame of await this.poll()) this.onFrame(frame);
      } catch {
        // The page shows API errors where the shopper acts; a failed poll just waits for the next.
      }
    };
    void pollOnce();
    this.pollTimer = setInterval(pollOnce, this.pollEveryMs);
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }
}
