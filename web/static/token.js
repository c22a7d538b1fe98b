// The API token dialog: api.js's 401 hook. Any call the server refuses for want of the token waits here until a
// token that /api/health accepts is typed in, and is then sent again (see onUnauthorised in api.js).

import { getToken, onUnauthorised, tryToken } from "/static/api.js";
import { $, setStatus } from "/static/ui.js";

const REFUSED = "That token was refused (wrong token). Check api_token in settings.yaml.";
let waiters = [];

/** True while the dialog waits for a token (calls refused meanwhile are already waiting for it). */
export function askingForToken() {
  return waiters.length > 0;
}

/** Open the dialog (once, however many calls were refused); resolves when a good token is set. */
function askToken() {
  const dialog = $("token-dialog");
  const refused = Boolean(getToken());
  const problem = $("auth-problem");
  problem.textContent = refused
    ? "The server refused the saved API token. Enter the token from settings.yaml."
    : "This server needs its API token.";
  problem.hidden = false;
  const error = $("token-error");
  error.hidden = !refused;
  error.textContent = REFUSED;
  setStatus("st-connection", "waiting for the token", "warn");
  if (!dialog.open) dialog.showModal();
  $("token-input").focus();
  return new Promise((resolve) => waiters.push(resolve));
}

/** Wire the dialog and make it the page's 401 hook; onAccepted runs after a new token was accepted. */
export function setupToken({ onAccepted }) {
  onUnauthorised(askToken);
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!await tryToken($("token-input").value.trim())) {
      $("token-error").hidden = false;
      $("token-error").textContent = REFUSED;
      $("token-input").select();
      return;
    }
    $("token-dialog").close();
    $("auth-problem").hidden = true;
    $("token-input").value = "";
    const accepted = waiters;
    waiters = [];
    for (const resolve of accepted) resolve();
    onAccepted();
  });
  $("token-dialog").addEventListener("cancel", (event) => event.preventDefault()); // Esc would leave a dead page
}
