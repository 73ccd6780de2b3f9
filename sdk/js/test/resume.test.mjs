// The protocol and the resume logic, against a fake socket: what hello means,
// where a reconnect resumes, and which notifications reach the app once.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Herald } from "../src/herald.js";
import { FakeWebSocket, installFakes, note, record, settle } from "../testing/fakes.mjs";

let uninstall;
beforeEach(() => { uninstall = installFakes(); });
afterEach(() => uninstall());

const latest = () => FakeWebSocket.all.at(-1);
const connect = (opts = {}) => Herald.connect({ url: "https://herald.test", token: "tok", minBackoffMs: 10, ...opts });

test("the first socket carries the token and no since; hello gives the counts and opens the client", async () => {
  const client = connect();
  const seen = record(client, ["status", "unread_count", "unseen_count", "hello"]);
  await settle();
  const ws = latest();
  assert.equal(ws.url.href.split("?")[0], "wss://herald.test/api/v1/ws");
  assert.equal(ws.url.searchParams.get("token"), "tok");
  assert.equal(ws.url.searchParams.has("since"), false);
  ws.accept().hello({ last_seq: 5, unread_count: 3, unseen_count: 2 });
  assert.equal(client.status, "open");
  assert.deepEqual(seen.unread_count, [3]);
  assert.deepEqual(seen.unseen_count, [2]);
  assert.equal(seen.hello.length, 1);
  assert.equal(client.lastSeq, 5);
  client.close();
});

test("a notification reaches the app once, is acked, and a repeat of it is dropped", async () => {
  const client = connect();
  const seen = record(client, ["notification"]);
  await settle();
  const ws = latest().accept().hello({ last_seq: 1 });
  ws.frame(note(2)).frame(note(2)).frame(note(1));
  assert.deepEqual(seen.notification.map((n) => n.seq), [2]);
  assert.deepEqual(ws.sent, [{ type: "ack", ids: ["n2"] }]);
  assert.equal(client.unreadCount, 1, "a fresh notification counts as unread");
  client.close();
});

test("a gap in seq does not hold a notification back, and the resume point moves past it", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = connect();
  const seen = record(client, ["notification"]);
  await settle();
  latest().accept().hello({ last_seq: 3 }).frame(note(9)).drop(1006);
  assert.deepEqual(seen.notification.map((n) => n.seq), [9]);
  await settle();
  t.mock.timers.tick(10);
  assert.equal(latest().url.searchParams.get("since"), "9");
  client.close();
});

test("after a reconnect the socket resumes from the last seq and the replay shows only what was missed", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = connect();
  const seen = record(client, ["notification", "resync", "status"]);
  await settle();
  latest().accept().hello({ last_seq: 5 }).frame(note(6)).drop(1006);
  await settle();
  assert.equal(client.status, "reconnecting");
  t.mock.timers.tick(10);
  const second = latest();
  assert.equal(FakeWebSocket.all.length, 2);
  assert.equal(second.url.searchParams.get("since"), "6");
  second.accept().hello({ last_seq: 8, recovered: true }).frame(note(6)).frame(note(7)).frame(note(8));
  assert.deepEqual(seen.notification.map((n) => n.seq), [6, 7, 8]);
  assert.equal(seen.resync.length, 0, "a complete replay needs no resync");
  assert.equal(client.status, "open");
  client.close();
});

test("a resume the server could not replay fires resync and restarts from the server's last seq", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = connect();
  const seen = record(client, ["notification", "resync"]);
  await settle();
  latest().accept().hello({ last_seq: 5 }).drop(1006);
  await settle();
  t.mock.timers.tick(10);
  latest().accept().hello({ last_seq: 40, recovered: false });
  assert.equal(seen.resync.length, 1);
  assert.equal(client.lastSeq, 40);
  latest().frame(note(39)).frame(note(41));
  assert.deepEqual(seen.notification.map((n) => n.seq), [41]);
  client.close();
});

test("replayed notifications up to hello's last seq do not count twice; newer ones do", async () => {
  const client = connect();
  await settle();
  latest().accept().hello({ last_seq: 10, unread_count: 4, unseen_count: 4 });
  client.lastSeq = 8; // as after a resume from since=8
  latest().frame(note(9)).frame(note(10));
  assert.equal(client.unreadCount, 4, "9 and 10 are already in hello's counts");
  latest().frame(note(11));
  assert.equal(client.unreadCount, 5);
  client.close();
});

test("malformed and unknown frames are ignored and the client stays open", async () => {
  const client = connect();
  const seen = record(client, ["error"]);
  await settle();
  latest().accept().hello().frame("not json{").frame({ type: "from_the_future", x: 1 });
  assert.equal(client.status, "open");
  latest().frame({ type: "error", code: "bad_frame", message: "no" });
  assert.deepEqual(seen.error, [{ type: "error", code: "bad_frame", message: "no" }]);
  client.close();
});

test("state frames update the store and are announced with their ids", async () => {
  const client = connect();
  const seen = record(client, ["read", "update", "unread_count"]);
  await settle();
  latest().accept().hello({ last_seq: 0 }).frame(note(1));
  latest().frame({ type: "read", ids: ["n1"], unread_count: 0 });
  assert.deepEqual(seen.read, [["n1"]]);
  assert.ok(client.store.items.get("n1").read_at);
  assert.deepEqual(seen.unread_count, [1, 0]);
  assert.equal(seen.update.length, 2);
  client.close();
});

test("mark read goes over the open socket and over REST when there is none", async (t) => {
  const calls = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    calls.push([init.method, url, JSON.parse(init.body)]);
    return new Response(null, { status: 204 });
  });
  const client = connect();
  await settle();
  latest().accept().hello();
  await client.markRead(["a"]);
  assert.deepEqual(latest().sent, [{ type: "mark_read", ids: ["a"] }]);
  latest().drop(1006);
  await client.markRead(["b"]);
  assert.deepEqual(calls, [["POST", "https://herald.test/api/v1/notifications/mark-read", { ids: ["b"] }]]);
  client.close();
});

test("close ends the socket with 1000 and stops reconnecting", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = connect();
  await settle();
  const ws = latest().accept().hello();
  client.close();
  assert.equal(ws.closedWith, 1000);
  ws.drop(1000);
  await settle();
  t.mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.all.length, 1);
  assert.equal(client.status, "closed");
});
