// Drives Debian's Chromium (headless) against a real Herald server started from
// the cargo-built binary, and checks what a person would see in the demo inbox.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Harness, repo, titles } from "./harness.mjs";

const h = new Harness();
const send = (...args) => h.send(...args);
const openInbox = (user) => h.openInbox(user);
const stopServer = () => h.stopServer();
const startServer = () => h.startServer();

before(() => h.setup());
after(() => h.teardown());

test("a notification sent through the REST API appears within a second and the badge increments", async () => {
  const { page, context } = await openInbox("alice");
  assert.equal(await page.getAttribute("#bell", "aria-label"), "Notifications, 0 unread");
  const sentAt = Date.now();
  await send("alice", "Booking confirmed");
  await page.waitForFunction(() => document.querySelector("#badge").textContent === "1", null, { timeout: 1000 });
  await page.click("#bell");
  await page.waitForSelector("#feed li .title:text('Booking confirmed')", { timeout: 1000 });
  assert.ok(Date.now() - sentAt < 1000);
  assert.equal(await page.getAttribute("#bell", "aria-label"), "Notifications, 1 unread");
  await context.close();
});

test("two tabs of the same user: marking read in one updates the other", async () => {
  const a = await openInbox("bob");
  const b = await openInbox("bob");
  await send("bob", "Payment received");
  for (const t of [a, b]) await t.page.waitForFunction(() => document.querySelector("#badge").textContent === "1");
  await a.page.click("#bell");
  await a.page.click("#feed li:has-text('Payment received')");
  await b.page.waitForFunction(() => document.querySelector("#badge").hidden === true, null, { timeout: 2000 });
  await b.page.click("#bell");
  assert.equal(await b.page.getAttribute("#feed li", "class"), "read");
  assert.equal(await b.page.getAttribute("#bell", "aria-label"), "Notifications, 0 unread");
  await a.context.close();
  await b.context.close();
});

test("after a server restart the page reconnects and shows what was sent meanwhile, exactly once", async () => {
  const { page, context } = await openInbox("carol");
  await send("carol", "before restart");
  await page.click("#bell");
  await page.waitForSelector("#feed li .title:text('before restart')");
  await stopServer();
  await page.waitForFunction(() => document.body.dataset.status === "reconnecting", null, { timeout: 5000 });
  await new Promise((r) => setTimeout(r, 2500)); // let the client back off
  await startServer();
  for (const t of ["while away 1", "while away 2", "while away 3"]) await send("carol", t);
  await page.waitForFunction(() => document.body.dataset.status === "open", null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll("#feed li").length >= 4, null, { timeout: 5000 });
  await new Promise((r) => setTimeout(r, 300));
  const seen = await titles(page);
  assert.deepEqual(seen, ["while away 3", "while away 2", "while away 1", "before restart"]);
  assert.equal(await page.textContent("#badge"), "4");
  await context.close();
});

test("a title carrying markup renders as text and runs nothing", async () => {
  const { page, context, dialogs } = await openInbox("dave");
  const evil = "<img src=x onerror=alert(1)>";
  await send("dave", evil);
  await page.click("#bell");
  await page.waitForSelector("#feed li");
  assert.deepEqual(await titles(page), [evil]);
  assert.equal(await page.$$eval("#feed img", (els) => els.length), 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(dialogs, []);
  await context.close();
});

test("the inbox works on a narrow screen, keyboard first, and a screenshot is saved", async () => {
  const user = "erin";
  const sent = [
    ["Your tickets for Inception", "booking", [{ label: "View tickets", url: "/#tickets" }]],
    ["Payment of $30.00 received", "payment", []],
    ["Refund processed", "payment", [{ label: "Approve", event: "refund.approved" }, { label: "Details", url: "/#refund" }]],
  ];
  for (const [t, c, actions] of sent) await send(user, t, { category: c, actions, tags: [c] });
  const { page, context } = await openInbox(user);
  await page.focus("#bell");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#feed li");
  assert.equal(await page.getAttribute("#bell", "aria-expanded"), "true");
  await page.waitForSelector("#tabs .tab[data-category='payment'] .tab-badge:text('2')");
  await page.keyboard.press("Enter"); // the first item has focus: marks it read
  await page.waitForFunction(() => document.querySelector("#badge").textContent === "2");
  await page.waitForSelector("#tabs .tab[data-category=''] .tab-badge:text('2')");
  mkdirSync(join(repo, "docs"), { recursive: true });
  await page.screenshot({ path: join(repo, "docs", "inbox.png") });
  await page.setViewportSize({ width: 360, height: 720 });
  const box = await page.$eval("#panel", (p) => p.getBoundingClientRect().width);
  assert.ok(box <= 360, `panel fits a narrow screen (${box}px)`);
  await page.keyboard.press("Escape");
  assert.equal(await page.getAttribute("#bell", "aria-expanded"), "false");
  await context.close();
});
