// The REST half of the client: the user's feed, counts and preferences over
// HTTP with the user's token, the event handlers, and the inbox store that
// frames and pages update. `HeraldClient` (herald.js) adds the live
// connection on top; this class alone never opens a socket.

import { InboxStore } from "./herald-store.js";
import { webPushFor } from "./herald-web-push.js";

/** @typedef {import("./herald-store.js").Notification} Notification */

const enc = encodeURIComponent;

/** A refused REST call: the HTTP status and the server's `error.code` (e.g. "token_expired"). */
export class HeraldError extends Error {
  /** @param {string} message @param {number} status @param {string} [code] */
  constructor(message, status, code) {
    super(message);
    this.name = "HeraldError";
    this.status = status;
    this.code = code;
  }
}

export class FeedClient {
  /** @param {{url?: string, token?: string, getToken?: () => (string|Promise<string>)}} opts */
  constructor(opts) {
    this.baseUrl = (opts.url || globalThis.location?.origin || "").replace(/\/$/, "");
    /** @type {string|null} */
    this.token = opts.token || null;
    this.getToken = opts.getToken || null;
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** Notifications this client knows of, and the unread/unseen counts, kept in sync by frames. */
    this.store = new InboxStore();
    this.preferences = {
      /** @returns {Promise<Object>} */
      get: () => this.request("GET", "/api/v1/preferences"),
      /** @param {Object} patch @returns {Promise<Object>} */
      update: (patch) => this.request("PATCH", "/api/v1/preferences", patch),
    };
  }

  get unreadCount() { return this.store.unreadCount; }

  get unseenCount() { return this.store.unseenCount; }

  /** Web Push for this browser: `supported()`, `subscribe()`, `unsubscribe()`. */
  get webPush() { return webPushFor(this); }

  /**
   * Subscribes to an event: `notification`, `read`, `unread`, `read_all`, `deleted`, `seen`, `seen_all`,
   * `archived`, `unarchived`, `snoozed` (ids, until), `unsnoozed` (notification), `update` (a stored
   * notification changed), `unread_count`, `unseen_count`, `status`, `transport` ("websocket"|"sse"),
   * `hello`, `resync` (a resume was incomplete: reload the list) or `error`. Returns an unsubscribe function.
   * @param {string} event @param {Function} fn @returns {() => void}
   */
  on(event, fn) {
    const set = this.handlers.get(event) || new Set();
    this.handlers.set(event, set.add(fn));
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

  /**
   * Sends a command frame over the live connection; false when there is none
   * (the caller then uses REST). `HeraldClient` overrides it.
   * @param {Object} _frame @returns {boolean}
   */
  sendFrame(_frame) {
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
      throw new HeraldError(data?.error?.message || `HTTP ${res.status}`, res.status, data?.error?.code);
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
    const list = Array.isArray(ids) ? ids : [ids];
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
}
