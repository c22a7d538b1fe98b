// Small pieces the dashboard's panels share: element lookup, the status strip's cells, a throttle, formats and
// the badges an item row shows (its source, its language, its channel-points refund state).

import { el } from "/static/api.js";

export const $ = (id) => document.getElementById(id);

export function setStatus(id, text, level) {
  const node = $(id);
  node.textContent = text;
  node.dataset.level = level;
}

/** Run fn at most once per ms; calls meanwhile fold into one more run afterwards (never two at once). */
export function throttle(fn, ms) {
  let timer = null;
  let running = false;
  let pending = false;
  let last = 0;
  function schedule() {
    if (timer || running) {
      pending = true;
      return;
    }
    timer = setTimeout(async () => {
      timer = null;
      running = true;
      pending = false;
      last = Date.now();
      try {
        await fn();
      } catch {
        // the next change runs it again (a 401 is answered in api.js: the token is asked for)
      } finally {
        running = false;
        if (pending) schedule();
      }
    }, Math.max(0, last + ms - Date.now()));
  }
  return schedule;
}

export function seconds(value) {
  return typeof value === "number" ? `${value.toFixed(1)} s` : "—";
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

// Why an item is queued (its "source"): an icon, with the words in its tooltip.
const SOURCES = {
  mention: ["@", "mention: the line @mentions you"],
  chat: ["✎", "chat: read because triggers.mode is all (or a first-time chatter)"],
  command: ["!", "command: the trigger command (e.g. !tts)"],
  cheer: ["◆", "cheer: bits"],
  channel_points: ["◎", "channel points: a reward redemption"],
  notification: ["★", "notification: a sub, resub, gift or raid"],
  app: ["□", "app: sent by the App"],
  api: ["⚙", "api: added through the API"],
};

export function sourceIcon(source) {
  const [icon, title] = SOURCES[source] || ["•", source || "unknown source"];
  return el("span", { className: `src src-${source}`, text: icon, attrs: { title, "aria-label": title, role: "img" } });
}

export function whoCell(item) {
  return [sourceIcon(item.source), el("span", { className: "name", text: item.sent_by })];
}

// --- languages: a small badge with the language each item is spoken in -----------------------------------

export const LANGUAGES = { a: "en", b: "en-GB", e: "es", f: "fr", h: "hi", i: "it", p: "pt", j: "ja", z: "zh" };

export function langBadge(lang) {
  if (!lang) return "";
  const code = LANGUAGES[lang] || lang;
  return el("span", { className: "badge lang", text: code, attrs: { title: `spoken in ${code}`, "data-lang": lang } });
}

// --- channel points: the refund state of an item paid with points (docs/queue-rules.md) ----------------------
export function refundBadge(item) {
  const state = item.redemption_status;
  if (!state) return null;
  const [kind, detail] = String(state).split(": ");
  const text = {
    unfulfilled: "points held", fulfilled: "points kept", canceled: "refunded",
    pending: detail === "canceled" ? "refund pending" : "points kept · sending",
    failed: detail === "canceled" ? "refund failed" : "not sent",
  }[kind] || state;
  const key = kind === "pending" ? `pending-${detail}` : kind;
  return el("span", {
    className: `badge refund r-${key}`, text,
    attrs: { title: item.redemption_error || `channel points: ${state}` },
  });
}
