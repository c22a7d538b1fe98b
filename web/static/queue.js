// The queue panel: the two tabs with their counts, the rows of the shown queue (kept and updated in place, with
// the hold countdown), their buttons (approve / reject a cheer, preview, remove) and "Show more".

import { api, el } from "/static/api.js";
import { QUEUE_PAGE, setPreviewing, setShownQueue, showMoreQueue, view } from "/static/state.js";
import { act, flash, showError } from "/static/controls.js";
import { $, langBadge, refundBadge, seconds, throttle, whoCell } from "/static/ui.js";

const QUEUES = ["mentions", "bits"];
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

function countDownHolds() {
  let expired = false;
  for (const [id, [item, fetchedAt]] of shown) {
    if (!item.held || item.awaiting_approval) continue;
    const status = statusOf(item, fetchedAt);
    const badge = rows.get(id)?.children[3].firstChild;
    if (badge) badge.textContent = status.text;
    if (status.left !== undefined && status.left <= 0) expired = true;
  }
  if (expired) refreshQueue(); // the hold is over: show what the item is now
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
  const more = $("queue-more");
  more.hidden = page.next_after === null || page.next_after === undefined;
  const rest = page.size - page.items.length;
  more.textContent = rest > 0 ? `Show ${Math.min(rest, QUEUE_PAGE)} more` : "Show more";
  $("queue-shown").textContent = page.size > page.items.length ? `showing ${page.items.length} of ${page.size}` : "";
  document.body.dataset.queueLoaded = String(Date.now());
  if (!performance.getEntriesByName("first-queue-render").length) performance.mark("first-queue-render");
}

/** Fetch the shown queue's page again (at most one request at a time, at most every 100 ms). */
export const refreshQueue = throttle(async () => {
  const queue = view.shownQueue || "mentions";
  const page = await api(`/api/queue?queue=${queue}&limit=${view.queueLimit}`);
  if (queue === view.shownQueue || view.shownQueue === null) renderQueue(page);
}, 100);

export function showQueue(queue) {
  if (!setShownQueue(queue)) return;
  renderTabs();
  refreshQueue();
}

export function renderTabs() {
  const active = view.server ? view.server.mode : null;
  for (const queue of QUEUES) {
    const tab = $(`tab-${queue}`);
    tab.setAttribute("aria-selected", String(queue === view.shownQueue));
    tab.tabIndex = queue === view.shownQueue ? 0 : -1;
    $(`active-${queue}`).hidden = queue !== active;
    tab.classList.toggle("is-active-queue", queue === active);
  }
}

function waitingCount(queue) {
  const counts = view.counts[queue] || {};
  return (counts.pending || 0) + (counts.synthesizing || 0) + (counts.ready || 0);
}

/** Each tab's size: the live one from the state frame for the active queue, else /api/health's counts. */
export function renderCounts() {
  for (const queue of QUEUES) {
    let size = waitingCount(queue);
    if (view.server && view.server.mode === queue && typeof view.server.size === "number") size = view.server.size;
    $(`count-${queue}`).textContent = `(${size})`;
  }
}

function togglePreview(url, button) {
  const audio = $("preview-audio");
  if (view.previewing === button && !audio.paused) {
    audio.pause();
    button.textContent = "▶";
    setPreviewing(null);
    return;
  }
  if (view.previewing) view.previewing.textContent = "▶";
  if (!url) return;
  audio.src = url;
  setPreviewing(button);
  button.textContent = "❚❚";
  audio.play().catch((error) => showError(error));
}

export function setupQueue() {
  setInterval(countDownHolds, 1000);
  for (const queue of QUEUES) {
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
    showMoreQueue();
    refreshQueue();
  });
  $("preview-audio").addEventListener("ended", () => {
    if (view.previewing) view.previewing.textContent = "▶";
    setPreviewing(null);
  });
}
