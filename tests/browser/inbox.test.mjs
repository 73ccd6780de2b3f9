// Drives Debian's Chromium (headless) against a real Herald server started from
// the cargo-built binary, and checks what a person would see in the demo inbox.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, "target");
const bin = process.env.HERALD_BIN || join(targetDir, "debug", "herald");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const ADMIN = "browser-test-admin-key";
const dataDir = mkdtempSync(join(tmpdir(), "herald-browser-"));

let port;
let base;
let server;
let browser;

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

async function startServer() {
  if (!existsSync(bin)) throw new Error(`no herald binary at ${bin}: run cargo build, or set HERALD_BIN / CARGO_TARGET_DIR`);
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium, or set CHROMIUM`);
  server = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      HERALD_BIND: `127.0.0.1:${port}`,
      HERALD_DATA_DIR: dataDir,
      HERALD_ADMIN_API_KEY: ADMIN,
      HERALD_JWT_SECRET: "browser-test-secret-browser-test-secret",
      HERALD_STATIC_DIR: join(repo, "static"),
      HERALD_FIRST_RUN_BANNER: "false",
      HERALD_LOG: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("herald did not start");
}

async function stopServer() {
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGKILL");
  await exited;
}

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.json();
}

const token = async (user) => (await api("POST", `/api/v1/users/${user}/token`)).token;
const send = (user, title, extra = {}) => api("POST", "/api/v1/send", { user_id: user, title, body: `body of ${title}`, ...extra });

async function openInbox(user) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(`${base}/#token=${await token(user)}`);
  await page.waitForFunction(() => document.body.dataset.status === "open", null, { timeout: 5000 });
  return { page, context, dialogs };
}

const titles = (page) => page.$$eval("#feed li .title", (els) => els.map((e) => e.textContent));

before(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) await stopServer();
});

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
  for (const [t, c] of [["Your tickets for Inception", "booking"], ["Payment of $30.00 received", "payment"], ["Refund processed", "payment"]]) {
    await send(user, t, { category: c });
  }
  const { page, context } = await openInbox(user);
  await page.focus("#bell");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#feed li");
  assert.equal(await page.getAttribute("#bell", "aria-expanded"), "true");
  await page.keyboard.press("Enter"); // the first item has focus: marks it read
  await page.waitForFunction(() => document.querySelector("#badge").textContent === "2");
  mkdirSync(join(repo, "docs"), { recursive: true });
  await page.screenshot({ path: join(repo, "docs", "inbox.png") });
  await page.setViewportSize({ width: 360, height: 720 });
  const box = await page.$eval("#panel", (p) => p.getBoundingClientRect().width);
  assert.ok(box <= 360, `panel fits a narrow screen (${box}px)`);
  await page.keyboard.press("Escape");
  assert.equal(await page.getAttribute("#bell", "aria-expanded"), "false");
  await context.close();
});
