// The controls panel: PLAY / STOP / SKIP / AUTOPLAY / mode / CLEAR, "now playing", and the panel's message line
// (a refusal from the server, or a short notice), which every button of the page reports into through act().

import { api, ApiError, el } from "/static/api.js";
import { view } from "/static/state.js";
import { $, sourceIcon } from "/static/ui.js";

export function showError(error) {
  const node = $("control-error");
  node.textContent = error instanceof ApiError && error.status ? `${error.message} (${error.status})` : String(error.message || error);
  node.hidden = false;
}

function clearError() {
  $("control-error").hidden = true;
}

export function flash(message) {
  const node = $("control-error");
  node.textContent = message;
  node.hidden = false;
  node.dataset.kind = "info";
  setTimeout(() => {
    if (node.textContent === message) node.hidden = true;
    delete node.dataset.kind;
  }, 4000);
}

/** Run an API call from a button: disable it meanwhile, show the server's refusal text. */
export async function act(button, call) {
  clearError();
  delete $("control-error").dataset.kind;
  button.disabled = true;
  try {
    return await call();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    button.disabled = false;
    renderControls();
  }
}

export function renderControls() {
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

/** Wire the buttons; onModeSwitched(queue) shows the queue that is now active. */
export function setupControls({ onModeSwitched }) {
  $("btn-play").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/play", { method: "POST" })));
  $("btn-stop").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/stop", { method: "POST" })));
  $("btn-skip").addEventListener("click", (event) => act(event.currentTarget, () => api("/api/skip", { method: "POST" })));
  $("btn-autoplay").addEventListener("click", (event) => act(event.currentTarget, () =>
    api("/api/autoplay", { method: "PUT", body: { enabled: !(view.server && view.server.autoplay) } })));
  $("btn-mode").addEventListener("click", (event) => act(event.currentTarget, async () => {
    const target = event.currentTarget.dataset.target || "bits";
    await api("/api/mode", { method: "PUT", body: { mode: target } });
    onModeSwitched(target);
  }));
  $("btn-clear").addEventListener("click", (event) => {
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
}
