// The dashboard's page state, in one place: read it through `view`, change it only through the setters below.
// (The DOM rows of the queue are the queue module's own business: see queue.js.)

export const QUEUE_PAGE = 100;
export const QUEUE_MAX = 500;
export const HISTORY_PAGE = 25;

const page = {
  server: null, // the last WebSocket "state" frame
  counts: {}, // per queue and status, from /api/health
  shownQueue: null, // the tab on screen (null until the first state frame: then the active queue)
  queueLimit: QUEUE_PAGE,
  history: { user: "", q: "", before: null, nextBefore: null },
  previewing: null, // the row's ▶ button whose audio plays in this page
  tried: null, // the "try a line" body that would be spoken (for ▶ Hear it)
};

/** Read-only: `view.server`, `view.history.before`, … */
export const view = {
  get server() { return page.server; },
  get counts() { return page.counts; },
  get shownQueue() { return page.shownQueue; },
  get queueLimit() { return page.queueLimit; },
  get history() { return { ...page.history }; },
  get previewing() { return page.previewing; },
  get tried() { return page.tried; },
};

export function setServer(frame) {
  page.server = frame;
  if (page.shownQueue === null) page.shownQueue = frame.mode;
}

export function setCounts(counts) {
  page.counts = counts || {};
}

/** Show another queue's tab (from its first page again); false if it is already shown. */
export function setShownQueue(queue) {
  if (queue === page.shownQueue) return false;
  page.shownQueue = queue;
  page.queueLimit = QUEUE_PAGE;
  return true;
}

export function showMoreQueue() {
  page.queueLimit = Math.min(page.queueLimit + QUEUE_PAGE, QUEUE_MAX);
}

/** A new history filter: back to its newest page. */
export function setHistoryFilter(user, q) {
  page.history = { ...page.history, user, q, before: null };
}

export function setHistoryPage(before) {
  page.history.before = before;
}

export function setHistoryNextBefore(nextBefore) {
  page.history.nextBefore = nextBefore;
}

export function setPreviewing(button) {
  page.previewing = button;
}

export function setTried(body) {
  page.tried = body;
}
