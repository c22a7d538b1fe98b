// The status strip at the top: connection, engine, database, Twitch, who sends the chat, background loops that
// are retrying, a rejected settings edit. Fed by the WebSocket's state frames and by /api/health every 5 s.

import { api } from "/static/api.js";
import { setCounts, setServer, view } from "/static/state.js";
import { askingForToken } from "/static/token.js";
import { $, setStatus } from "/static/ui.js";

const HEALTH_EVERY_MS = 5000;

function engineLevel(engine) {
  if (!engine) return "warn";
  if (engine.startsWith("ready")) return "good";
  if (engine.startsWith("unavailable") || engine.startsWith("error")) return "bad";
  return "warn";
}

/** Show /api/health's answer (the per-queue counts go to the state; the tabs show them). */
export function renderHealth(health) {
  setStatus("st-db", health.db === "ok" ? "ok" : String(health.db), health.db === "ok" ? "good" : "bad");
  setCounts(health.queues);
  // background loops (synthesis, writer, settings watcher...) that hit a transient fault and are retrying
  const troubled = Object.entries(health.loops || {}).filter(([, state]) => state !== "ok");
  $("st-loops-item").hidden = troubled.length === 0;
  $("st-loops").textContent = troubled.map(([name, state]) => `${name}: ${state}`).join(" · ");
  const rejected = health.settings && health.settings.rejected;
  $("st-settings-item").hidden = !rejected;
  if (rejected) $("st-settings").textContent = `${rejected.key}: ${rejected.problem}`;
  if (!view.server) {
    setStatus("st-engine", String(health.engine), engineLevel(String(health.engine)));
    setStatus("st-twitch", String(health.twitch), health.twitch === "connected" ? "good" : "neutral");
    setStatus("st-ingest", String(health.ingest_source), health.ingest_source === "none" ? "warn" : "good");
  }
}

/** Show a WebSocket "state" frame (and keep it as the page's server state). */
export function renderState(state) {
  setServer(state);
  const engine = String(state.engine || "");
  setStatus("st-engine", engine, engineLevel(engine));
  const twitch = String(state.twitch || "");
  setStatus("st-twitch", twitch, twitch === "connected" ? "good" : twitch.startsWith("error") ? "bad" : "neutral");
  const ingest = String(state.ingest_source || "");
  setStatus("st-ingest", { app: "the App", twitch: "Twitch bot", none: "nobody" }[ingest] || ingest,
    ingest === "none" ? "warn" : "good");
}

export function renderConnection(status) {
  const text = { open: "live", connecting: "connecting…", closed: "reconnecting…" }[status];
  setStatus("st-connection", text, status === "open" ? "good" : "warn");
}

/** Until /api/health answers, wait (a 401 asks for the token: a page without it can do nothing). */
export async function authorise() {
  for (;;) {
    try {
      return await api("/api/health");
    } catch {
      setStatus("st-db", "server unreachable", "bad");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

/** /api/health every 5 s; onHealth(health) after each answer. */
export function pollHealth(onHealth) {
  setInterval(() => {
    if (askingForToken()) return; // a refused check already waits for the token
    api("/api/health").then(onHealth, () => setStatus("st-db", "server unreachable", "bad"));
  }, HEALTH_EVERY_MS);
}
