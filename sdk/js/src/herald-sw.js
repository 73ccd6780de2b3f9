// Herald's Web Push service worker. Serve it from the site root
// (`/herald-sw.js`, as Herald itself does) and register it with
// `herald.webPush.subscribe()` from /static/herald.js.
//
// A push carries `{title, body, url, notification_id, delivery_id, data}`.
// Clicking the notification opens `url` and tells Herald, which marks the
// delivery `clicked`. The report uses the Herald URL and user token that the
// page last stored (see herald.js); without a valid token it is skipped.

const CONFIG_CACHE = "herald-web-push";
const CONFIG_KEY = "/herald-web-push-config";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch {
    msg = { body: event.data ? event.data.text() : "" };
  }
  const data = {
    url: typeof msg.url === "string" ? msg.url : null,
    delivery_id: msg.delivery_id || null,
    notification_id: msg.notification_id || null,
    data: msg.data ?? null,
  };
  event.waitUntil(
    self.registration.showNotification(msg.title || "New notification", {
      body: msg.body || "",
      data,
      // One notification per Herald notification: a repeat replaces it.
      tag: msg.notification_id || msg.delivery_id || undefined,
    }),
  );
});

async function config() {
  try {
    const cache = await caches.open(CONFIG_CACHE);
    const res = await cache.match(CONFIG_KEY);
    return res ? await res.json() : null;
  } catch {
    return null;
  }
}

async function reportClick(data) {
  const cfg = await config();
  if (!cfg || !cfg.token || !(data.delivery_id || data.notification_id)) return;
  const body = data.delivery_id ? { delivery_id: data.delivery_id } : { notification_id: data.notification_id };
  try {
    await fetch(`${cfg.url}/api/v1/web-push/clicked`, {
      method: "POST",
      headers: { Authorization: `Bearer ${cfg.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    // Offline or refused: the click still opens the page.
  }
}

async function open(url) {
  if (!url) return;
  let target;
  try {
    target = new URL(url, self.location.origin);
  } catch {
    return;
  }
  if (target.protocol !== "https:" && target.protocol !== "http:") return;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => w.url === target.href);
  if (open) return open.focus();
  return self.clients.openWindow(target.href);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(Promise.all([open(data.url), reportClick(data)]));
});
