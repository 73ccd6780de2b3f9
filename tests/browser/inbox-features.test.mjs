// The inbox contract in the demo page: seen vs read, tabs by category,
// archive, snooze and actions, each kept in sync across tabs by frames.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, titles } from "./harness.mjs";

const h = new Harness();
before(() => h.setup());
after(() => h.teardown());

const badge = (page) => page.evaluate(() => {
  const b = document.querySelector("#badge");
  return b.hidden ? 0 : Number(b.textContent);
});
const waitBadge = (page, n, timeout = 3000) =>
  page.waitForFunction((want) => {
    const b = document.querySelector("#badge");
    return (b.hidden ? 0 : Number(b.textContent)) === want;
  }, n, { timeout });

test("items shown in the list become seen, and only opening one makes it read", async () => {
  const { page, context } = await h.openInbox("seer");
  await h.send("seer", "first");
  await h.send("seer", "second");
  await page.waitForFunction(() => document.querySelector("#unseen").textContent === "2 new");
  assert.equal(await badge(page), 2);
  await page.click("#bell");
  await page.waitForFunction(() => document.querySelector("#unseen").hidden === true, null, { timeout: 3000 });
  assert.deepEqual(await page.$$eval("#feed li", (els) => els.map((e) => e.dataset.seen)), ["true", "true"]);
  assert.equal(await badge(page), 2, "seen is not read");
  const counts = await fetch(`${h.base}/api/v1/notifications/unread-count`, {
    headers: { Authorization: `Bearer ${await h.token("seer")}` },
  }).then((r) => r.json());
  assert.deepEqual(counts, { unread_count: 2, unseen_count: 0 });
  await page.click("#feed li:has-text('first') .title");
  await waitBadge(page, 1);
  assert.equal(await page.getAttribute("#feed li:has-text('first')", "class"), "read");
  await context.close();
});

test("tabs by category carry unread badges and filter the list", async () => {
  for (const [t, c] of [["Invoice 1", "billing"], ["Invoice 2", "billing"], ["New follower", "social"]]) {
    await h.send("tabber", t, { category: c });
  }
  const { page, context } = await h.openInbox("tabber");
  await page.click("#bell");
  const tabBadge = (c) => page.textContent(`#tabs .tab[data-category='${c}'] .tab-badge`);
  await page.waitForSelector("#tabs .tab[data-category='billing'] .tab-badge");
  assert.equal(await tabBadge("billing"), "2");
  assert.equal(await tabBadge("social"), "1");
  assert.equal(await tabBadge(""), "3", "All counts every category");
  await page.click("#tabs .tab[data-category='billing']");
  await page.waitForFunction(() => document.querySelectorAll("#feed li").length === 2);
  assert.deepEqual(await titles(page), ["Invoice 2", "Invoice 1"]);
  await page.click("#feed li:has-text('Invoice 1') .title");
  await page.waitForFunction(() => document.querySelector("#tabs .tab[data-category='billing'] .tab-badge")?.textContent === "1");
  // A new social item does not enter the billing tab.
  await h.send("tabber", "Another follower", { category: "social" });
  await page.waitForFunction(() => document.querySelector("#tabs .tab[data-category='social'] .tab-badge")?.textContent === "2");
  assert.deepEqual(await titles(page), ["Invoice 2", "Invoice 1"]);
  await context.close();
});

test("archiving takes an item out of the inbox in every tab, and unarchiving brings it back", async () => {
  const a = await h.openInbox("archivist");
  const b = await h.openInbox("archivist");
  await h.send("archivist", "keep me");
  await h.send("archivist", "file me");
  for (const t of [a, b]) { await waitBadge(t.page, 2); await t.page.click("#bell"); }
  await a.page.click("#feed li:has-text('file me') .archive");
  for (const t of [a, b]) {
    await t.page.waitForFunction(() => ![...document.querySelectorAll("#feed li .title")].some((e) => e.textContent === "file me"));
    await waitBadge(t.page, 1);
  }
  await b.page.click("#view-archive");
  await b.page.waitForSelector("#feed li:has-text('file me') .unarchive");
  assert.deepEqual(await titles(b.page), ["file me"]);
  await b.page.click("#feed li:has-text('file me') .unarchive");
  await b.page.waitForFunction(() => document.querySelectorAll("#feed li").length === 0);
  await a.page.waitForSelector("#feed li:has-text('file me')");
  assert.deepEqual(await titles(a.page), ["file me", "keep me"], "back in seq order");
  await waitBadge(a.page, 2);
  await a.context.close();
  await b.context.close();
});

test("a short snooze hides an item, which comes back by itself", async () => {
  const { page, context } = await h.openInbox("sleeper");
  await h.send("sleeper", "later please");
  await page.click("#bell");
  await page.click("#feed li:has-text('later please') .snooze");
  await page.click("#feed li:has-text('later please') [data-snooze='short']");
  await page.waitForFunction(() => document.querySelectorAll("#feed li").length === 0, null, { timeout: 3000 });
  await waitBadge(page, 0);
  // The short snooze is 10 s; the server's scheduler brings it back with an `unsnoozed` frame.
  await page.waitForSelector("#feed li:has-text('later please')", { timeout: 40000 });
  await waitBadge(page, 1);
  await context.close();
});

test("action buttons: a link action opens its URL, an event action emits an event and marks the item read", async () => {
  const { page, context } = await h.openInbox("actor");
  await h.send("actor", "Approve refund?", {
    actions: [{ label: "Details", url: "/#refund-details" }, { label: "Approve", event: "refund.approved" }],
  });
  await page.click("#bell");
  await page.waitForSelector("#feed li .action");
  assert.deepEqual(await page.$$eval("#feed li .action", (els) => els.map((e) => e.textContent)), ["Details", "Approve"]);
  const answered = page.waitForResponse((r) => /\/actions\/1$/.test(r.url()));
  await page.click("#feed li .action:text('Approve')");
  const res = await answered;
  assert.equal(res.status(), 202);
  const { event_id } = await res.json();
  const audit = await h.api("GET", `/api/v1/events/${event_id}`);
  assert.equal(audit.event_id, event_id);
  await waitBadge(page, 0);
  await page.click("#feed li .action:text('Details')");
  await page.waitForFunction(() => location.hash === "#refund-details");
  await context.close();
});
