// The SDK's pure parts, without a browser: the inbox store and the strings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InboxStore, isActive } from "../../sdk/js/src/herald-store.js";
import { pickLanguage, translator, relativeTime } from "../../static/inbox-i18n.js";

const NOW = "2026-12-01T12:00:00.000Z";
const view = (id, extra = {}) => ({ id, seq: 1, category: "c", title: id, read_at: null, seen_at: null, archived_at: null, snoozed_until: null, ...extra });

test("a fresh notification counts as unread and unseen; a replayed one does not", () => {
  const s = new InboxStore();
  s.apply({ type: "hello", unread_count: 2, unseen_count: 1 });
  s.apply({ type: "notification", notification: view("old") }, { fresh: false });
  assert.deepEqual([s.unreadCount, s.unseenCount], [2, 1]);
  s.apply({ type: "notification", notification: view("new") }, { fresh: true });
  assert.deepEqual([s.unreadCount, s.unseenCount], [3, 2]);
});

test("read implies seen, even when the frame carries no unseen count", () => {
  const s = new InboxStore();
  s.put(view("a"));
  s.apply({ type: "hello", unread_count: 1, unseen_count: 1 });
  const change = s.apply({ type: "read", ids: ["a"], unread_count: 0 }, { now: NOW });
  assert.equal(change.items[0].read_at, NOW);
  assert.equal(change.items[0].seen_at, NOW);
  assert.deepEqual([s.unreadCount, s.unseenCount], [0, 0]);
});

test("seen, archive and snooze frames update the items and take the server's counts", () => {
  const s = new InboxStore();
  s.put(view("a"));
  s.put(view("b"));
  s.apply({ type: "seen", ids: ["a"], unseen_count: 1 }, { now: NOW });
  assert.equal(s.items.get("a").seen_at, NOW);
  s.apply({ type: "archived", ids: ["a"], unread_count: 1, unseen_count: 1 }, { now: NOW });
  assert.equal(isActive(s.items.get("a")), false);
  s.apply({ type: "unarchived", ids: ["a"], unread_count: 2, unseen_count: 1 });
  assert.equal(isActive(s.items.get("a")), true);
  const until = new Date(Date.now() + 60_000).toISOString();
  s.apply({ type: "snoozed", ids: ["b"], until, unread_count: 1, unseen_count: 0 });
  assert.equal(isActive(s.items.get("b")), false);
  s.apply({ type: "unsnoozed", notification: view("b", { snoozed_until: null }), unread_count: 2, unseen_count: 1 });
  assert.equal(isActive(s.items.get("b")), true);
  assert.deepEqual([s.unreadCount, s.unseenCount], [2, 1]);
});

test("frames about unknown ids change nothing and unknown frame types are ignored", () => {
  const s = new InboxStore();
  assert.deepEqual(s.apply({ type: "archived", ids: ["nope"] }).items, []);
  assert.deepEqual(s.apply({ type: "from_the_future" }), { counts: false, items: [], removed: [] });
});

test("the language comes from ?lang=, then the browser, then English", () => {
  assert.equal(pickLanguage("?lang=de", ["en-US"]), "de");
  assert.equal(pickLanguage("", ["fr-FR", "de-AT"]), "de");
  assert.equal(pickLanguage("?lang=xx", ["ja"]), "en");
  assert.equal(translator("de")("unseen", { n: 3 }), "3 neu");
  assert.equal(translator("en")("bellLabel", { n: 0 }), "Notifications, 0 unread");
});

test("relative times step from just now to minutes, hours and days", () => {
  const t = translator("en");
  const at = Date.parse(NOW);
  assert.equal(relativeTime(t, NOW, at + 59_000), "just now");
  assert.equal(relativeTime(t, NOW, at + 3 * 60_000), "3 min ago");
  assert.equal(relativeTime(t, NOW, at + 2 * 3_600_000), "2 h ago");
  assert.equal(relativeTime(t, NOW, at + 3 * 86_400_000), "3 d ago");
  assert.equal(relativeTime(t, NOW, at - 5_000), "just now", "a clock slightly behind never shows the future");
});
