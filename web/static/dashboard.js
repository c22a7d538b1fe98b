// The dashboard (GET /): status, queues, controls, history and "try a line", all live over /api/ws.
// Every piece of chat text goes into the page with textContent (see el() in api.js), never as HTML.
// This entry only wires the panels together; each lives in its own module:
//   api.js (HTTP + WebSocket client, the 401 hook), token.js (the token dialog), state.js (the page state),
//   ui.js (shared helpers and badges), status.js, controls.js, queue.js, history.js, try_line.js.

import { api, connectSocket } from "/static/api.js";
import { renderControls, setupControls } from "/static/controls.js";
import { loadHistory, refreshHistory, setupHistory } from "/static/history.js";
import { refreshQueue, renderCounts, renderTabs, setupQueue, showQueue } from "/static/queue.js";
import { authorise, pollHealth, renderConnection, renderHealth, renderState } from "/static/status.js";
import { setupToken } from "/static/token.js";
import { setupTryLine } from "/static/try_line.js";

let socket = null;

function showHealth(health) {
  renderHealth(health);
  renderCounts();
}

function onFrame(frame) {
  if (frame.type === "state") {
    renderState(frame);
    renderControls();
    renderTabs();
    renderCounts();
    refreshQueue();
    refreshHistory();
  } else if (frame.type === "play" || frame.type === "stop") {
    refreshQueue();
    refreshHistory();
  }
}

function onSocketStatus(status) {
  renderConnection(status);
  if (status === "closed") api("/api/health").catch(() => {}); // a refused token is asked for again
}

function refreshAll() {
  api("/api/health").then(showHealth, () => {});
  refreshQueue();
  loadHistory().catch(() => {});
}

async function main() {
  setupToken({ onAccepted: () => { socket?.reconnectNow(); refreshAll(); } });
  setupControls({ onModeSwitched: showQueue });
  setupQueue();
  setupHistory();
  setupTryLine();
  refreshQueue(); // in parallel with the first health check (a 401 asks for the token, once)
  loadHistory().catch(() => {});
  showHealth(await authorise());
  socket = connectSocket({ onFrame, onStatus: onSocketStatus });
  pollHealth(showHealth);
  document.body.dataset.ready = "1";
}

main();
