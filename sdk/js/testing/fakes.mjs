// Stand-ins for the browser's WebSocket and EventSource, installed as globals
// so the SDK runs in Node unchanged. Each test drives the "server" side by
// hand: open, say hello, send frames, close with a code.

export class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeWebSocket[]} every socket opened, oldest first */
  static all = [];

  constructor(url) {
    this.url = new URL(url);
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    FakeWebSocket.all.push(this);
  }

  send(data) {
    this.sent.push(JSON.parse(data));
  }

  /** The client closed it (no close event comes back to it in this fake). */
  close(code = 1005) {
    this.closedWith = code;
    this.readyState = FakeWebSocket.CLOSED;
  }

  // ---- the server's side ----
  accept() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({});
    return this;
  }

  frame(frame) {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    return this;
  }

  hello(fields = {}) {
    return this.frame({ type: "hello", last_seq: 0, unread_count: 0, unseen_count: 0, recovered: true, ...fields });
  }

  drop(code = 1006) {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code });
  }
}

export class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  /** @type {FakeEventSource[]} */
  static all = [];

  constructor(url) {
    this.url = new URL(url);
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = new Map();
    this.onmessage = null;
    this.onerror = null;
    this.closed = false;
    FakeEventSource.all.push(this);
  }

  addEventListener(type, fn) {
    this.listeners.set(type, fn);
  }

  close() {
    this.closed = true;
    this.readyState = FakeEventSource.CLOSED;
  }

  // ---- the server's side ----
  frame(frame) {
    this.readyState = FakeEventSource.OPEN;
    const fn = this.listeners.get(frame.type) || this.onmessage;
    fn?.({ data: JSON.stringify(frame) });
    return this;
  }

  refuse() {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.({});
  }
}

/** Installs the fakes; returns a function that removes them. */
export function installFakes() {
  FakeWebSocket.all = [];
  FakeEventSource.all = [];
  const before = { WebSocket: globalThis.WebSocket, EventSource: globalThis.EventSource };
  globalThis.WebSocket = FakeWebSocket;
  globalThis.EventSource = FakeEventSource;
  return () => Object.assign(globalThis, before);
}

/** Lets pending promise callbacks (an awaited token refresh) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export const note = (seq, extra = {}) => ({
  type: "notification",
  notification: { id: `n${seq}`, seq, category: "c", title: `t${seq}`, read_at: null, seen_at: null, ...extra },
});

/** Collects what the client emits, by event name. */
export function record(client, events) {
  const seen = Object.fromEntries(events.map((e) => [e, []]));
  for (const e of events) client.on(e, (...args) => seen[e].push(args.length > 1 ? args : args[0]));
  return seen;
}
