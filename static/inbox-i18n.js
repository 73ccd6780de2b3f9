// The demo inbox's own strings, in English and German, and relative times
// ("3 min ago"). Pure, so Node tests it without a browser. Notification
// titles and bodies are the sender's text and are never translated here.

const STRINGS = {
  en: {
    notifications: "Notifications",
    bellLabel: "Notifications, {n} unread",
    unseen: "{n} new",
    markAllRead: "Mark all read",
    all: "All",
    tabsLabel: "Categories",
    inbox: "Inbox",
    archive: "Archive",
    archiveItem: "Archive",
    unarchiveItem: "Move to inbox",
    snooze: "Snooze",
    snoozeShort: "For 10 seconds",
    snoozeHour: "For 1 hour",
    snoozeTomorrow: "Until tomorrow 9:00",
    unread: "Unread: {title}",
    empty: "No notifications yet.",
    emptyArchive: "Nothing archived.",
    loadingMore: "Loading more…",
    loadFailed: "Could not load notifications: {message}",
    actionFailed: "That did not work: {message}",
    connecting: "Connecting…",
    open: "Live",
    openSse: "Live (SSE)",
    reconnecting: "Reconnecting…",
    closed: "Disconnected",
    justNow: "just now",
    minutesAgo: "{n} min ago",
    hoursAgo: "{n} h ago",
    daysAgo: "{n} d ago",
  },
  de: {
    notifications: "Benachrichtigungen",
    bellLabel: "Benachrichtigungen, {n} ungelesen",
    unseen: "{n} neu",
    markAllRead: "Alle als gelesen markieren",
    all: "Alle",
    tabsLabel: "Kategorien",
    inbox: "Posteingang",
    archive: "Archiv",
    archiveItem: "Archivieren",
    unarchiveItem: "In den Posteingang",
    snooze: "Später erinnern",
    snoozeShort: "In 10 Sekunden",
    snoozeHour: "In 1 Stunde",
    snoozeTomorrow: "Morgen um 9:00",
    unread: "Ungelesen: {title}",
    empty: "Noch keine Benachrichtigungen.",
    emptyArchive: "Nichts archiviert.",
    loadingMore: "Weitere werden geladen…",
    loadFailed: "Benachrichtigungen konnten nicht geladen werden: {message}",
    actionFailed: "Das hat nicht geklappt: {message}",
    connecting: "Verbinde…",
    open: "Live",
    openSse: "Live (SSE)",
    reconnecting: "Verbinde neu…",
    closed: "Getrennt",
    justNow: "gerade eben",
    minutesAgo: "vor {n} Min.",
    hoursAgo: "vor {n} Std.",
    daysAgo: "vor {n} T.",
  },
};

export const LANGUAGES = Object.keys(STRINGS);

/**
 * The language to show: `?lang=` if it names one we have, else the first of
 * the browser's languages we have, else English.
 * @param {string} search `location.search` @param {readonly string[]} preferred `navigator.languages`
 */
export function pickLanguage(search, preferred = []) {
  const asked = new URLSearchParams(search).get("lang");
  for (const tag of [asked, ...preferred]) {
    const base = String(tag || "").toLowerCase().split("-")[0];
    if (STRINGS[base]) return base;
  }
  return "en";
}

/** A translator for `lang`: `t("unseen", {n: 3})`. Unknown keys show as themselves. */
export function translator(lang) {
  const table = STRINGS[lang] || STRINGS.en;
  return (key, vars = {}) =>
    (table[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** "just now", "3 min ago", "2 h ago", "4 d ago" between two instants (ms or parseable text). */
export function relativeTime(t, then, now) {
  const at = typeof then === "number" ? then : Date.parse(then);
  const seconds = Math.max(0, Math.floor((Number(now) - at) / 1000));
  if (seconds < 60) return t("justNow");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("minutesAgo", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t("hoursAgo", { n: hours });
  return t("daysAgo", { n: Math.floor(hours / 24) });
}
