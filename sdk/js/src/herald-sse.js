// The Server-Sent Events transport: the same frames as the WebSocket, one
// way only (commands go over REST). The browser's EventSource reconnects by
// itself and sends `Last-Event-ID`, so the server resumes without gaps; this
// module only steps in when the server refused the stream (bad token, cap).

import { FRAME_TYPES } from "./herald-store.js";

/**
 * Opens `GET /api/v1/sse` for `client` and feeds its frames to `client.handleFrame`.
 * @param {import("./herald.js").HeraldClient} client
 * @param {{onRefused: () => void, onInterrupted: () => void}} hooks
 * @returns {{close: () => void}}
 */
export function openEventStream(client, hooks) {
  let url = `${client.baseUrl}/api/v1/sse?token=${encodeURIComponent(client.token || "")}`;
  if (client.lastSeq !== null) url += `&since=${client.lastSeq}`;
  const es = new EventSource(url);
  let closed = false;
  const onFrame = (ev) => {
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch {
      return;
    }
    client.handleFrame(frame);
  };
  for (const type of FRAME_TYPES) es.addEventListener(type, onFrame);
  es.onmessage = onFrame; // frames of a type this SDK does not know yet
  es.onerror = () => {
    if (closed) return;
    // CLOSED: the server answered with an error status, and the browser gives up.
    // CONNECTING: the stream broke, and the browser is already retrying with Last-Event-ID.
    if (es.readyState === EventSource.CLOSED) {
      closed = true;
      hooks.onRefused();
    } else {
      hooks.onInterrupted();
    }
  };
  return {
    close() {
      closed = true;
      es.close();
    },
  };
}
