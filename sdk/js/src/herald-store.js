// The client's copy of the inbox: notifications it has seen by id, and the
// unread/unseen counts. Pure (no DOM, no network), so it is unit-tested in
// Node; the client feeds it frames from any transport and REST pages, and
// every tab of a user converges because every tab receives the same frames.

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
 * @property {string|null} seen_at
 * @property {string|null} archived_at
 * @property {string|null} snoozed_until
 * @property {string[]} tags
 * @property {{label: string, url?: string, event?: string}[]} actions At most two.
 */

/** Frame types the server sends; the SSE transport listens for exactly these. */
export const FRAME_TYPES = [
  "hello", "notification", "read", "unread", "read_all", "deleted", "seen", "seen_all",
  "archived", "unarchived", "snoozed", "unsnoozed", "error", "pong",
];

export class InboxStore {
  constructor() {
    /** @type {Map<string, Object>} id -> notification view */
    this.items = new Map();
    this.unreadCount = 0;
    this.unseenCount = 0;
  }

  /** Remembers notifications from a REST page or a frame; returns the stored copy. */
  put(n) {
    const merged = { ...(this.items.get(n.id) || {}), ...n };
    this.items.set(n.id, merged);
    return merged;
  }

  /** Sets fields on known items; returns the ones that changed. */
  patch(ids, fields) {
    const changed = [];
    for (const id of ids || []) {
      const n = this.items.get(id);
      if (!n) continue;
      Object.assign(n, fields);
      changed.push(n);
    }
    return changed;
  }

  /**
   * Applies one frame. Returns what changed, for the client to announce:
   * `{ counts: boolean, items: Object[], removed: string[] }`.
   * `fresh` marks a notification newer than hello's `last_seq`, which the
   * hello counts do not include yet; `now` is injected for tests.
   */
  apply(f, { fresh = false, now = new Date().toISOString() } = {}) {
    const before = [this.unreadCount, this.unseenCount];
    let items = [];
    let removed = [];
    const counts = (frame) => {
      if (typeof frame.unread_count === "number") this.unreadCount = frame.unread_count;
      if (typeof frame.unseen_count === "number") this.unseenCount = frame.unseen_count;
    };
    switch (f.type) {
      case "hello":
        counts(f);
        break;
      case "notification":
      case "unsnoozed": {
        const n = f.notification;
        const known = this.items.has(n.id);
        items = [this.put(n)];
        if (f.type === "notification" && fresh && !known) {
          if (!n.read_at) this.unreadCount += 1;
          if (!n.seen_at && !n.read_at) this.unseenCount += 1;
        }
        counts(f);
        break;
      }
      case "read": {
        // Read implies seen. A frame without the unseen count still lowers it for the items known unseen.
        items = this.patch(f.ids, { read_at: now });
        const wereUnseen = items.filter((n) => !n.seen_at).length;
        for (const n of items) n.seen_at = n.seen_at || now;
        if (typeof f.unseen_count !== "number") this.unseenCount = Math.max(0, this.unseenCount - wereUnseen);
        counts(f);
        break;
      }
      case "unread":
        items = this.patch(f.ids, { read_at: null });
        counts(f);
        break;
      case "read_all":
        for (const n of this.items.values()) {
          if (!n.read_at) { n.read_at = now; n.seen_at = n.seen_at || now; items.push(n); }
        }
        this.unreadCount = 0;
        counts(f);
        break;
      case "seen":
        items = this.patch(f.ids, {}).filter((n) => !n.seen_at);
        for (const n of items) n.seen_at = now;
        counts(f);
        break;
      case "seen_all":
        for (const n of this.items.values()) if (!n.seen_at) { n.seen_at = now; items.push(n); }
        this.unseenCount = 0;
        counts(f);
        break;
      case "archived":
        items = this.patch(f.ids, { archived_at: now });
        counts(f);
        break;
      case "unarchived":
        items = this.patch(f.ids, { archived_at: null });
        counts(f);
        break;
      case "snoozed":
        items = this.patch(f.ids, { snoozed_until: f.until });
        counts(f);
        break;
      case "deleted":
        removed = (f.ids || []).filter((id) => this.items.delete(id));
        counts(f);
        break;
      default:
        break;
    }
    const changedCounts = before[0] !== this.unreadCount || before[1] !== this.unseenCount;
    return { counts: changedCounts, items, removed };
  }
}

/** Whether a notification belongs in the active list at `now`: not archived, not snoozed into the future. */
export function isActive(n, now = Date.now()) {
  if (n.archived_at) return false;
  return !(n.snoozed_until && Date.parse(n.snoozed_until) > now);
}
