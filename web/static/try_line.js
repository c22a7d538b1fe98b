// "Try a line": would this chat line be spoken, how, and in which queue (POST /api/try, nothing is stored), and
// ▶ Hear it (POST /api/try/audio, played in this page only).

import { api, el } from "/static/api.js";
import { setTried, view } from "/static/state.js";
import { act } from "/static/controls.js";
import { $, LANGUAGES } from "/static/ui.js";

function tryBody() {
  const body = { sent_by: $("try-user").value.trim(), text: $("try-text").value };
  const bits = $("try-bits").value.trim();
  if (bits) body.bits_amount = Number(bits);
  const roles = $("try-badges").value.trim(); // empty: unknown roles (passes the roles gate, like the App)
  if (roles) body.badges = roles.split(/[\s,]+/).filter(Boolean);
  if ($("try-first").checked) body.first_message = true;
  return body;
}

async function check(event) {
  event.preventDefault();
  const result = $("try-result");
  try {
    const answer = await api("/api/try", { method: "POST", body: tryBody() });
    setTried(answer.spoken ? tryBody() : null);
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
  }
}

async function hear() {
  const response = await api("/api/try/audio", { method: "POST", body: view.tried || tryBody(), raw: true });
  const audio = $("preview-audio");
  const url = URL.createObjectURL(await response.blob());
  audio.addEventListener("ended", () => URL.revokeObjectURL(url), { once: true });
  audio.src = url;
  document.body.dataset.tryAudio = "loaded";
  await audio.play();
}

export function setupTryLine() {
  $("try-form").addEventListener("submit", check);
  $("try-hear").addEventListener("click", (event) => act(event.currentTarget, hear));
}
