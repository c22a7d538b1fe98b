// The dashboard (GET /): status, queues, controls, history and "try a line", all live over /api/ws.
// Every piece of chat text goes into the page with textContent (see el() in api.js), never as HTML.

import { api, ApiError, connectSocket, el, getToken, setToken } from "/static/api.js";

// --- languages: a small badge with the language each item is spoken in -----------------------------------

const LANGUAGES = { a: "en", b: "en-GB", e: "es", f: "fr", h: "hi", i: "it", p: "pt", j: "ja", z: "zh" };

function langBadge(lang) {
  if (!lang) return "";
  const code = LANGUAGES[lang] || lang;
  return el("span", { className: "badge lang", text: code, attrs: { title: `spoken in ${code}`, "data-lang": lang } });
}

const $ = (id) => document.getElementById(id);
const QUEUE_PAGE = 100;
const HISTORY_PAGE = 25;
const HEALTH_EVERY_MS = 5000;

const view = {
  server: null, // the last WebSocket "state" frame
  counts: {}, // per queue and status, from /api/health
  shownQueue: null, // the tab on screen (null until the first state frame: then the active queue)
  queueLimit: QUEUE_PAGE,
  queueNextAfter: null,
  history: { user: "", q: "", before: null, newer: [], nextBefore: null },
  previewing: null,
  tried: null,
};

// --- small helpers ---------------------------------------------------------------------------------------

function setStatus(id, text, level) {
  const node = $(id);
  node.textContent = text;
  node.dataset.level = level;
}

function showError(error) {
  const node = $("control-error");
  node.textContent = error instanceof ApiError && error.status ? `${error.message} (${error.status})` : String(error.message || error);
  node.hidden = false;
}

function clearError() {
  $("control-error").hidden = true;
}

function flash(message) {
  const node = $("control-error");
  node.textContent = message;
  node.hidden = false;
  node.dataset.kind = "info";
  setTimeout(() => {
    if (node.textContent === message) node.hidden = true;
    delete node.dataset.kind;
  }, 4000);
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

function sourceIcon(source) {
  const [icon, title] = SOURCES[source] || ["•", source || "unknown source"];
  return el("span", { className: `src src-${source}`, text: icon, attrs: { title, "aria-label": title, role: "img" } });
}

function whoCell(item) {
  return [sourceIcon(item.source), el("span", { className: "name", text: item.sent_by })];
}

/** Run an API call from a button: disable it meanwhile, show the server's refusal text. */
async function act(button, call) {
  clearError();
  delete $("control-error").dataset.kind;
  button.disabled = true;
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) askToken(true);
    else showError(error);
    return undefined;
  } finally {
    button.disabled = false;
    renderControls();
  }
}

/** Run fn at most once per ms; calls meanwhile fold into one more run afterwards (never two at once). */
function throttle(fn, ms) {
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
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) askToken(true);
      } finally {
        running = false;
        if (pending) schedule();
      }
    }, Math.max(0, last + ms - Date.now()));
  }
  return schedule;
}

function seconds(value) {
  return typeof value === "number" ? `${value.toFixed(1)} s` : "—";
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

// --- token -----------------------------------------------------------------------------------------------

let tokenWaiters = [];

function askToken(refused) {
  const dialog = $("token-dialog");
  const problem = $("auth-problem");
  problem.textContent = refused && getToken()
    ? "The server refused the saved API token. Enter the token from settings.yaml."
    : "This server needs its API token.";
  problem.hidden = false;
  const error = $("token-error");
  error.hidden = !(refused && getToken());
  error.textContent = "That token was refused (wrong token). Check api_token in settings.yaml.";
  setStatus("st-connection", "waiting for the token", "warn");
  if (!dialog.open) dialog.showModal();
  $("token-input").focus();
  return new Promise((resolve) => tokenWaiters.push(resolve));
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  setToken($("token-input").value.trim());
  try {
    await api("/api/health");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      $("token-error").hidden = false;
      $("token-error").textContent = "That token was refused (wrong token). Check api_token in settings.yaml.";
      $("token-input").select();
      return;
    }
  }
  $("token-dialog").close();
  $("auth-problem").hidden = true;
  $("token-input").value = "";
  const waiters = tokenWaiters;
  tokenWaiters = [];
  for (const resolve of waiters) resolve();
  socket?.reconnectNow();
  refreshAll();
});

$("token-dialog").addEventListener("cancel", (event) => event.preventDefault()); // Esc would leave a dead page

/** Until /api/health answers, ask for the token (a page without it can do nothing). */
async function authorise() {
  for (;;) {
    try {
      return await api("/api/health");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        await askToken(Boolean(getToken()));
        continue;
      }
      setStatus("st-db", "server unreachable", "bad");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

// --- status strip ----------------------------------------------------------------------------------------

function engineLevel(engine) {
  if (!engine) return "warn";
  if (engine.startsWith("ready")) return "good";
  if (engine.startsWith("unavailable") || engine.startsWith("error")) return "bad";
  return "warn";
}

function renderHealth(health) {
  setStatus("st-db", health.db === "ok" ? "ok" : String(health.db), health.db === "ok" ? "good" : "bad");
  view.counts = health.queues || {};
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
  renderCounts();
}

function waitingCount(queue) {
  const counts = view.counts[queue] || {};
  return (counts.pending || 0) + (counts.synthesizing || 0) + (counts.ready || 0);
}

function renderCounts() {
  for (const queue of ["mentions", "bits"]) {
    let size = waitingCount(queue);
    if (view.server && view.server.mode === queue && typeof view.server.size === "number") size = view.server.size;
    $(`count-${queue}`).textContent = `(${size})`;
  }
}

function renderState(state) {
  view.server = state;
  const engine = String(state.engine || "");
  setStatus("st-engine", engine, engineLevel(engine));
  const twitch = String(state.twitch || "");
  setStatus("st-twitch", twitch, twitch === "connected" ? "good" : twitch.startsWith("error") ? "bad" : "neutral");
  const ingest = String(state.ingest_source || "");
  setStatus("st-ingest", { app: "the App", twitch: "Twitch bot", none: "nobody" }[ingest] || ingest,
    ingest === "none" ? "warn" : "good");
  if (view.shownQueue === null) view.shownQueue = state.mode;
  renderControls();
  renderTabs();
  renderCounts();
}

function renderControls() {
  const state = view.server;
  if (!state) return;
  const playing = state.now_playing;
  $("btn-play").disabled = Boolean(playing) || !state.size;
  $("btn-play").title = playing ? "Something is playing" : state.size ? "" : `The ${state.mode} queue is empty`;
  $("btn-stop").disabled = !playing && !state.autoplay_running;
  $("btn-skip").disabled = !playing;
  const autoplay = $("btn-autoplay");
  autoplay.setAttribute("aria-pressed", String(Boolean(state.autoplay)));
  $("autoplay-state").textContent = state.autoplay ? (state.autoplay_running ? "on · running" : "on") : "off";
  const cooldown = state.autoplay_cooldown;
  $("autoplay-cooldown").textContent = typeof cooldown === "number" ? `cooldown ${cooldown} s` : "";
  const other = state.mode === "mentions" ? "bits" : "mentions";
  $("btn-mode").textContent = `Switch to ${other}`;
  $("btn-mode").dataset.target = other;
  $("btn-clear").disabled = !state.size;
  const now = $("now-playing");
  if (playing) {
    now.replaceChildren("Playing: ", sourceIcon(playing.source), " ", el("strong", { text: playing.sent_by }), " — ",
      el("span", { text: playing.spoken_text || playing.text }));
  } else if (state.waiting_for_audio) {
    now.textContent = "Waiting for the audio…";
  } else {
    now.textContent = "Nothing playing.";
  }
}

function renderTabs() {
  const active = view.server ? view.server.mode : null;
  for (const queue of ["mentions", "bits"]) {
    const tab = $(`tab-${queue}`);
    tab.setAttribute("aria-selected", String(queue === view.shownQueue));
    tab.tabIndex = queue === view.shownQueue ? 0 : -1;
    $(`active-${queue}`).hidden = queue !== active;
    tab.classList.toggle("is-active-queue", queue === active);
  }
}

async function refreshHealth() {
  renderHealth(await api("/api/health"));
}

// --- queue -----------------------------------------------------------------------------------------------

const rows = new Map(); // id -> <tr>

const shown = new Map(); // id -> [item, performance.now() when fetched], for the hold countdown

function statusOf(item, fetchedAt = performance.now()) {
  if (item.awaiting_approval) return { text: "held · needs approval", key: "held" };
  if (item.status === "held" || item.held === true) {
    const given = item.held_seconds_left;
    if (typeof given !== "number") return { text: "held", key: "held" };
    // counted down here from what the server said (no clock skew with a moderator's PC)
    const left = given - (performance.now() - fetchedAt) / 1000;
    return { text: `held · ${Math.max(0, Math.ceil(left))} s`, key: "held", left };
  }
  return { text: String(item.status), key: String(item.status) };
}

setInterval(() => {
  let expired = false;
  for (const [id, [item, fetchedAt]] of shown) {
    if (!item.held || item.awaiting_approval) continue;
    const status = statusOf(item, fetchedAt);
    const badge = rows.get(id)?.children[3].firstChild;
    if (badge) badge.textContent = status.text;
    if (status.left !== undefined && status.left <= 0) expired = true;
  }
  if (expired) refreshQueue(); // the hold is over: show what the item is now
}, 1000);

// --- channel points: the refund state of an item paid with points (docs/queue-rules.md) ----------------------
function refundBadge(item) {
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

function queueRow(item) {
  let row = rows.get(item.id);
  if (!row) {
    row = el("tr", { attrs: { "data-id": item.id } });
    const preview = el("button", { text: "▶", className: "icon", attrs: { type: "button" } });
    preview.addEventListener("click", () => togglePreview(row.dataset.audio, preview));
    const remove = el("button", { text: "✕", className: "icon danger", attrs: { type: "button" } });
    remove.addEventListener("click", () => act(remove, async () => {
      await api(`/api/messages/${encodeURIComponent(row.dataset.id)}`, { method: "DELETE" });
      flash(`Removed #${row.dataset.id}.`);
      refreshQueue();
    }));
    const approve = el("button", { text: "✓", className: "icon", attrs: { type: "button", hidden: true } });
    approve.addEventListener("click", () => act(approve, async () => {
      await api(`/api/messages/${encodeURIComponent(row.dataset.id)}/approve`, { method: "POST" });
      refreshQueue();
    }));
    const reject = el("button", { text: "✗", className: "icon danger", attrs: { type: "button", hidden: true } });
    reject.addEventListener("click", () => act(reject, async () => {
      await api(`/api/messages/${encodeURIComponent(row.dataset.id)}/reject`, { method: "POST" });
      refreshQueue();
    }));
    row.append(el("td", { className: "num" }), el("td", { className: "who" }), el("td", { className: "says" }),
      el("td", { className: "state" }), el("td", { className: "num" }), el("td", { className: "voice" }),
      el("td", { className: "actions" }, [approve, reject, preview, remove]));
    rows.set(item.id, row);
  }
  const cells = row.children;
  const status = statusOf(item);
  shown.set(item.id, [item, performance.now()]);
  cells[0].textContent = item.replay_of ? `${item.id} ↻` : String(item.id);
  cells[0].title = item.replay_of ? `replay of #${item.replay_of}` : "";
  cells[1].replaceChildren(...whoCell(item));
  cells[2].textContent = item.spoken_text ?? item.text;
  cells[2].title = item.text;
  cells[3].replaceChildren(...[el("span", { className: `badge s-${status.key}`, text: status.text }),
    refundBadge(item)].filter(Boolean));
  cells[4].textContent = seconds(item.duration);
  cells[5].replaceChildren(langBadge(item.lang), item.voice || "—");
  cells[5].title = item.voice || "";
  cells[1].title = item.sent_by;
  row.dataset.audio = item.audio_url || "";
  const [approve, reject, preview, remove] = cells[6].children;
  approve.hidden = reject.hidden = !item.awaiting_approval;
  approve.setAttribute("aria-label", `Approve cheer ${item.id} from ${item.sent_by}`);
  reject.setAttribute("aria-label", `Reject cheer ${item.id} from ${item.sent_by}`);
  preview.disabled = !item.audio_url;
  preview.setAttribute("aria-label", `Preview message ${item.id} from ${item.sent_by} in this page`);
  preview.title = item.audio_url ? "Preview here (not on stream)" : "No audio yet";
  remove.setAttribute("aria-label", `Remove message ${item.id} from ${item.sent_by}`);
  remove.title = "Remove from the queue";
  remove.disabled = item.status === "playing";
  row.className = `row-${status.key}`;
  return row;
}

function renderQueue(page) {
  const body = $("queue-rows");
  const keep = new Set();
  page.items.forEach((item, index) => {
    const row = queueRow(item);
    keep.add(item.id);
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
  });
  for (const [id, row] of rows) {
    if (!keep.has(id)) {
      row.remove();
      rows.delete(id);
      shown.delete(id);
    }
  }
  $("queue-empty").hidden = page.items.length > 0;
  $("queue-empty").textContent = `The ${page.queue} queue is empty.`;
  view.queueNextAfter = page.next_after;
  const more = $("queue-more");
  more.hidden = page.next_after === null || page.next_after === undefined;
  const rest = page.size - page.items.length;
  more.textContent = rest > 0 ? `Show ${Math.min(rest, QUEUE_PAGE)} more` : "Show more";
  $("queue-shown").textContent = page.size > page.items.length ? `showing ${page.items.length} of ${page.size}` : "";
  document.body.dataset.queueLoaded = String(Date.now());
  if (!performance.getEntriesByName("first-queue-render").length) performance.mark("first-queue-render");
}

const refreshQueue = throttle(async () => {
  const queue = view.shownQueue || "mentions";
  const page = await api(`/api/queue?queue=${queue}&limit=${view.queueLimit}`);
  if (queue === view.shownQueue || view.shownQueue === null) renderQueue(page);
}, 100);

function showQueue(queue) {
  if (queue === view.shownQueue) return;
  view.shownQueue = queue;
  view.queueLimit = QUEUE_PAGE;
  renderTabs();
  refreshQueue();
}

for (const queue of ["mentions", "bits"]) {
  const tab = $(`tab-${queue}`);
  tab.addEventListener("click", () => showQueue(queue));
  tab.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const other = queue === "mentions" ? "bits" : "mentions";
      showQueue(other);
      $(`tab-${other}`).focus();
    }
  });
}

$("queue-more").addEventListener("click", () => {
  view.queueLimit = Math.min(view.queueLimit + QUEUE_PAGE, 500);
  refreshQueue();
});

function togglePreview(url, button) {
  const audio = $("preview-audio");
  if (view.previewing === button && !audio.paused) {
    audio.pause();
    button.textContent = "▶";
    view.previewing = null;
    return;
  }
  if (view.previewing) view.previewing.textContent = "▶";
  if (!url) return;
  audio.src = url;
  view.previewing = button;
  button.textContent = "❚❚";
  audio.play().catch((error) => showError(error));
}

$("preview-audio").addEventListener("ended", () => {
  if (view.previewing) view.previewing.textContent = "▶";
  view.previewing = null;
});

// --- controls --------------------------------------------------------------------------------------------

$("btn-play").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/play", { method: "POST" })));
$("btn-stop").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/stop", { method: "POST" })));
$("btn-skip").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/skip", { method: "POST" })));
$("btn-autoplay").addEventListener("click", (event) => act(event.currentTarget, () =>
  api("/api/autoplay", { method: "PUT", body: { enabled: !(view.server && view.server.autoplay) } })));
$("btn-mode").addEventListener("click", (event) => act(event.currentTarget, async () => {
  const target = event.currentTarget.dataset.target || "bits";
  await api("/api/mode", { method: "PUT", body: { mode: target } });
  showQueue(target);
}));
$("btn-clear").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const state = view.server || { size: 0, mode: "mentions" };
  const confirmedQueue = state.mode;
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent =
    `Clear ${state.size} item${state.size === 1 ? "" : "s"} from the ${state.mode} queue? They will not be spoken.`;
  $("confirm-ok").textContent = `Clear ${state.size}`;
  dialog.returnValue = "";
  dialog.showModal();
  $("confirm-cancel").focus();
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok") return;
    act(button, async () => {
      // the queue the dialog named: after a mode switch meanwhile the server refuses (409), clears nothing
      const result = await api("/api/clear", { method: "POST", body: { queue: confirmedQueue } });
      flash(`Cleared ${result.cleared} item${result.cleared === 1 ? "" : "s"}.`);
    });
  }, { once: true });
});

// --- history ---------------------------------------------------------------------------------------------

function outcomeText(entry) {
  const reason = entry.reason ? `: ${entry.reason}` : "";
  if (entry.outcome === "skipped" || entry.outcome === "error") return `${entry.outcome}${reason}`;
  return entry.outcome;
}

function historyRow(entry) {
  const replay = el("button", { text: "↻ Replay", attrs: { type: "button", "aria-label": `Replay message ${entry.id} from ${entry.sent_by}` } });
  replay.disabled = !entry.replayable;
  replay.title = entry.replayable ? "Queue it again, at the front" : "Cannot be replayed";
  replay.addEventListener("click", () => act(replay, async () => {
    const result = await api(`/api/messages/${entry.id}/replay`, { method: "POST" });
    flash(`#${entry.id} queued again at the front of ${result.queue} (#${result.id}).`);
    refreshQueue();
  }));
  const row = el("tr", { attrs: { "data-id": entry.id } }, [
    el("td", { className: "when", text: when(entry.ended_at), attrs: { title: entry.ended_at } }),
    el("td", { className: "who" }, whoCell(entry)),
    el("td", { className: "says", attrs: { title: entry.text } }, [langBadge(entry.lang), entry.spoken_text || entry.text]),
    el("td", {}, [el("span", { className: `badge o-${entry.outcome}`, text: outcomeText(entry) }),
      refundBadge(entry)].filter(Boolean)),
    el("td", { className: "actions" }, [replay]),
  ]);
  return row;
}

async function loadHistory() {
  const h = view.history;
  const params = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (h.user) params.set("user", h.user);
  if (h.q) params.set("q", h.q);
  if (h.before) params.set("before", String(h.before));
  const page = await api(`/api/history?${params}`);
  $("history-rows").replaceChildren(...page.items.map(historyRow));
  $("history-empty").hidden = page.items.length > 0;
  // a filtered page searches a bounded stretch of the history: none here, but Older » may find more further back
  $("history-empty").textContent = !(h.user || h.q) ? "Nothing here yet."
    : page.next_before ? "Nothing matches in this stretch of the history; Older » searches further back."
      : "Nothing matches this filter.";
  h.nextBefore = page.next_before;
  $("history-older").hidden = !page.next_before;
  $("history-newest").hidden = !h.before;
}

const refreshHistory = throttle(async () => {
  if (!view.history.before) await loadHistory(); // only the newest page follows live changes
}, 1000);

$("history-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  view.history = { ...view.history, user: $("history-user").value.trim(), q: $("history-text").value.trim(), before: null };
  loadHistory().catch(showError);
});
$("history-older").addEventListener("click", () => {
  view.history.before = view.history.nextBefore;
  loadHistory().catch(showError);
});
$("history-newest").addEventListener("click", () => {
  view.history.before = null;
  loadHistory().catch(showError);
});

// --- try a line ------------------------------------------------------------------------------------------

function tryBody() {
  const body = { sent_by: $("try-user").value.trim(), text: $("try-text").value };
  const bits = $("try-bits").value.trim();
  if (bits) body.bits_amount = Number(bits);
  const roles = $("try-badges").value.trim(); // empty: unknown roles (passes the roles gate, like the App)
  if (roles) body.badges = roles.split(/[\s,]+/).filter(Boolean);
  if ($("try-first").checked) body.first_message = true;
  return body;
}

$("try-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = $("try-result");
  try {
    const answer = await api("/api/try", { method: "POST", body: tryBody() });
    view.tried = answer.spoken ? tryBody() : null;
    $("try-hear").disabled = !answer.spoken;
    result.dataset.kind = answer.spoken ? "spoken" : "refused";
    if (answer.spoken) {
      result.replaceChildren(`Would be spoken (${answer.queue} queue, as ${answer.source}): `, el("q", { className: "spoken", text: answer.spoken_text }),
        answer.voice ? el("span", { className: "hint", text: ` · voice ${answer.voice}` }) : "",
        answer.lang ? el("span", { className: "hint", text: ` · ${LANGUAGES[answer.lang] || answer.lang} (${answer.lang_source})` }) : "");
    } else {
      const where = answer.queue ? `stored in ${answer.queue} but not spoken` : "not queued";
      result.replaceChildren(`Would not be spoken (${where}): `, el("strong", { className: "reason", text: answer.reason }));
    }
  } catch (error) {
    $("try-hear").disabled = true;
    result.dataset.kind = "error";
    result.textContent = error.message;
    if (error instanceof ApiError && error.status === 401) askToken(true);
  }
});

$("try-hear").addEventListener("click", (event) => act(event.currentTarget, async () => {
  const response = await api("/api/try/audio", { method: "POST", body: view.tried || tryBody(), raw: true });
  const audio = $("preview-audio");
  const url = URL.createObjectURL(await response.blob());
  audio.addEventListener("ended", () => URL.revokeObjectURL(url), { once: true });
  audio.src = url;
  document.body.dataset.tryAudio = "loaded";
  await audio.play();
}));

// --- live updates ----------------------------------------------------------------------------------------

let socket = null;

function onFrame(frame) {
  if (frame.type === "state") {
    renderState(frame);
    refreshQueue();
    refreshHistory();
  } else if (frame.type === "play" || frame.type === "stop") {
    refreshQueue();
    refreshHistory();
  }
}

function onSocketStatus(status) {
  const text = { open: "live", connecting: "connecting…", closed: "reconnecting…" }[status];
  setStatus("st-connection", text, status === "open" ? "good" : "warn");
  if (status === "closed") {
    api("/api/health").catch((error) => {
      if (error instanceof ApiError && error.status === 401) askToken(true);
    });
  }
}

function refreshAll() {
  refreshHealth().catch(() => {});
  refreshQueue();
  loadHistory().catch(() => {});
}

async function main() {
  refreshQueue(); // in parallel with the first health check (a 401 asks for the token, once)
  loadHistory().catch(() => {});
  renderHealth(await authorise());
  socket = connectSocket({ onFrame, onStatus: onSocketStatus });
  setInterval(() => refreshHealth().catch((error) => {
    if (error instanceof ApiError && error.status === 401) askToken(true);
    else setStatus("st-db", "server unreachable", "bad");
  }), HEALTH_EVERY_MS);
  document.body.dataset.ready = "1";
}

main();
