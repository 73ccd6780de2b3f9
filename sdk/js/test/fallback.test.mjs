// The SSE fallback and the way back: after sockets that never said hello the
// client switches to SSE, and every WS_RETRY_MS it tries a socket again.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Herald, WS_RETRY_MS } from "../src/herald.js";
import { FakeEventSource, FakeWebSocket, installFakes, note, record, settle } from "../testing/fakes.mjs";

let uninstall;
beforeEach(() => { uninstall = installFakes(); });
afterEach(() => uninstall());

const socket = () => FakeWebSocket.all.at(-1);
const stream = () => FakeEventSource.all.at(-1);

/** A client whose first `wsAttempts` sockets fail before hello, now on SSE. */
async function onSse(t, opts = {}) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = Herald.connect({ url: "http://h.test", token: "tok", minBackoffMs: 10, ...opts });
  const seen = record(client, ["transport", "notification", "status"]);
  await settle();
  socket().drop(1006);
  await settle();
  t.mock.timers.tick(1000);
  socket().drop(1006);
  await settle();
  return { client, seen };
}

test("two sockets that never said hello switch the client to SSE, which resumes from the last seq", async (t) => {
  const { client, seen } = await onSse(t);
  assert.deepEqual(seen.transport, ["sse"]);
  assert.equal(client.transport, "sse");
  assert.equal(stream().url.pathname, "/api/v1/sse");
  stream().frame({ type: "hello", last_seq: 4, unread_count: 0, unseen_count: 0 }).frame(note(5));
  assert.equal(client.status, "open");
  assert.deepEqual(seen.notification.map((n) => n.seq), [5]);
  client.close();
  assert.equal(stream().closed, true);
});

test("once a socket has said hello, its failures are retried as a socket, not over SSE", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = Herald.connect({ url: "http://h.test", token: "tok", minBackoffMs: 10 });
  await settle();
  socket().accept().hello().drop(1006);
  for (let i = 0; i < 3; i++) {
    await settle();
    t.mock.timers.tick(1000);
    socket().drop(1006);
  }
  assert.equal(FakeEventSource.all.length, 0);
  client.close();
});

test("on SSE a socket is tried again every WS_RETRY_MS, and one that says hello takes over from the stream", async (t) => {
  const { client, seen } = await onSse(t);
  const sse = stream();
  sse.frame({ type: "hello", last_seq: 4, unread_count: 0, unseen_count: 0 }).frame(note(5));
  const sockets = FakeWebSocket.all.length;
  t.mock.timers.tick(WS_RETRY_MS - 1);
  assert.equal(FakeWebSocket.all.length, sockets, "not before the interval");
  t.mock.timers.tick(1);
  assert.equal(FakeWebSocket.all.length, sockets + 1);
  const probe = socket();
  assert.equal(probe.url.searchParams.get("since"), "5");

  // Until its hello the stream stays in charge: the probe's frames are dropped.
  sse.frame(note(6));
  probe.accept().frame(note(6));
  assert.equal(client.transport, "sse");
  probe.hello({ last_seq: 6, recovered: true }).frame(note(6)).frame(note(7));
  assert.deepEqual(seen.transport, ["sse", "websocket"]);
  assert.equal(client.transport, "websocket");
  assert.equal(sse.closed, true);
  assert.deepEqual(seen.notification.map((n) => n.seq), [5, 6, 7], "nothing twice across the switch");
  assert.deepEqual(probe.sent, [{ type: "ack", ids: ["n7"] }]);
  assert.equal(client.status, "open");
  client.close();
  assert.equal(probe.closedWith, 1000);
});

test("a failed retry keeps the stream and tries again one interval later", async (t) => {
  const { client } = await onSse(t);
  const sse = stream();
  t.mock.timers.tick(WS_RETRY_MS);
  socket().drop(1006);
  await settle();
  assert.equal(client.transport, "sse");
  assert.equal(sse.closed, false);
  const sockets = FakeWebSocket.all.length;
  t.mock.timers.tick(WS_RETRY_MS);
  assert.equal(FakeWebSocket.all.length, sockets + 1);
  client.close();
});

test("the retry follows wsRetryMs, and a client forced onto SSE never tries a socket", async (t) => {
  const { client } = await onSse(t, { wsRetryMs: 1000 });
  const sockets = FakeWebSocket.all.length;
  t.mock.timers.tick(1000);
  assert.equal(FakeWebSocket.all.length, sockets + 1);
  client.close();

  const off = Herald.connect({ url: "http://h.test", token: "tok", transport: "sse" });
  await settle();
  t.mock.timers.tick(WS_RETRY_MS * 3);
  assert.equal(FakeWebSocket.all.length, sockets + 1, "transport: \"sse\" never tries a socket");
  off.close();
});

test("wsRetryMs: 0 keeps the client on SSE", async (t) => {
  const { client } = await onSse(t, { wsRetryMs: 0 });
  const sockets = FakeWebSocket.all.length;
  t.mock.timers.tick(WS_RETRY_MS * 3);
  assert.equal(FakeWebSocket.all.length, sockets);
  client.close();
});

test("closing the client while on SSE stops the retries", async (t) => {
  const { client } = await onSse(t);
  const sockets = FakeWebSocket.all.length;
  client.close();
  t.mock.timers.tick(WS_RETRY_MS * 3);
  assert.equal(FakeWebSocket.all.length, sockets);
});
