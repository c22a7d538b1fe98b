"""What the dashboard asks of the service beyond the App's commands: queue pages, history, replay, try a line.

Same service, same rules: pages read through the repository (keyset pages, never a whole table), a replay
is a new queued row, and "try a line" runs the real queue rules on a copy of the chat memory.
"""

from __future__ import annotations

import asyncio
import io
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np
import soundfile as sf

from core.chat import IncomingChat, QueueName
from core.errors import Conflict, NotFound, Unavailable
from core.language_rules import voice_for_language
from core.line_preview import LinePreview, preview_line
from service.languages import scorer_for
from service.streamvoice import StreamVoice
from service.views import item_fields, queue_sizes
from storage import history
from storage.messages import StoredMessage
from tts.engine import SAMPLE_RATE

#: Preview renders run one at a time on their own thread, never on the event loop or a synthesis lane.
_PREVIEW_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


# --- queue ----------------------------------------------------------------------------------------------
async def queue_page(sv: StreamVoice, queue: QueueName | None, after: int | None, limit: int) -> dict[str, Any]:
    """One page of a queue in play order (``queue`` defaults to the active one).

    ``next_after`` is the cursor of the next page (``None`` on the last one). Replays come first on page one.
    """
    shown = queue or sv.playback.active_queue
    store = sv.db.store
    # one trip to the database thread for both reads (it is shared with ingest and synthesis)
    items, all_counts = await sv.db.call(lambda: (store.waiting(shown, limit + 1, after), store.counts()))
    more = len(items) > limit
    items = items[:limit]
    next_after = None
    if more:
        next_after = max((i.id for i in items if i.replay_of is None), default=after or 0)
    return {
        "mode": sv.playback.active_queue.value, "queue": shown.value, **queue_sizes(all_counts, shown),
        "items": [_queue_item(sv, i) for i in items], "next_after": next_after,
    }


def _queue_item(sv: StreamVoice, item: StoredMessage) -> dict[str, Any]:
    return {**sv.describe(item), "replay_of": item.replay_of, "received_at": _iso(item.received_at)}


# --- history --------------------------------------------------------------------------------------------
async def history_page(sv: StreamVoice, *, user: str, text: str, before: int | None, limit: int) -> dict[str, Any]:
    page: history.HistoryPage = await sv.db.call(
        lambda: history.history_page(sv.db.store, user=user, text=text, before=before, limit=limit))
    return {"items": [_history_entry(e) for e in page.entries], "next_before": page.next_before}


def _history_entry(entry: history.HistoryEntry) -> dict[str, Any]:
    item = entry.item
    return {
        **item_fields(item), "outcome": entry.outcome, "reason": item.reason,
        "received_at": _iso(item.received_at), "ended_at": _iso(entry.ended_at), "replay_of": item.replay_of,
        "replayable": history.replay_refusal(item) is None, "lang": item.lang,
    }


async def replay(sv: StreamVoice, message_id: int) -> dict[str, Any]:
    """Queue a copy of a finished item at the front of its queue (synthesised again)."""
    result: history.ReplayResult = await sv.db.call(history.replay, sv.db.store, message_id)
    if not result.found:
        raise NotFound(f"message {message_id} not found")
    if result.item is None:
        raise Conflict(result.refusal or "cannot replay")
    item = result.item
    sv.worker.wake(item.queue)
    sv.playback.items_changed()
    sv.events.state_changed()
    return {"queued": True, "id": item.id, "queue": item.queue.value, "replay_of": message_id,
            "awaiting_approval": item.awaiting_approval}


# --- try a line -----------------------------------------------------------------------------------------
def try_line(sv: StreamVoice, chat: IncomingChat) -> dict[str, Any]:
    """What the queue rules would do with ``chat`` now (nothing stored, the chat memory untouched), and the
    voice it would be spoken in."""
    preview = _preview(sv, chat)
    return {**preview.to_dict(), "voice": _voice_for(sv, chat, preview.lang) if preview.spoken else None}


def _preview(sv: StreamVoice, chat: IncomingChat) -> LinePreview:
    settings = sv.settings.current
    return preview_line(chat, settings, sv.memory, time.monotonic(), viewer_lang=sv.languages.choice(chat.sent_by),
                        scorer=scorer_for(settings))


def _voice_for(sv: StreamVoice, chat: IncomingChat, lang: str) -> str:
    return voice_for_language(chat.sent_by, sv.settings.current, lang or sv.settings.current.lang_code,
                              sv.voices.get(chat.sent_by))


async def render_line(sv: StreamVoice, chat: IncomingChat) -> bytes:
    """The WAV of what ``chat`` would say, in the chatter's voice, synthesised off the event loop; not queued,
    not stored."""
    preview: LinePreview = _preview(sv, chat)
    if not preview.spoken:
        raise Conflict(f"this line would not be spoken: {preview.reason}")
    engine = sv.worker.engine
    if engine is None:
        raise Unavailable(f"the speech engine is not ready ({sv.worker.state})")
    voice = _voice_for(sv, chat, preview.lang)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            _PREVIEW_THREAD,
            lambda: _wav_bytes(engine.synthesize(preview.spoken_text, voice=voice, lang=preview.lang or None)))
    except Exception as exc:
        raise Unavailable(f"synthesis failed: {type(exc).__name__}: {exc}") from exc


def _wav_bytes(audio: np.ndarray) -> bytes:
    if audio.size == 0:
        raise ValueError("the text produced no audio")
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio.astype(np.float32).reshape(-1), -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16",
             format="WAV")
    return buffer.getvalue()
