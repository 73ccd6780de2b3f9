// Reconnect timing, the close codes, and a fresh token after a refusal.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Herald, backoffDelay } from "../src/herald.js";
import { FakeWebSocket, installFakes, settle } from "../testing/fakes.mjs";

let uninstall;
beforeEach(() => { uninstall = installFakes(); });
afterEach(() => uninstall());

const latest = () => FakeWebSocket.all.at(-1);

test("reconnect delays double from the minimum up to the maximum, jittered in their upper half", () => {
  const limits = { min: 500, max: 15_000 };
  const top = [0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, limits, () => 1));
  assert.deepEqual(top, [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  const bottom = [0, 1, 5].map((n) => backoffDelay(n, limits, () => 0));
  assert.deepEqual(bottom, [250, 500, 7500]);
});

test("a close code asking for a quick return makes the first retry a random moment within the minimum", () => {
  assert.equal(backoffDelay(0, { min: 500, max: 15_000, soon: true }, () => 0.25), 125);
  assert.equal(backoffDelay(1, { min: 500, max: 15_000, soon: true }, () => 1), 1000, "only the first retry is quick");
});

test("each failed reconnect waits longer, and a hello resets the wait", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  t.mock.method(Math, "random", () => 1);
  const client = Herald.connect({ url: "http://h.test", token: "tok", minBackoffMs: 100, maxBackoffMs: 1000 });
  await settle();
  latest().accept().hello();
  const waits = [];
  for (let i = 0; i < 5; i++) {
    latest().accept().drop(1006);
    await settle();
    const before = FakeWebSocket.all.length;
    let waited = 0;
    while (FakeWebSocket.all.length === before) {
      t.mock.timers.tick(50);
      waited += 50;
    }
    waits.push(waited);
  }
  assert.deepEqual(waits, [100, 200, 400, 800, 1000]);
  latest().accept().hello().drop(1006);
  await settle();
  t.mock.timers.tick(99);
  const count = FakeWebSocket.all.length;
  t.mock.timers.tick(1);
  assert.equal(FakeWebSocket.all.length, count + 1, "after a hello the wait starts over at the minimum");
  client.close();
});

test("a close code from 4500 to 4999 ends the client; one from 4000 to 4499 brings it back", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = Herald.connect({ url: "http://h.test", token: "tok", minBackoffMs: 100 });
  await settle();
  latest().accept().hello().drop(4001);
  await settle();
  t.mock.timers.tick(100);
  assert.equal(FakeWebSocket.all.length, 2);
  latest().accept().hello().drop(4501);
  await settle();
  assert.equal(client.status, "closed");
  t.mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.all.length, 2);
});

test("a socket refused before it opened gets a fresh token from getToken before the retry", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let n = 0;
  const client = Herald.connect({ url: "http://h.test", getToken: async () => `token-${++n}`, minBackoffMs: 100 });
  await settle();
  latest().accept().hello();
  latest().drop(1006); // had opened: the token was fine
  await settle();
  t.mock.timers.tick(100);
  assert.equal(latest().url.searchParams.get("token"), "token-1");
  latest().drop(1006); // never opened: as a 401 before the upgrade looks
  await settle();
  t.mock.timers.tick(200);
  assert.equal(latest().url.searchParams.get("token"), "token-2");
  client.close();
});
