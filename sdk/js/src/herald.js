// Herald browser SDK (the `@herald/client` package): a dependency-free ES
// module, no build step. Herald serves this very file at /static/herald.js.
//
//   import { Herald } from "@herald/client"; // or "/static/herald.js"
//   const herald = Herald.connect({ url: "https://herald.example.com", getToken: () => fetchMyToken() });
//   herald.on("notification", (n) => render(n));
//   herald.on("unread_count", (count) => badge(count));
//
// The client keeps one WebSocket open, reconnects with exponential backoff and
// jitter, and resumes with `since=<last seq>` so nothing is missed or shown
// twice across a reconnect. When the socket cannot connect at all (a proxy
// that blocks upgrades), it falls back to Server-Sent Events, which carry the
// same frames and resume from `Last-Event-ID`, and tries a socket again every
// `WS_RETRY_MS`. Every tab receives every frame
// of its user, so the copy of the inbox each tab keeps (`client.store`) agrees.

import { FeedClient } from "./herald-feed.js";

export { HeraldError } from "./herald-feed.js";
export { InboxStore, isActive, FRAME_TYPES } from "./herald-store.js";
import { openEventStream } from "./herald-sse.js";
import { openSocket } from "./herald-ws.js";

/** @typedef {import("./herald-store.js").Notification} Notification */

/**
 * @typedef {Object} ConnectOptions
 * @property {string} [url] Base URL of the Herald server; defaults to the page's origin.
 * @property {string} [token] A user JWT.
 * @property {() => (string|Promise<string>)} [getToken] Called for a fresh token on start and whenever the server refuses one.
 * @property {number} [minBackoffMs] First reconnect delay (default 500).
 * @property {number} [maxBackoffMs] Longest reconnect delay (default 15000).
 * @property {"auto"|"websocket"|"sse"} [transport] "auto" (default): WebSocket, then SSE if it never connects.
 * @property {number} [wsAttempts] Failed WebSocket attempts before "auto" switches to SSE (default 2).
 * @property {number} [wsRetryMs] After falling back to SSE, how often "auto" tries the WebSocket again
 *   (default `WS_RETRY_MS`, 5 minutes; 0 never).
 */

/** @typedef {"connecting"|"open"|"reconnecting"|"closed"} Status */

/** Close codes after which the server wants the client back soon (a slow reader, a missed heartbeat, a node draining). */
const RECONNECT_CODES = { min: 4000, max: 4499 };
/** Close codes the client takes as final: it stops instead of reconnecting. */
const TERMINAL_CODES = { min: 4500, max: 4999 };
/**
 * After "auto" fell back to SSE, how often a WebSocket is tried again: the
 * proxy that blocked upgrades may be one network's (a hotel, a train), and
 * the socket carries acks and commands that SSE cannot.
 */
export const WS_RETRY_MS = 5 * 60_000;

/**
 * The delay before reconnect number `attempt` (0-based): exponential from `min`
 * up to `max`, with jitter in the upper half so many tabs of a restarted server
 * do not return at once. `soon` (a close code asking for it) makes the first
 * retry a random moment within `min`.
 * @param {number} attempt @param {{min: number, max: number, soon?: boolean}} limits
 * @param {() => number} [random] @returns {number}
 */
export function backoffDelay(attempt, { min, max, soon = false }, random = Math.random) {
  if (soon && attempt === 0) return min * random();
  const exp = Math.min(max, min * 2 ** Math.min(attempt, 10));
  return exp / 2 + (random() * exp) / 2;
}

export class HeraldClient extends FeedClient {
  /** @param {ConnectOptions} opts */
  constructor(opts) {
    super(opts);
    this.minBackoff = opts.minBackoffMs ?? 500;
    this.maxBackoff = opts.maxBackoffMs ?? 15000;
    this.transportOption = opts.transport || "auto";
    this.wsAttempts = opts.wsAttempts ?? 2;
    this.wsRetryMs = opts.wsRetryMs ?? WS_RETRY_MS;
    /** @type {"websocket"|"sse"} The transport in use. */
    this.transport = this.transportOption === "sse" || typeof WebSocket === "undefined" ? "sse" : "websocket";
    /** Socket attempts that ended before hello; only counted until one socket has worked. */
    this.wsFailures = 0;
    this.wsWorked = false;
    /** @type {number|null} Highest seq delivered to the app; the resume point. */
    this.lastSeq = null;
    /** The server's last seq at hello: replayed notifications up to it are already in hello's counts. */
    this.helloSeq = 0;
    /** @type {Status} */
    this.status = "connecting";
    this.attempt = 0;
    this.stopped = false;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {{close: () => void}|null} */
    this.sse = null;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.timer = undefined;
    /** @type {WebSocket|null} A socket tried while on SSE; it takes over when it says hello. */
    this.probe = null;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.probeTimer = undefined;
  }

  setStatus(status) {
    if (this.status !== status) {
      this.status = status;
      this.emit("status", status);
    }
  }

  async start() {
    if (!this.token) await this.freshToken();
    this.open();
    return this;
  }

  open() {
    if (this.stopped) return;
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    if (this.transport === "sse") this.openSse();
    else this.openWebSocket();
  }

  openWebSocket() {
    this.ws = openSocket(this, (ws, ev, how) => this.socketClosed(ws, ev, how));
  }

  /** On SSE after a fallback: try a WebSocket again in `wsRetryMs`. */
  scheduleProbe() {
    clearTimeout(this.probeTimer);
    if (this.stopped || this.transportOption !== "auto" || !(this.wsRetryMs > 0)) return;
    this.probeTimer = setTimeout(() => this.openProbe(), this.wsRetryMs);
  }

  /**
   * Opens a WebSocket beside the running stream. Until its hello the stream
   * stays in charge and the probe's frames are dropped; at hello the socket
   * takes over (it resumed from `lastSeq`, so replays are deduplicated) and
   * the stream is closed. A probe that fails is tried again later.
   */
  openProbe() {
    if (this.stopped || this.transport !== "sse" || this.probe) return;
    const probe = openSocket(
      this,
      (ws, ev, how) => {
        if (this.probe !== ws) return this.socketClosed(ws, ev, how);
        this.probe = null;
        this.scheduleProbe();
      },
      (frame) => {
        if (this.probe === probe) {
          if (frame.type !== "hello") return;
          this.adoptProbe(probe);
        }
        this.handleFrame(frame);
      },
    );
    this.probe = probe;
  }

  /** @param {WebSocket} ws */
  adoptProbe(ws) {
    this.probe = null;
    clearTimeout(this.timer);
    this.sse?.close();
    this.sse = null;
    this.ws = ws;
    this.transport = "websocket";
    this.wsWorked = true;
    this.emit("transport", "websocket");
  }

  async socketClosed(ws, ev, { opened, greeted }) {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return this.setStatus("closed");
    if (greeted) this.wsWorked = true;
    else this.wsFailures += 1;
    // A socket that never worked, again and again, is likely blocked on the way
    // (a proxy refusing upgrades): the same frames come over SSE. Once a socket
    // has worked, failures mean the server is away, and the socket is retried.
    if (this.transportOption === "auto" && !this.wsWorked && this.wsFailures >= this.wsAttempts
      && typeof EventSource !== "undefined") {
      this.transport = "sse";
      this.emit("transport", "sse");
      this.scheduleProbe();
      return this.open();
    }
    // The server answers a bad or expired token with 401 before the upgrade,
    // which a browser reports as a close without open: get a new token first.
    if (!opened) await this.refreshTokenQuietly();
    if (ev.code >= TERMINAL_CODES.min && ev.code <= TERMINAL_CODES.max) return this.setStatus("closed");
    this.scheduleReconnect(ev.code >= RECONNECT_CODES.min && ev.code <= RECONNECT_CODES.max);
  }

  /** A new token from `getToken`, if there is one; a failure is reported, not thrown. */
  async refreshTokenQuietly() {
    if (!this.getToken) return;
    try {
      await this.freshToken();
    } catch (e) {
      this.emit("error", e);
    }
  }

  openSse() {
    const stream = openEventStream(this, {
      // The server refused the stream (bad token, a full cap): a new token, then back off.
      onRefused: async () => {
        if (this.sse !== stream) return;
        this.sse = null;
        if (this.stopped) return this.setStatus("closed");
        await this.refreshTokenQuietly();
        this.scheduleReconnect(false);
      },
      // The browser reconnects by itself, resuming from Last-Event-ID.
      onInterrupted: () => {
        if (this.sse === stream) this.setStatus("reconnecting");
      },
    });
    this.sse = stream;
  }

  scheduleReconnect(soon) {
    this.setStatus("reconnecting");
    const delay = backoffDelay(this.attempt, { min: this.minBackoff, max: this.maxBackoff, soon });
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  handleFrame(f) {
    switch (f.type) {
      case "hello": {
        const resumed = this.lastSeq !== null;
        this.attempt = 0;
        this.setStatus("open");
        this.helloSeq = f.last_seq;
        this.applyFrame(f);
        this.emit("hello", f);
        if (resumed && !f.recovered) this.emit("resync", f);
        if (this.lastSeq === null || !f.recovered) this.lastSeq = f.last_seq;
        break;
      }
      case "notification": {
        const n = f.notification;
        if (this.lastSeq !== null && n.seq <= this.lastSeq) return; // already shown
        this.lastSeq = n.seq;
        this.applyFrame(f, n.seq > this.helloSeq);
        this.emit("notification", n);
        // Tell the server it reached a screen: its in-app delivery becomes "delivered".
        this.sendFrame({ type: "ack", ids: [n.id] });
        break;
      }
      case "unsnoozed":
        this.applyFrame(f);
        this.emit("unsnoozed", f.notification);
        break;
      case "snoozed":
        this.applyFrame(f);
        this.emit("snoozed", f.ids, f.until);
        break;
      case "read":
      case "unread":
      case "deleted":
      case "seen":
      case "archived":
      case "unarchived":
        this.applyFrame(f);
        this.emit(f.type, f.ids);
        break;
      case "read_all":
      case "seen_all":
        this.applyFrame(f);
        this.emit(f.type);
        break;
      case "error":
        this.emit("error", f);
        break;
      default:
        break;
    }
  }

  sendFrame(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.probeTimer);
    this.probe?.close(1000);
    this.ws?.close(1000);
    this.sse?.close();
    this.setStatus("closed");
  }
}

export const Herald = {
  /**
   * Opens a client. It connects at once and keeps reconnecting until `close()`.
   * @param {ConnectOptions} opts @returns {HeraldClient}
   */
  connect(opts) {
    const client = new HeraldClient(opts);
    client.start().catch((e) => client.emit("error", e));
    return client;
  },
};

export default Herald;
