// Drives headless Chromium against a real Herald: herald.webPush.subscribe() registers
// the service worker, fetches the VAPID key and stores the subscription as a device.
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
const dataDir = mkdtempSync(join(tmpdir(), "herald-webpush-"));

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
      HERALD_WEB_PUSH_ALLOW_PRIVATE: "true",
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

// Headless Chromium refuses PushManager.subscribe ("AbortError: Registration failed - permission
// denied", even with notifications granted), and its push service would be out of reach anyway.
// So subscribe is replaced by one that returns what a browser would: a real P-256 key from
// WebCrypto, an auth secret, and an endpoint on a local push service.
async function fakePushManager(page) {
  await page.evaluate(() => {
    PushManager.prototype.getSubscription = async () => null;
    PushManager.prototype.subscribe = async function (options) {
      const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
      const b64 = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      globalThis.subscribedWith = b64(new Uint8Array(options.applicationServerKey));
      globalThis.userVisibleOnly = options.userVisibleOnly;
      const endpoint = "http://127.0.0.1:9/push/browser";
      const json = { endpoint, expirationTime: null, keys: { p256dh: b64(raw), auth: b64(crypto.getRandomValues(new Uint8Array(16))) } };
      return { endpoint, options, toJSON: () => json, unsubscribe: async () => true };
    };
  });
}

test("herald.webPush.subscribe registers the service worker and the subscription as a web_push device", async () => {
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin: base });
  const page = await context.newPage();
  await page.goto(`${base}/herald-sw.js`);
  await fakePushManager(page);
  const user = await token("webpush-user");
  const result = await page.evaluate(async ({ base, user }) => {
    const { Herald } = await import(`${base}/static/herald.js`);
    const herald = Herald.connect({ url: base, token: user });
    const supported = herald.webPush.supported();
    const device = await herald.webPush.subscribe();
    const registration = await navigator.serviceWorker.getRegistration("/");
    const config = await (await caches.open("herald-web-push")).match("/herald-web-push-config");
    herald.close();
    return {
      supported, device, subscribedWith: globalThis.subscribedWith, userVisibleOnly: globalThis.userVisibleOnly,
      scope: registration?.scope, script: registration?.active?.scriptURL, config: config ? await config.json() : null,
    };
  }, { base, user });
  assert.equal(result.supported, true);
  const { public_key } = await api("GET", "/api/v1/web-push/public-key");
  assert.equal(result.subscribedWith, public_key, "subscribed with Herald's VAPID key");
  assert.equal(result.userVisibleOnly, true);
  assert.equal(result.device.provider, "web_push");
  assert.equal(result.device.platform, "web");
  assert.equal(result.device.token, "http://127.0.0.1:9/push/browser");
  assert.equal(result.scope, `${base}/`, "the worker controls the whole site");
  assert.equal(result.script, `${base}/herald-sw.js`);
  assert.deepEqual(result.config, { url: base, token: user }, "the worker can report clicks");
  const devices = await api("GET", "/api/v1/users/webpush-user/devices");
  assert.equal(devices.items.length, 1);
  await context.close();
});
