// Starts the cargo-built Herald on a free port with a throwaway data dir,
// fetches /api/v1/asyncapi.json and validates it with @asyncapi/parser:
// any diagnostic of severity error (schema or reference) fails the test.
// Env: CARGO_TARGET_DIR (default ../../target), HERALD_BIN to override.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.HERALD_BIN
  ?? join(resolve(here, '..', '..', process.env.CARGO_TARGET_DIR ?? 'target'), 'debug', 'herald');

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

async function startHerald() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-asyncapi-'));
  const child = spawn(bin, ['serve'], {
    env: { ...process.env, HERALD_BIND: `127.0.0.1:${port}`, HERALD_DATA_DIR: dir,
      HERALD_FIRST_RUN_BANNER: 'false', HERALD_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try { if ((await fetch(`${base}/health`)).ok) return { base, child, dir }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill();
  throw new Error(`herald (${bin}) did not start on ${base}`);
}

test('the served AsyncAPI document is valid AsyncAPI 3', async () => {
  const { base, child, dir } = await startHerald();
  try {
    const res = await fetch(`${base}/api/v1/asyncapi.json`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    assert.deepEqual(errors.map((d) => `${d.path.join('.')}: ${d.message}`), []);
    assert.ok(document, 'the parser produced a document');
    assert.equal(document.version(), '3.0.0');
    const channels = document.channels().all().map((c) => c.id());
    for (const id of ['websocket', 'sse', 'amqp_events', 'amqp_dead_letter', 'redis_pubsub', 'redis_stream']) {
      assert.ok(channels.includes(id), `channel ${id}`);
    }
    const frames = document.channels().get('websocket').messages().all().map((m) => m.id());
    for (const id of ['hello', 'notification', 'read', 'error', 'pong', 'client_mark_read', 'client_ping']) {
      assert.ok(frames.includes(id), `websocket message ${id}`);
    }
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
