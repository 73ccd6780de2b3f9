// The WebSocket transport: one socket, its frames fed to the client. The
// client decides what a close means (reconnect, fresh token, fall back to SSE).

/**
 * Opens `GET /api/v1/ws` for `client`.
 * @param {import("./herald.js").HeraldClient} client
 * @param {(ws: WebSocket, ev: CloseEvent, how: {opened: boolean, greeted: boolean}) => void} onClose
 *   `opened`: the upgrade succeeded; `greeted`: the server's hello arrived.
 * @param {(frame: any) => void} [onFrame] Where parsed frames go; `client.handleFrame` unless given.
 * @returns {WebSocket}
 */
export function openSocket(client, onClose, onFrame = (frame) => client.handleFrame(frame)) {
  const wsBase = client.baseUrl.replace(/^http/, "ws");
  let url = `${wsBase}/api/v1/ws?token=${encodeURIComponent(client.token || "")}`;
  if (client.lastSeq !== null) url += `&since=${client.lastSeq}`;
  const ws = new WebSocket(url);
  const how = { opened: false, greeted: false };
  ws.onopen = () => {
    how.opened = true;
  };
  ws.onmessage = (ev) => {
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (frame.type === "hello") how.greeted = true;
    onFrame(frame);
  };
  ws.onclose = (ev) => onClose(ws, ev, how);
  return ws;
}
