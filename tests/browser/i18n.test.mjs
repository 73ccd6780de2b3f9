// The inbox's own strings follow ?lang= or the browser's language, and
// relative times ("3 min ago") refresh on their own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Harness } from "./harness.mjs";

const h = new Harness();
before(() => h.setup());
after(() => h.teardown());

test("?lang=de shows the inbox in German, whatever the browser's language", async () => {
  const { page, context } = await h.openInbox("lang-param", { query: "?lang=de", contextOptions: { locale: "en-US" } });
  assert.equal(await page.getAttribute("html", "lang"), "de");
  assert.equal(await page.getAttribute("#bell", "aria-label"), "Benachrichtigungen, 0 ungelesen");
  await h.send("lang-param", "Hallo");
  await page.waitForFunction(() => document.querySelector("#badge").textContent === "1");
  await page.click("#bell");
  assert.equal(await page.textContent("#panel-h"), "Benachrichtigungen");
  assert.equal(await page.textContent("#mark-all"), "Alle als gelesen markieren");
  await page.waitForSelector("#tabs .tab:text('Alle')");
  assert.equal(await page.textContent("#feed li .archive"), "Archivieren");
  assert.equal(await page.textContent("#status"), "Live");
  await context.close();
});

test("a German browser gets German, and ?lang=en overrides it", async () => {
  const de = await h.openInbox("lang-browser", { contextOptions: { locale: "de-DE" } });
  assert.equal(await de.page.getAttribute("#bell", "aria-label"), "Benachrichtigungen, 0 ungelesen");
  await de.context.close();
  const en = await h.openInbox("lang-browser", { query: "?lang=en", contextOptions: { locale: "de-DE" } });
  assert.equal(await en.page.getAttribute("#bell", "aria-label"), "Notifications, 0 unread");
  await en.context.close();
  const unknown = await h.openInbox("lang-browser", { query: "?lang=xx", contextOptions: { locale: "ja-JP" } });
  assert.equal(await unknown.page.getAttribute("html", "lang"), "en", "unknown languages fall back to English");
  await unknown.context.close();
});

test("relative times read 'just now', then refresh by themselves as time passes", async () => {
  const { page, context } = await h.openInbox("clock", {
    query: "?lang=de",
    beforeLoad: (_, p) => p.clock.install(),
  });
  await h.send("clock", "tick");
  await page.click("#bell");
  await page.waitForSelector("#feed li time.ago");
  assert.equal(await page.textContent("#feed li time.ago"), "gerade eben");
  await page.clock.fastForward("05:00");
  await page.waitForFunction(() => document.querySelector("#feed li time.ago").textContent === "vor 5 Min.", null, { timeout: 2000 });
  await page.clock.fastForward("02:00:00");
  await page.waitForFunction(() => document.querySelector("#feed li time.ago").textContent === "vor 2 Std.", null, { timeout: 2000 });
  await context.close();
});
