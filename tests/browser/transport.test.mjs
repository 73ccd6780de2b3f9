// The SSE transport in a real browser: EventSource resumes with Last-Event-ID,
// and the SDK falls back to it when WebSockets cannot connect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness, titles } from "./harness.mjs";

const h = new Harness();
before(() => h.setup());
after(() => h.teardown());

/** Makes every WebSocket the page opens fail like a blocked upgrade: a real socket to a closed port. */
const blockWebSockets = (context) =>
  context.addInitScript(() => {
    const Real = window.WebSocket;
    window.WebSocket = class extends Real {
      constructor(url, protocols) {
        super(String(url).replace(/^ws(s?):\/\/[^/]+/, "ws$1://127.0.0.1:9"), protocols);
      }
    };
  });

test("a real EventSource resumes with Last-Event-ID after the server restarts and misses nothing", async () => {
  const token = await h.token("sse-page");
  const context = await h.browser.newContext();
  const page = await context.newPage();
  const sseRequests = [];
  page.on("request", async (r) => {
    if (r.url().includes("/api/v1/sse")) sseRequests.push(await r.allHeaders());
  });
  await page.goto(`${h.base}/static/herald.js`); // same origin, no inbox script running
  await page.evaluate((t) => {
    window.got = [];
    const es = new EventSource(`/api/v1/sse?token=${encodeURIComponent(t)}`);
    es.addEventListener("notification", (e) => window.got.push({ id: e.lastEventId, title: JSON.parse(e.data).notification.title }));
    es.addEventListener("hello", (e) => { window.hellos = (window.hellos || 0) + 1; window.lastHello = JSON.parse(e.data); });
    window.es = es;
  }, token);
  await page.waitForFunction(() => window.hellos === 1);
  await h.send("sse-page", "first");
  await page.waitForFunction(() => window.got.length === 1);
  await h.stopServer();
  await page.waitForFunction(() => window.es.readyState === EventSource.CONNECTING, null, { timeout: 5000 });
  await h.startServer();
  for (const t of ["second", "third"]) await h.send("sse-page", t);
  await page.waitForFunction(() => window.hellos === 2, null, { timeout: 15000 });
  await page.waitForFunction(() => window.got.length >= 3, null, { timeout: 5000 });
  await h.send("sse-page", "fourth");
  await page.waitForFunction(() => window.got.length >= 4, null, { timeout: 5000 });
  assert.deepEqual(await page.evaluate(() => window.got), [
    { id: "1", title: "first" }, { id: "2", title: "second" }, { id: "3", title: "third" }, { id: "4", title: "fourth" },
  ]);
  assert.equal((await page.evaluate(() => window.lastHello)).recovered, true);
  assert.equal(sseRequests.length >= 2, true, "the browser reconnected by itself");
  assert.equal(sseRequests.at(-1)["last-event-id"], "1", "it resumed from the last event it saw");
  await context.close();
});

test("with WebSockets blocked the inbox falls back to SSE and stays in sync", async () => {
  const { page, context } = await h.openInbox("no-ws", { beforeLoad: blockWebSockets });
  assert.equal(await page.evaluate(() => document.body.dataset.transport), "sse");
  assert.equal(await page.textContent("#status"), "Live (SSE)");
  await h.send("no-ws", "over event source");
  await page.waitForFunction(() => document.querySelector("#badge").textContent === "1", null, { timeout: 2000 });
  await page.click("#bell");
  await page.waitForSelector("#feed li .title:text('over event source')");
  // Commands go over REST; the resulting read frame comes back over the stream.
  await page.click("#feed li:has-text('over event source') .title");
  await page.waitForFunction(() => document.querySelector("#badge").hidden === true, null, { timeout: 2000 });
  assert.equal(await page.getAttribute("#feed li", "class"), "read");
  await context.close();
});

test("a tab on SSE and a tab on WebSocket see the same reads", async () => {
  const sse = await h.openInbox("mixed", { beforeLoad: blockWebSockets });
  const ws = await h.openInbox("mixed");
  assert.equal(await ws.page.evaluate(() => document.body.dataset.transport), "websocket");
  await h.send("mixed", "both tabs");
  for (const t of [sse, ws]) await t.page.waitForFunction(() => document.querySelector("#badge").textContent === "1");
  await ws.page.click("#bell");
  await ws.page.click("#feed li:has-text('both tabs') .title");
  await sse.page.waitForFunction(() => document.querySelector("#badge").hidden === true, null, { timeout: 2000 });
  await sse.page.click("#bell");
  assert.deepEqual(await titles(sse.page), ["both tabs"]);
  assert.equal(await sse.page.getAttribute("#feed li", "class"), "read");
  await sse.context.close();
  await ws.context.close();
});
