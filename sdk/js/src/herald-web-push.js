// Native Web Push without Firebase. `herald.webPush.subscribe()` asks for
// permission, registers /herald-sw.js, subscribes with Herald's VAPID key and
// registers the subscription as a `web_push` device. It also stores the
// Herald URL and the user's token where the service worker can read them, so a
// click is reported back; call it on each page load to keep that token fresh.

const WEB_PUSH_CONFIG = { cache: "herald-web-push", key: "/herald-web-push-config" };

function webPushKey(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
}

/**
 * The `client.webPush` API.
 * @param {import("./herald-feed.js").FeedClient} client
 */
export function webPushFor(client) {
  return {
    /** Whether this browser can receive Web Push. */
    supported() {
      return "serviceWorker" in navigator && "PushManager" in globalThis && "Notification" in globalThis;
    },

    /**
     * Subscribes this browser and registers it with Herald. Resolves to the device Herald stored.
     * @param {{serviceWorker?: string, deviceId?: string}} [opts]
     */
    async subscribe(opts = {}) {
      if (!this.supported()) throw new Error("this browser has no Web Push");
      const permission = await Notification.requestPermission();
      if (permission !== "granted") throw new Error(`notifications are ${permission}`);
      await client.freshToken();
      const registration = await navigator.serviceWorker.register(opts.serviceWorker || "/herald-sw.js");
      await navigator.serviceWorker.ready;
      const { public_key } = await client.request("GET", "/api/v1/web-push/public-key");
      const applicationServerKey = webPushKey(public_key);
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, applicationServerKey)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ||= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
      const cache = await caches.open(WEB_PUSH_CONFIG.cache);
      await cache.put(WEB_PUSH_CONFIG.key, new Response(JSON.stringify({ url: client.baseUrl, token: client.token })));
      return client.request("POST", "/api/v1/devices", {
        platform: "web",
        provider: "web_push",
        subscription: subscription.toJSON(),
        ...(opts.deviceId ? { device_id: opts.deviceId } : {}),
      });
    },

    /** Unsubscribes this browser and removes the device from Herald. */
    async unsubscribe() {
      const registration = await navigator.serviceWorker.getRegistration();
      const subscription = await registration?.pushManager.getSubscription();
      if (!subscription) return false;
      await client.request("DELETE", `/api/v1/devices/${encodeURIComponent(subscription.endpoint)}`).catch(() => null);
      await caches.delete(WEB_PUSH_CONFIG.cache);
      return subscription.unsubscribe();
    },
  };
}

