// Herald browser SDK: a dependency-free ES module, no build step.
//
//   import { Herald } from "/static/herald.js";
//   const herald = Herald.connect({ url: "https://herald.example.com", getToken: () => fetchMyToken() });
//   herald.on("notification", (n) => render(n));
//   herald.on("unread_count", (count) => badge(count));
//
// The client keeps one WebSocket open, reconnects with exponential backoff and
// jitter, and resumes with `since=<last seq>` so nothing is missed or shown
// twice across a reconnect.

/**
 * @typedef {Object} Notification
 * @property {string} id
 * @property {number} seq
 * @property {string} category
 * @property {string} title
 * @property {string} body
 * @property {string|null} action_url
 * @property {Object} data
 * @property {"low"|"normal"|"high"|"critical"} priority
 * @property {string} created_at
 * @property {string|null} read_at
 */

/**
 * @typedef {Object} ConnectOptions
 * @property {string} [url] Base URL of the Herald server; defaults to the page's origin.
 * @property {string} [token] A user JWT.
 * @property {() => (string|Promise<string>)} [getToken] Called for a fresh token on start and whenever the server refuses one.
 * @property {number} [minBackoffMs] First reconnect delay (default 500).
 * @property {number} [maxBackoffMs] Longest reconnect delay (default 15000).
 */

/** @typedef {"connecting"|"open"|"reconnecting"|"closed"} Status */

const RECONNECT_CODES = { min: 4000, max: 4499 };

export class HeraldClient {
  /** @param {ConnectOptions} opts */
  constructor(opts) {
    this.baseUrl = (opts.url || globalThis.location?.origin || "").replace(/\/$/, "");
    this.token = opts.token || null;
    this.getToken = opts.getToken || null;
    this.minBackoff = opts.minBackoffMs ?? 500;
    this.maxBackoff = opts.maxBackoffMs ?? 15000;
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** Highest seq delivered to the app; the resume point. */
    this.lastSeq = null;
    /** The server's last seq at hello: replayed notifications up to it are already in hello's unread_count. */
    this.helloSeq = 0;
    this.unreadCount = 0;
    /** @type {Status} */
    this.status = "connecting";
    this.attempt = 0;
    this.stopped = false;
    this.ws = null;
    this.timer = null;
    this.preferences = {
      /** @returns {Promise<Object>} */
      get: () => this.request("GET", "/api/v1/preferences"),
      /** @param {Object} patch @returns {Promise<Object>} */
      update: (patch) => this.request("PATCH", "/api/v1/preferences", patch),
    };
  }

  /**
   * Subscribes to an event: `notification`, `read`, `unread`, `read_all`, `deleted`, `unread_count`, `status`,
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

  setUnread(n) {
    if (typeof n === "number" && n !== this.unreadCount) {
      this.unreadCount = n;
      this.emit("unread_count", n);
    }
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
    const wsBase = this.baseUrl.replace(/^http/, "ws");
    let url = `${wsBase}/api/v1/ws?token=${encodeURIComponent(this.token || "")}`;
    if (this.lastSeq !== null) url += `&since=${this.lastSeq}`;
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.handleFrame(frame);
    };
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return this.setStatus("closed");
      // The server answers a bad or expired token with 401 before the upgrade,
      // which a browser reports as a close without open: get a new token first.
      if (!opened && this.getToken) {
        try {
          await this.freshToken();
        } catch (e) {
          this.emit("error", e);
        }
      }
      const terminal = ev.code >= 4500 && ev.code <= 4999;
      if (terminal) return this.setStatus("closed");
      this.scheduleReconnect(ev.code >= RECONNECT_CODES.min && ev.code <= RECONNECT_CODES.max);
    };
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
        this.setUnread(f.unread_count);
        this.emit("hello", f);
        if (resumed && !f.recovered) this.emit("resync", f);
        if (this.lastSeq === null || !f.recovered) this.lastSeq = f.last_seq;
        break;
      }
      case "notification": {
        const n = f.notification;
        if (this.lastSeq !== null && n.seq <= this.lastSeq) return; // already shown
        this.lastSeq = n.seq;
        this.emit("notification", n);
        // Tell the server it reached a screen: its in-app delivery becomes "delivered".
        this.sendFrame({ type: "ack", ids: [n.id] });
        if (!n.read_at && n.seq > this.helloSeq) this.setUnread(this.unreadCount + 1);
        break;
      }
      case "read":
      case "unread":
      case "deleted":
        this.emit(f.type, f.ids);
        this.setUnread(f.unread_count);
        break;
      case "read_all":
        this.emit("read_all");
        this.setUnread(0);
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

  /** @param {string[]} ids */
  async delete(ids) {
    return this.request("POST", "/api/v1/notifications/delete", { ids });
  }

  /**
   * One page of the feed, newest first.
   * @param {{cursor?: string, unreadOnly?: boolean, limit?: number, category?: string}} [opts]
   * @returns {Promise<{items: Notification[], next_cursor: string|null, unread_count: number}>}
   */
  async list(opts = {}) {
    const q = new URLSearchParams();
    if (opts.cursor) q.set("cursor", opts.cursor);
    if (opts.unreadOnly) q.set("unread_only", "true");
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.category) q.set("category", opts.category);
    const page = await this.request("GET", `/api/v1/notifications?${q}`);
    this.setUnread(page.unread_count);
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
