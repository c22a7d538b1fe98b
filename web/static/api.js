// The one client of the StreamVoice API used by both pages: JSON over fetch and the /api/ws WebSocket.
// Same origin only; every JSON body is sent as application/json; the token (when the server has one)
// travels as "Authorization: Bearer" over HTTP and as ?token= on the WebSocket (browsers cannot set headers there).

const TOKEN_KEY = "streamvoice.token";

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

let token = null;
// Which page this is ("dashboard" | "overlay"): the server must not take our pages for the streamer's App.
let client = "dashboard";

export function setClient(name) {
  client = name;
}

export function getToken() {
  if (token === null) {
    try {
      token = localStorage.getItem(TOKEN_KEY) || "";
    } catch {
      token = "";
    }
  }
  return token;
}

export function setToken(value, { remember = true } = {}) {
  token = value || "";
  if (!remember) return;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode or storage disabled: the token lives for this page only
  }
}

// The one answer to a 401: a page may register a hook that gets a token (the dashboard asks for it in a dialog)
// and resolves once there is one; the refused call is then sent again with it. Without a hook (the overlay, whose
// token comes in its URL) a 401 rejects like any other refusal.
let unauthorised = null;

/** Register the page's 401 hook: () => Promise resolved when a new token is set. */
export function onUnauthorised(hook) {
  unauthorised = hook;
}

/**
 * fetch() an /api route; resolves to the decoded JSON (or the Response with raw), rejects with ApiError.
 * A 401 goes to the page's hook and the call is retried with the new token; askToken: false rejects instead
 * (tryToken's check of a token just typed in must not ask for one).
 */
export async function api(path, { method = "GET", body, raw = false, askToken = true } = {}) {
  for (;;) {
    const sent = getToken();
    try {
      return await request(path, method, body, raw);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401 && askToken && unauthorised)) throw error;
      // refused with a token that has been replaced meanwhile: just send it again with the new one
      if (getToken() === sent) await unauthorised();
    }
  }
}

/** Set a token the person typed in and check it with /api/health: false if the server refuses it (401). */
export async function tryToken(value) {
  setToken(value);
  try {
    await api("/api/health", { askToken: false });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
  }
  return true;
}

async function request(path, method, body, raw) {
  const headers = { Accept: "application/json", "X-StreamVoice-Client": client };
  const current = getToken();
  if (current) headers.Authorization = `Bearer ${current}`;
  const init = { method, headers, cache: "no-store", credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "the server cannot be reached");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let field;
    try {
      const data = await response.json();
      if (data && typeof data.error === "string") message = data.error;
      field = data && data.field;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message, field);
  }
  return raw ? response : response.json();
}

/**
 * A WebSocket to /api/ws that reconnects by itself with exponential backoff (0.5 s doubling to 10 s, with
 * jitter). onFrame gets each decoded server frame; onStatus gets "open" | "closed" | "connecting".
 */
export function connectSocket({ onFrame, onStatus = () => {} }) {
  let socket = null;
  let delay = 500;
  let stopped = false;
  let timer = null;

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ client });
    const current = getToken();
    if (current) query.set("token", current);
    return `${scheme}//${location.host}/api/ws?${query}`;
  }

  function open() {
    if (stopped) return;
    onStatus("connecting");
    socket = new WebSocket(url());
    socket.addEventListener("open", () => {
      delay = 500;
      onStatus("open");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onFrame(frame);
    });
    socket.addEventListener("close", () => {
      socket = null;
      onStatus("closed");
      if (stopped) return;
      const wait = delay * (0.75 + Math.random() * 0.5);
      delay = Math.min(delay * 2, 10000);
      timer = setTimeout(open, wait);
    });
  }

  open();
  return {
    send(frame) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(frame));
        return true;
      }
      return false;
    },
    reconnectNow() {
      clearTimeout(timer);
      delay = 500;
      if (socket) socket.close();
      else open();
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}

/** A DOM element with text content only (never HTML): chat text is data, not markup. */
export function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
    }
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
