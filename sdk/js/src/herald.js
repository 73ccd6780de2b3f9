// Herald browser SDK: a dependency-free ES module, no build step.
//
//   import { Herald } from "/static/herald.js";
//   const herald = Herald.connect({ url: "https://herald.example.com", getToken: () => fetchMyToken() });
//   herald.on("notification", (n) => render(n));
//   herald.on("unread_count", (count) => badge(count));
//
// The client keeps one WebSocket open, reconnects with exponential backoff and
// jitter, and resumes with `since=<last seq>` so nothing is missed or shown
// twice across a reconnect. When the socket cannot connect at all (a proxy
// that blocks upgrades), it falls back to Server-Sent Events, which carry the
// same frames and resume from `Last-Event-ID`. Every tab receives every frame
// of its user, so the copy of the inbox each tab keeps (`client.store`) agrees.

import { InboxStore } from "./herald-store.js";
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
 */

/** @typedef {"connecting"|"open"|"reconnecting"|"closed"} Status */

const RECONNECT_CODES = { min: 4000, max: 4499 };
const enc = encodeURIComponent;

export class HeraldClient {
  /** @param {ConnectOptions} opts */
  constructor(opts) {
    this.baseUrl = (opts.url || globalThis.location?.origin || "").replace(/\/$/, "");
    this.token = opts.token || null;
    this.getToken = opts.getToken || null;
    this.minBackoff = opts.minBackoffMs ?? 500;
    this.maxBackoff = opts.maxBackoffMs ?? 15000;
    this.transportOption = opts.transport || "auto";
    this.wsAttempts = opts.wsAttempts ?? 2;
    /** @type {"websocket"|"sse"} The transport in use. */
    this.transport = this.transportOption === "sse" || typeof WebSocket === "undefined" ? "sse" : "websocket";
    /** Socket attempts that ended before hello; only counted until one socket has worked. */
    this.wsFailures = 0;
    this.wsWorked = false;
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** Highest seq delivered to the app; the resume point. */
    this.lastSeq = null;
    /** The server's last seq at hello: replayed notifications up to it are already in hello's counts. */
    this.helloSeq = 0;
    /** Notifications this client knows of, and the unread/unseen counts, kept in sync by frames. */
    this.store = new InboxStore();
    /** @type {Status} */
    this.status = "connecting";
    this.attempt = 0;
    this.stopped = false;
    this.ws = null;
    this.sse = null;
    this.timer = null;
    this.preferences = {
      /** @returns {Promise<Object>} */
      get: () => this.request("GET", "/api/v1/preferences"),
      /** @param {Object} patch @returns {Promise<Object>} */
      update: (patch) => this.request("PATCH", "/api/v1/preferences", patch),
    };
  }

  get unreadCount() { return this.store.unreadCount; }

  get unseenCount() { return this.store.unseenCount; }

  /**
   * Subscribes to an event: `notification`, `read`, `unread`, `read_all`, `deleted`, `seen`, `seen_all`,
   * `archived`, `unarchived`, `snoozed` (ids, until), `unsnoozed` (notification), `update` (a stored
   * notification changed), `unread_count`, `unseen_count`, `status`, `transport` ("websocket"|"sse"),
   * `hello`, `resync` (a resume was incomplete: reload the list) or `error`. Returns an unsubscribe function.
   * @param {string} event @param {Function} fn @returns {() => void}
   */
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
    return () => this.handlers.get(event)?.delete(fn);
  }

  emit(event, ...args) {
    for (const fn of this.handlers.get(event) || []) {
      try {
        fn(...args);
      } catch (e) {
        console.error("herald: handler for", event, "threw", e);
      }
    }
  }

  setStatus(status) {
    if (this.status !== status) {
      this.status = status;
      this.emit("status", status);
    }
  }

  /** Applies a frame (or counts from REST) to the store and announces what changed. */
  applyFrame(f, fresh = false) {
    const before = [this.store.unreadCount, this.store.unseenCount];
    const change = this.store.apply(f, { fresh });
    if (before[0] !== this.store.unreadCount) this.emit("unread_count", this.store.unreadCount);
    if (before[1] !== this.store.unseenCount) this.emit("unseen_count", this.store.unseenCount);
    for (const n of change.items) this.emit("update", n);
  }

  async freshToken() {
    if (this.getToken) this.token = await this.getToken();
    return this.token;
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
      return this.open();
    }
    // The server answers a bad or expired token with 401 before the upgrade,
    // which a browser reports as a close without open: get a new token first.
    if (!opened) await this.refreshTokenQuietly();
    const terminal = ev.code >= 4500 && ev.code <= 4999;
    if (terminal) return this.setStatus("closed");
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
    const exp = Math.min(this.maxBackoff, this.minBackoff * 2 ** Math.min(this.attempt, 10));
    const delay = soon && this.attempt === 0 ? this.minBackoff * Math.random() : exp / 2 + (Math.random() * exp) / 2;
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

  /**
   * REST call with the user's token; refreshes the token once on `token_expired`.
   * @param {string} method @param {string} path @param {Object} [body]
   */
  async request(method, path, body, retried = false) {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.status === 401 && !retried && this.getToken) {
      await this.freshToken();
      return this.request(method, path, body, true);
    }
    if (!res.ok) {
      const err = new Error(data?.error?.message || `HTTP ${res.status}`);
      err.code = data?.error?.code;
      err.status = res.status;
      throw err;
    }
    return data;
  }

  /** Marks notifications read, over the socket when open. @param {string[]} ids */
  async markRead(ids) {
    if (!this.sendFrame({ type: "mark_read", ids })) await this.request("POST", "/api/v1/notifications/mark-read", { ids });
  }

  async markAllRead() {
    if (!this.sendFrame({ type: "mark_all_read" })) await this.request("POST", "/api/v1/notifications/mark-all-read");
  }

  /** Marks notifications seen (shown in a list), over the socket when open. @param {string[]} ids */
  async markSeen(ids) {
    if (!ids.length) return;
    if (!this.sendFrame({ type: "mark_seen", ids })) await this.request("POST", "/api/v1/notifications/mark-seen", { ids });
  }

  /** @returns {Promise<{unseen_count: number}>} */
  async markAllSeen() {
    return this.request("POST", "/api/v1/notifications/mark-all-seen");
  }

  /** Archives one notification or several. @param {string|string[]} ids */
  async archive(ids) {
    const list = [].concat(ids);
    if (list.length === 1) return this.request("POST", `/api/v1/notifications/${enc(list[0])}/archive`);
    return this.request("POST", "/api/v1/notifications/archive", { ids: list });
  }

  /** @param {string} id */
  async unarchive(id) {
    return this.request("POST", `/api/v1/notifications/${enc(id)}/unarchive`);
  }

  /** Hides a notification until `until` (a Date or RFC 3339 text; at most 90 days ahead). */
  async snooze(id, until) {
    const at = until instanceof Date ? until.toISOString() : String(until);
    return this.request("POST", `/api/v1/notifications/${enc(id)}/snooze`, { until: at });
  }

  /** @param {string} id */
  async unsnooze(id) {
    return this.request("POST", `/api/v1/notifications/${enc(id)}/unsnooze`);
  }

  /** The user's categories with their unread counts, for tabs. @returns {Promise<{category: string, unread_count: number}[]>} */
  async categories() {
    return (await this.request("GET", "/api/v1/notifications/categories")).categories;
  }

  /** Fetches both counts and updates the store. @returns {Promise<{unread_count: number, unseen_count: number}>} */
  async counts() {
    const c = await this.request("GET", "/api/v1/notifications/unread-count");
    this.applyFrame({ type: "hello", ...c });
    return c;
  }

  /**
   * Runs a notification's action (index 0 or 1); the server marks it read.
   * A link action answers `{url}` (the caller decides whether to follow it),
   * an event action `{event_id}` (the event went through the normal pipeline).
   */
  async clickAction(id, index) {
    return this.request("POST", `/api/v1/notifications/${enc(id)}/actions/${Number(index)}`);
  }

  /** @param {string[]} ids */
  async delete(ids) {
    return this.request("POST", "/api/v1/notifications/delete", { ids });
  }

  /**
   * One page of the feed, newest first.
   * @param {{cursor?: string, unreadOnly?: boolean, unseenOnly?: boolean, limit?: number, category?: string,
   *   tag?: string, status?: "active"|"archived"|"all"}} [opts]
   * @returns {Promise<{items: Notification[], next_cursor: string|null, unread_count: number}>}
   */
  async list(opts = {}) {
    const q = new URLSearchParams();
    if (opts.cursor) q.set("cursor", opts.cursor);
    if (opts.unreadOnly) q.set("unread_only", "true");
    if (opts.unseenOnly) q.set("unseen_only", "true");
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.category) q.set("category", opts.category);
    if (opts.tag) q.set("tag", opts.tag);
    if (opts.status) q.set("status", opts.status);
    const page = await this.request("GET", `/api/v1/notifications?${q}`);
    page.items = page.items.map((n) => this.store.put(n));
    this.applyFrame({ type: "hello", unread_count: page.unread_count, unseen_count: page.unseen_count });
    return page;
  }

  /** Sends the user a test notification. */
  async sendTest() {
    return this.request("POST", "/api/v1/notifications/test");
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
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

// ---- Web Push (begin) ------------------------------------------------------
// Native Web Push without Firebase. `herald.webPush.subscribe()` asks for
// permission, registers /herald-sw.js, subscribes with Herald's VAPID key and
// registers the subscription as a `web_push` device. It also stores the
// Herald URL and the user's token where the service worker can read them, so a
// click is reported back; call it on each page load to keep that token fresh.

const WEB_PUSH_CONFIG = { cache: "herald-web-push", key: "/herald-web-push-config" };

function webPushKey(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
}

/** @param {HeraldClient} client */
function webPushFor(client) {
  return {
    /** Whether this browser can receive Web Push. */
    supported() {
      return "serviceWorker" in navigator && "PushManager" in globalThis && "Notification" in globalThis;
    },

    /**
     * Subscribes this browser and registers it with Herald. Resolves to the device Herald stored.
     * @param {{serviceWorker?: string, deviceId?: string}} [opts]
     */
    async subscribe(opts = {}) {
      if (!this.supported()) throw new Error("this browser has no Web Push");
      const permission = await Notification.requestPermission();
      if (permission !== "granted") throw new Error(`notifications are ${permission}`);
      await client.freshToken();
      const registration = await navigator.serviceWorker.register(opts.serviceWorker || "/herald-sw.js");
      await navigator.serviceWorker.ready;
      const { public_key } = await client.request("GET", "/api/v1/web-push/public-key");
      const applicationServerKey = webPushKey(public_key);
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, applicationServerKey)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ||= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
      const cache = await caches.open(WEB_PUSH_CONFIG.cache);
      await cache.put(WEB_PUSH_CONFIG.key, new Response(JSON.stringify({ url: client.baseUrl, token: client.token })));
      return client.request("POST", "/api/v1/devices", {
        platform: "web",
        provider: "web_push",
        subscription: subscription.toJSON(),
        ...(opts.deviceId ? { device_id: opts.deviceId } : {}),
      });
    },

    /** Unsubscribes this browser and removes the device from Herald. */
    async unsubscribe() {
      const registration = await navigator.serviceWorker.getRegistration();
      const subscription = await registration?.pushManager.getSubscription();
      if (!subscription) return false;
      await client.request("DELETE", `/api/v1/devices/${encodeURIComponent(subscription.endpoint)}`).catch(() => null);
      await caches.delete(WEB_PUSH_CONFIG.cache);
      return subscription.unsubscribe();
    },
  };
}

Object.defineProperty(HeraldClient.prototype, "webPush", {
  get() {
    return webPushFor(this);
  },
});
// ---- Web Push (end) --------------------------------------------------------
