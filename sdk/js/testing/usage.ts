// Compiled by `tsc --noEmit` only: the public API as a TypeScript app uses it,
// so a JSDoc change that breaks the declared types fails the check.
import { Herald, HeraldClient, HeraldError, InboxStore, WS_RETRY_MS, backoffDelay, isActive } from "../src/herald.js";
import type { Notification } from "../src/herald-store.js";

const client: HeraldClient = Herald.connect({ url: "https://herald.example.com", getToken: async () => "jwt", wsRetryMs: WS_RETRY_MS });
const off: () => void = client.on("notification", (n: Notification) => n.title.toUpperCase());
off();
client.on("unread_count", (count: number) => count + 1);

async function feed(): Promise<void> {
  const page = await client.list({ limit: 20, status: "active", unreadOnly: true });
  const first: Notification | undefined = page.items[0];
  if (first && isActive(first)) await client.markRead([first.id]);
  const next: string | null = page.next_cursor;
  if (next) await client.list({ cursor: next });
  try {
    await client.archive(["a", "b"]);
  } catch (e) {
    if (e instanceof HeraldError) console.log(e.status, e.code);
  }
  const tabs: { category: string; unread_count: number }[] = await client.categories();
  console.log(tabs.length, client.unreadCount, client.unseenCount, client.transport);
}

const delay: number = backoffDelay(3, { min: 500, max: 15_000 });
const store = new InboxStore();
store.apply({ type: "hello", unread_count: 1 });
void feed().then(() => client.close());
void delay;
