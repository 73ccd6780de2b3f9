// Shared by the browser tests: a real Herald from the cargo-built binary on a
// free port, Debian's Chromium (headless) through playwright-core, and the
// admin calls a test needs. Each test file starts its own server.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

export const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, "target");
const bin = process.env.HERALD_BIN || join(targetDir, "debug", "herald");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const ADMIN = "browser-test-admin-key";

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

/** One server and one browser for a test file. */
export class Harness {
  async setup() {
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.dataDir = mkdtempSync(join(tmpdir(), "herald-browser-"));
    await this.startServer();
    this.browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    return this;
  }

  async teardown() {
    await this.browser?.close();
    if (this.server && this.server.exitCode === null) await this.stopServer();
  }

  async startServer() {
    if (!existsSync(bin)) throw new Error(`no herald binary at ${bin}: run cargo build, or set HERALD_BIN / CARGO_TARGET_DIR`);
    if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium, or set CHROMIUM`);
    this.server = spawn(bin, ["serve"], {
      env: {
        ...process.env,
        HERALD_BIND: `127.0.0.1:${this.port}`,
        HERALD_DATA_DIR: this.dataDir,
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
        if ((await fetch(`${this.base}/health`)).ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("herald did not start");
  }

  async stopServer() {
    const exited = new Promise((r) => this.server.once("exit", r));
    this.server.kill("SIGKILL");
    await exited;
  }

  /** An admin call that must succeed; returns the JSON body. */
  async api(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async token(user) {
    return (await this.api("POST", `/api/v1/users/${user}/token`)).token;
  }

  send(user, title, extra = {}) {
    return this.api("POST", "/api/v1/send", { user_id: user, title, body: `body of ${title}`, ...extra });
  }

  /**
   * Opens the demo inbox for `user` in a fresh context and waits until it is live.
   * `query` is the page's query string (e.g. "?lang=de"); `contextOptions` go to Playwright
   * (e.g. a locale); `beforeLoad(context, page)` runs before navigation (init scripts, clock).
   */
  async openInbox(user, { query = "", contextOptions = {}, beforeLoad } = {}) {
    const context = await this.browser.newContext({ viewport: { width: 1000, height: 800 }, ...contextOptions });
    const page = await context.newPage();
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    if (beforeLoad) await beforeLoad(context, page);
    await page.goto(`${this.base}/${query}#token=${await this.token(user)}`);
    await page.waitForFunction(() => document.body.dataset.status === "open", null, { timeout: 5000 });
    return { page, context, dialogs };
  }
}

export const titles = (page) => page.$$eval("#feed li .title", (els) => els.map((e) => e.textContent));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
