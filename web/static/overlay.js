// The OBS player (GET /overlay): plays every "play" item, reports "ended", obeys "stop", reconnects by itself,
// and shows who speaks with the current word highlighted. Query parameters set the look (see README).

import { api, connectSocket, getToken, setClient, setToken } from "/static/api.js";
import { StreamPlayer } from "/static/stream_player.js";

setClient("overlay");
const params = new URLSearchParams(location.search);
if (params.get("token")) setToken(params.get("token"), { remember: false });

const $ = (id) => document.getElementById(id);
const player = $("player");
const caption = $("caption");
const lines = $("caption-lines");
const text = $("caption-text");
const root = document.documentElement.style;
const stream = new StreamPlayer(); // long lines that play while they still render ("streaming": true)

// --- look ------------------------------------------------------------------------------------------------

function colour(value) {
  // "ff0000" works as well as "%23ff0000" (a bare # cannot be typed into a URL); names and rgb() too
  return /^[0-9a-f]{3,8}$/i.test(value) ? `#${value}` : value;
}

function applyLook() {
  const size = params.get("size");
  if (size && /^\d{1,3}(\.\d+)?(px)?$/.test(size)) root.setProperty("--size", `${parseFloat(size)}px`);
  for (const [name, property] of [["color", "--color"], ["highlight", "--highlight"], ["spoken", "--spoken"],
    ["bg", "--box"], ["name_color", "--name-color"]]) {
    const value = params.get(name);
    if (value) root.setProperty(property, colour(value)); // an invalid colour is ignored by CSS
  }
  const maxLines = Number.parseInt(params.get("lines") || "", 10);
  if (maxLines >= 1 && maxLines <= 20) root.setProperty("--lines", String(maxLines));
  const position = params.get("position");
  $("stage").dataset.position = ["top", "middle", "bottom"].includes(position) ? position : "bottom";
}

const showName = !["0", "false", "no", "off"].includes((params.get("name") || "").toLowerCase());

// --- captions --------------------------------------------------------------------------------------------

const now = { id: null, words: [], spans: [], index: -1, frame: 0, hideTimer: null, streaming: false };
// Speaking rate for a streamed line's first guess at word times, until its exact timings exist.
const CHARS_PER_SECOND = 14.5;

function position() {
  return now.streaming ? stream.currentTime : player.currentTime;
}

function sounding() {
  return now.streaming ? stream.playing : !player.paused && !player.ended;
}

function validCaptions(captions) {
  return captions && Array.isArray(captions.words) && captions.words.length > 0
    && captions.words.every((w) => typeof w.text === "string" && typeof w.start === "number" && typeof w.end === "number");
}

/** Without word timings, spread the duration over the words by length (a fallback; the server sends timings). */
function estimate(spoken, duration) {
  const words = spoken.split(/\s+/).filter(Boolean);
  const total = words.reduce((sum, w) => sum + w.length + 1, 0) || 1;
  let at = 0;
  return words.map((word) => {
    const span = (duration * (word.length + 1)) / total;
    const entry = { text: word, start: at, end: at + span };
    at += span;
    return entry;
  });
}

async function timingsFor(frame) {
  if (validCaptions(frame.captions)) return frame.captions.words;
  try {
    const captions = await api(`/api/items/${frame.id}/captions`);
    if (validCaptions(captions)) return captions.words;
  } catch {
    // no timings served for this item: estimate below
  }
  return estimate(frame.spoken_text || frame.text || "", frame.duration || 0);
}

function renderWords(words) {
  now.spans = words.map((word) => {
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = word.text; // chat is text, never markup
    return span;
  });
  const parts = [];
  now.spans.forEach((span, i) => {
    if (i > 0) parts.push(" ");
    parts.push(span);
  });
  text.replaceChildren(...parts);
  lines.scrollTop = 0;
  now.index = -1;
}

function highlight() {
  const t = position();
  let index = -1;
  for (let i = 0; i < now.words.length; i += 1) {
    if (now.words[i].start <= t) index = i;
    else break;
  }
  if (index !== now.index) {
    now.spans.forEach((span, i) => {
      span.classList.toggle("spoken", i < index);
      span.classList.toggle("current", i === index);
    });
    now.index = index;
    const span = now.spans[index];
    if (span) {
      // keep the current word's line visible: it becomes the last visible line once the text overflows
      const lineHeight = span.offsetHeight || 1;
      const visible = lines.clientHeight;
      const top = span.offsetTop - text.offsetTop;
      lines.scrollTop = Math.max(0, top + lineHeight - visible);
    }
  }
  if (sounding()) now.frame = requestAnimationFrame(highlight);
}

function show(frame) {
  clearTimeout(now.hideTimer);
  $("caption-name").textContent = showName ? frame.sent_by || "" : "";
  caption.hidden = false;
}

function hide(delay = 0) {
  clearTimeout(now.hideTimer);
  now.hideTimer = setTimeout(() => {
    caption.hidden = true;
  }, delay);
}

// --- playback --------------------------------------------------------------------------------------------

let socket = null;

function halt() {
  cancelAnimationFrame(now.frame);
  stream.stop();
  now.streaming = false;
  player.pause();
  player.removeAttribute("src");
  player.load();
  now.id = null;
  delete document.body.dataset.playing;
}

async function playStream(frame) {
  const spoken = frame.spoken_text || frame.text || "";
  now.words = estimate(spoken, spoken.length / CHARS_PER_SECOND);
  renderWords(now.words);
  show(frame);
  now.streaming = true;
  try {
    await stream.play(frame.audio_url, {
      onended: finished,
      onfirst: () => {
        document.body.dataset.streaming = String(frame.id);
        cancelAnimationFrame(now.frame);
        now.frame = requestAnimationFrame(highlight);
      },
      ondone: async () => {
        // the whole line exists now, and so do its exact word timings
        try {
          const captions = await api(`/api/items/${frame.id}/captions`);
          if (now.id === frame.id && validCaptions(captions)) now.words = captions.words;
          if (now.id === frame.id && now.words.length !== now.spans.length) renderWords(now.words);
        } catch {
          // keep the estimate
        }
      },
    });
    return true;
  } catch (error) {
    console.warn("StreamVoice overlay: streaming not possible, using <audio>", frame.id, error);
    stream.stop();
    now.streaming = false;
    return false;
  }
}

async function play(frame) {
  halt();
  now.id = frame.id;
  document.body.dataset.playing = String(frame.id);
  if (frame.streaming && (await playStream(frame))) return;
  if (now.id !== frame.id) return;
  player.src = frame.audio_url;
  const words = await timingsFor(frame);
  if (now.id !== frame.id) return; // a stop or another play came meanwhile
  now.words = words;
  renderWords(words);
  show(frame);
  try {
    await player.play();
  } catch (error) {
    // autoplay refused or the audio is gone: leave the item to another player or the server's timeout
    console.warn("StreamVoice overlay could not play", frame.id, error);
    return;
  }
  cancelAnimationFrame(now.frame);
  now.frame = requestAnimationFrame(highlight);
}

function finished() {
  const id = now.id;
  cancelAnimationFrame(now.frame);
  highlight();
  now.spans.forEach((span) => {
    span.classList.remove("current");
    span.classList.add("spoken");
  });
  if (id !== null) {
    socket.send({ type: "ended", id });
    document.body.dataset.ended = String(id);
  }
  now.id = null;
  now.streaming = false;
  delete document.body.dataset.playing;
  hide(700);
}

player.addEventListener("ended", finished);

function onFrame(frame) {
  if (frame.type === "play" && typeof frame.audio_url === "string") {
    play(frame);
  } else if (frame.type === "stop" && frame.id === now.id) {
    halt();
    hide();
  }
}

// How far this player is (docs/websocket.md, `progress`): the server then waits for what it still has to say
// instead of estimating the end from the audio length (a slow machine, a stalled stream).
const PROGRESS_EVERY_MS = 1000;
setInterval(() => {
  if (socket !== null && now.id !== null && sounding()) {
    socket.send({ type: "progress", id: now.id, position: Math.max(0, position()) });
  }
}, PROGRESS_EVERY_MS);

applyLook();
socket = connectSocket({
  onFrame,
  onStatus: (status) => {
    document.body.dataset.connected = status === "open" ? "1" : "0";
  },
});
// The token is only read here to say in the console why nothing happens with a wrong one.
if (!getToken()) console.info("StreamVoice overlay: no ?token= given (needed only when the server has api_token)");
