// The demo inbox: a bell with the unread badge and the unseen count, tabs by
// category, archive, snooze and actions, on top of the SDK. Every piece of
// notification data reaches the page through textContent or attributes,
// never as HTML.
import { Herald } from "/static/herald.js";
import { isActive } from "/static/herald-store.js";
import { pickLanguage, translator, relativeTime } from "/static/inbox-i18n.js";

/** How often "3 min ago" is recomputed. */
const RELATIVE_TIME_REFRESH_MS = 30_000;
/** Items shown in the list are marked seen in batches, this long after they appear. */
const SEEN_BATCH_MS = 250;
/** Tab badges are refetched at most this often while frames arrive. */
const TABS_REFRESH_MS = 300;
/** The demo snooze, short enough to watch the item come back. */
const SNOOZE_SHORT_MS = 10_000;
const HOUR_MS = 3_600_000;
const CHANNELS = [["in_app", "In-app"], ["email", "Email"], ["push", "Push"], ["sms", "SMS"], ["webhook", "Webhooks"]];

const $ = (id) => document.getElementById(id);
const lang = pickLanguage(location.search, navigator.languages || [navigator.language]);
const t = translator(lang);
document.documentElement.lang = lang;
document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });

let client = null;
let cursor = null;
let loading = false;
let exhausted = false;
/** What the list shows: the inbox or the archive, all categories or one. */
const view = { status: "active", category: null };
const shown = new Map(); // id -> <li>
const categories = new Set();
let currentPrefs = null;

function tokenFromLocation() {
  const m = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  return m ? decodeURIComponent(m[1]) : null;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("aria-") || k === "role") node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

function setUnread(n) {
  const badge = $("badge");
  badge.textContent = n > 99 ? "99+" : String(n);
  badge.hidden = n === 0;
  $("bell").setAttribute("aria-label", t("bellLabel", { n }));
}

function setUnseen(n) {
  $("unseen").textContent = t("unseen", { n });
  $("unseen").hidden = n === 0;
}

// Mirrors the server's ActionUrl rule. Browsers read `/\host` like `//host`,
// so a relative link must also resolve to this page's own origin.
function safeActionUrl(raw) {
  if (typeof raw !== "string" || raw.length > 2048 || /[\u0000-\u001f\u007f-\u009f]/.test(raw)) return null;
  if (/^https?:\/\//i.test(raw)) return raw;
  const path = raw.split(/[?#]/, 1)[0];
  if (!path.startsWith("/") || path.includes("//") || path.includes("\\")) return null;
  try {
    const url = new URL(raw, location.href);
    return url.origin === location.origin ? url.href : null;
  } catch {
    return null;
  }
}

function report(e) {
  $("status").textContent = t("actionFailed", { message: e.message });
}

/** Whether `n` belongs in the list as it is currently filtered. */
function belongs(n) {
  if (view.category && n.category !== view.category) return false;
  return view.status === "archived" ? Boolean(n.archived_at) : isActive(n);
}

function snoozeMenu(n) {
  const menu = el("div", { className: "menu", role: "menu", hidden: true });
  const until = {
    short: () => new Date(Date.now() + SNOOZE_SHORT_MS),
    hour: () => new Date(Date.now() + HOUR_MS),
    tomorrow: () => { const d = new Date(); d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); return d; },
  };
  for (const [key, label] of [["short", "snoozeShort"], ["hour", "snoozeHour"], ["tomorrow", "snoozeTomorrow"]]) {
    menu.append(el("button", {
      type: "button", role: "menuitem", textContent: t(label), dataset: { snooze: key },
      onclick: () => { menu.hidden = true; client.snooze(n.id, until[key]()).catch(report); },
    }));
  }
  const toggle = el("button", {
    type: "button", className: "snooze", textContent: t("snooze"), "aria-haspopup": "menu", "aria-expanded": "false",
    onclick: () => { menu.hidden = !menu.hidden; toggle.setAttribute("aria-expanded", String(!menu.hidden)); },
  });
  return [toggle, menu];
}

function render(n) {
  const li = el("li", { tabIndex: 0, dataset: { id: n.id, seq: String(n.seq) } });
  const time = el("time", { className: "ago", dateTime: n.created_at, textContent: relativeTime(t, n.created_at, Date.now()) });
  const meta = el("span", { className: "meta" }, `${n.category} · `, time);
  const tools = el("div", { className: "tools" });
  (n.actions || []).slice(0, 2).forEach((a, i) => {
    tools.append(el("button", {
      type: "button", className: "action", textContent: a.label,
      onclick: async () => {
        try {
          const res = await client.clickAction(n.id, i);
          const target = safeActionUrl(res?.url);
          if (target) location.assign(target);
        } catch (e) { report(e); }
      },
    }));
  });
  tools.append(el("button", {
    type: "button", className: n.archived_at ? "unarchive" : "archive", textContent: t(n.archived_at ? "unarchiveItem" : "archiveItem"),
    onclick: () => (n.archived_at ? client.unarchive(n.id) : client.archive(n.id)).catch(report),
  }));
  if (!n.archived_at) tools.append(...snoozeMenu(n));
  li.append(el("span", { className: "title", textContent: n.title }), el("span", { className: "body", textContent: n.body }), meta, tools);
  const open = () => {
    if (!n.read_at) client.markRead([n.id]);
    const target = safeActionUrl(n.action_url);
    if (target) location.assign(target);
  };
  li.addEventListener("click", (e) => { if (!e.target.closest("button")) open(); });
  li.addEventListener("keydown", (e) => {
    if (e.target === li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); open(); }
  });
  paint(li, n);
  if (!categories.has(n.category)) { categories.add(n.category); renderPrefCategories(); }
  return li;
}

/** Read and seen state onto an item; the class stays exactly `read` or `unread`. */
function paint(li, n) {
  li.className = n.read_at ? "read" : "unread";
  li.dataset.seen = String(Boolean(n.seen_at || n.read_at));
  li.setAttribute("aria-label", n.read_at ? n.title : t("unread", { title: n.title }));
  if (li.dataset.seen === "false") seenObserver.observe(li);
  else seenObserver.unobserve(li);
}

/** Places, repaints or removes one item after a change, in seq order (newest first). */
function sync(n) {
  const li = shown.get(n.id);
  if (!belongs(n)) {
    if (li) { seenObserver.unobserve(li); li.remove(); shown.delete(n.id); }
  } else if (li) {
    const archivedNow = Boolean(n.archived_at);
    if (li.querySelector(archivedNow ? ".archive" : ".unarchive")) { li.replaceWith(shown.set(n.id, render(n)).get(n.id)); }
    else paint(li, n);
  } else {
    const fresh = render(n);
    shown.set(n.id, fresh);
    const after = [...$("feed").children].find((c) => Number(c.dataset.seq) < n.seq);
    $("feed").insertBefore(fresh, after || null);
  }
  $("empty").hidden = shown.size > 0;
}

const pendingSeen = new Set();
let seenTimer = null;
const seenObserver = new IntersectionObserver((entries) => {
  for (const e of entries) if (e.isIntersecting && !$("panel").hidden) pendingSeen.add(e.target.dataset.id);
  if (pendingSeen.size && !seenTimer) {
    seenTimer = setTimeout(() => {
      const ids = [...pendingSeen];
      pendingSeen.clear();
      seenTimer = null;
      client?.markSeen(ids).catch(() => {});
    }, SEEN_BATCH_MS);
  }
}, { root: $("feed") });

async function loadMore() {
  if (!client || loading || exhausted) return;
  loading = true;
  try {
    const page = await client.list({ cursor, limit: 20, status: view.status, category: view.category || undefined });
    page.items.forEach(sync);
    cursor = page.next_cursor;
    exhausted = !cursor;
    $("empty").hidden = shown.size > 0;
    $("sentinel").textContent = exhausted ? "" : t("loadingMore");
  } catch (e) {
    $("status").textContent = t("loadFailed", { message: e.message });
  } finally {
    loading = false;
  }
}

function reload() {
  shown.forEach((li) => seenObserver.unobserve(li));
  shown.clear();
  $("feed").replaceChildren();
  $("empty").textContent = t(view.status === "archived" ? "emptyArchive" : "empty");
  cursor = null;
  exhausted = false;
  loadMore();
}

let tabsTimer = null;
function refreshTabs() {
  clearTimeout(tabsTimer);
  tabsTimer = setTimeout(async () => {
    let cats;
    try {
      cats = await client.categories();
    } catch {
      // A server without the categories endpoint: tabs from what is loaded.
      const counts = new Map();
      for (const n of client.store.items.values()) {
        counts.set(n.category, (counts.get(n.category) || 0) + (!n.read_at && isActive(n) ? 1 : 0));
      }
      cats = [...counts].map(([category, unread_count]) => ({ category, unread_count }));
    }
    renderTabs(cats);
  }, TABS_REFRESH_MS);
}

function renderTabs(cats) {
  const tab = (category, label, unread) => {
    const selected = view.category === category;
    const b = el("button", {
      type: "button", role: "tab", className: "tab", "aria-selected": String(selected), tabIndex: selected ? 0 : -1,
      dataset: { category: category ?? "" },
      onclick: () => { view.category = category; renderTabs(cats); reload(); },
    }, label);
    if (unread > 0) b.append(el("span", { className: "tab-badge", textContent: String(unread) }));
    return b;
  };
  const total = cats.reduce((sum, c) => sum + c.unread_count, 0);
  $("tabs").replaceChildren(tab(null, t("all"), total), ...[...cats].sort((a, b) => a.category.localeCompare(b.category))
    .map((c) => tab(c.category, c.category, c.unread_count)));
}

function showView(status) {
  view.status = status;
  $("view-inbox").setAttribute("aria-pressed", String(status === "active"));
  $("view-archive").setAttribute("aria-pressed", String(status === "archived"));
  reload();
}

function renderPrefCategories() {
  const box = $("categories");
  box.querySelectorAll("label").forEach((l) => l.remove());
  $("no-categories").hidden = categories.size > 0;
  for (const cat of [...categories].sort()) {
    const input = el("input", { type: "checkbox", dataset: { category: cat }, checked: currentPrefs?.categories?.[cat]?.in_app !== false });
    input.addEventListener("change", () => savePrefs({ categories: { [cat]: { in_app: input.checked } } }));
    box.append(el("label", {}, input, cat));
  }
}

function renderPrefs(doc) {
  currentPrefs = doc;
  const box = $("channels");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const [key, name] of CHANNELS) {
    const input = el("input", { type: "checkbox", dataset: { channel: key }, checked: doc.channels[key] !== false });
    input.addEventListener("change", () => savePrefs({ channels: { [key]: input.checked } }));
    box.append(el("label", {}, input, name));
  }
  Object.keys(doc.categories || {}).forEach((c) => categories.add(c));
  renderPrefCategories();
}

async function savePrefs(patch) {
  try {
    renderPrefs(await client.preferences.update(patch));
    $("prefs-result").textContent = "Saved.";
  } catch (e) {
    $("prefs-result").textContent = `Not saved: ${e.message}`;
  }
}

function connect(token) {
  client?.close();
  client = Herald.connect({ url: location.origin, token });
  window.heraldClient = client; // for tests and the console
  const showStatus = (s) => {
    $("status").textContent = t(s === "open" && client.transport === "sse" ? "openSse" : s);
    document.body.dataset.status = s;
    document.body.dataset.transport = client.transport;
  };
  client.on("status", showStatus);
  client.on("transport", () => showStatus(client.status));
  client.on("unread_count", (n) => { setUnread(n); refreshTabs(); });
  client.on("unseen_count", setUnseen);
  client.on("notification", (n) => { sync(client.store.items.get(n.id) || n); refreshTabs(); });
  client.on("update", sync);
  client.on("deleted", (ids) => ids.forEach((id) => { shown.get(id)?.remove(); shown.delete(id); }));
  client.on("resync", reload);
  reload();
  refreshTabs();
  client.preferences.get().then(renderPrefs).catch(() => {});
  $("connect-card").hidden = true;
}

$("bell").addEventListener("click", () => {
  const panel = $("panel");
  const open = panel.hidden;
  panel.hidden = !open;
  $("bell").setAttribute("aria-expanded", String(open));
  if (open) $("feed").querySelector("li")?.focus();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !$("panel").hidden) { $("panel").hidden = true; $("bell").setAttribute("aria-expanded", "false"); $("bell").focus(); }
});
$("mark-all").addEventListener("click", () => client?.markAllRead());
$("view-inbox").addEventListener("click", () => showView("active"));
$("view-archive").addEventListener("click", () => showView("archived"));
$("send-test").addEventListener("click", async () => {
  if (!client) return;
  try { await client.sendTest(); $("test-result").textContent = "Sent."; } catch (e) { $("test-result").textContent = e.message; }
});
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  if (token) { sessionStorage.setItem("herald-token", token); connect(token); }
});
new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadMore(), { root: $("feed").parentElement }).observe($("sentinel"));
setInterval(() => {
  for (const time of document.querySelectorAll("#feed time.ago")) time.textContent = relativeTime(t, time.dateTime, Date.now());
}, RELATIVE_TIME_REFRESH_MS);

setUnread(0);
setUnseen(0);
const initial = tokenFromLocation() || sessionStorage.getItem("herald-token");
if (initial) { sessionStorage.setItem("herald-token", initial); connect(initial); }
