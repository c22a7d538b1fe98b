// The history panel: what was played, skipped or failed, newest first, with a user / text filter, paging back
// (Older » / « Newest) and ↻ Replay. Only its newest page follows live changes.

import { api, el } from "/static/api.js";
import { HISTORY_PAGE, setHistoryFilter, setHistoryNextBefore, setHistoryPage, view } from "/static/state.js";
import { act, flash, showError } from "/static/controls.js";
import { refreshQueue } from "/static/queue.js";
import { $, langBadge, refundBadge, throttle, when, whoCell } from "/static/ui.js";

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

/** Fetch and show the history page the filter and paging name. */
export async function loadHistory() {
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
  setHistoryNextBefore(page.next_before);
  $("history-older").hidden = !page.next_before;
  $("history-newest").hidden = !h.before;
}

/** Follow a live change (at most once a second), on the newest page only. */
export const refreshHistory = throttle(async () => {
  if (!view.history.before) await loadHistory();
}, 1000);

export function setupHistory() {
  $("history-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    setHistoryFilter($("history-user").value.trim(), $("history-text").value.trim());
    loadHistory().catch(showError);
  });
  $("history-older").addEventListener("click", () => {
    setHistoryPage(view.history.nextBefore);
    loadHistory().catch(showError);
  });
  $("history-newest").addEventListener("click", () => {
    setHistoryPage(null);
    loadHistory().catch(showError);
  });
}
