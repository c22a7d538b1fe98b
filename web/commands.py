"""The App's commands, shared by the HTTP routes and the WebSocket so both behave identically.

Each command takes the service and the decoded JSON body and returns ``(http_status, result)`` or raises a
refusal from ``core.errors`` (``web.errors`` says it in HTTP or in a WebSocket error frame).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.chat import Source, Status
from core.errors import Conflict
from core.logins import login_key
from service.moderation import Removal
from service.streamvoice import AcceptResult, StreamVoice
from web.payloads import (
    PayloadError,
    parse_bits,
    parse_flag,
    parse_id,
    parse_login,
    parse_message,
    parse_message_id,
    parse_mode,
    parse_optional_queue,
    parse_position,
    refusal,
)

Result = tuple[int, dict[str, Any]]


def _accepted(result: AcceptResult) -> Result:
    source = result.origin.value if result.origin else None
    if result.queued:
        return 202, {"queued": True, "id": result.id, "queue": result.queue.value if result.queue else None,
                     "source": source}
    body: dict[str, Any] = {"queued": False, "reason": result.reason}
    if result.id is not None:  # stored but deliberately not spoken (e.g. below bits_min)
        body.update(id=result.id, queue=result.queue.value if result.queue else None,
                    status=Status.SKIPPED.value, source=source)
    return 200, body


async def message(sv: StreamVoice, body: Any, source: Source) -> Result:
    return _accepted(await sv.accept(parse_message(body, source, sv.settings.current.max_input_chars)))


async def bits(sv: StreamVoice, body: Any, source: Source) -> Result:
    return _accepted(await sv.accept(parse_bits(body, source, sv.settings.current.max_input_chars)))


async def play(sv: StreamVoice, body: Any, source: Source) -> Result:
    item = await sv.playback.play()  # PlaybackConflict: a Conflict
    current = sv.playback.current
    playing = current.item if current and current.item.id == item.id else item
    return 200, {"playing": sv.describe(playing),
                 "waiting_for_audio": bool(current and current.waiting_for_audio)}


async def stop(sv: StreamVoice, body: Any, source: Source) -> Result:
    item = await sv.playback.stop()
    return 200, {"stopped": item.id if item else None}


async def clear(sv: StreamVoice, body: Any, source: Source) -> Result:
    """Clear the active queue; an optional ``queue`` must name it (else 409, nothing cleared)."""
    return 200, {"cleared": await sv.clear(parse_optional_queue(body))}  # QueueMismatch: a Conflict


async def autoplay(sv: StreamVoice, body: Any, source: Source) -> Result:
    enabled = parse_flag(body)
    await sv.playback.set_autoplay(enabled)
    return 200, {"autoplay": enabled}


async def mode(sv: StreamVoice, body: Any, source: Source) -> Result:
    queue = parse_mode(body)
    await sv.switch_queue(queue)
    return 200, {"mode": queue.value}


async def finished(sv: StreamVoice, body: Any, source: Source) -> Result:
    message_id = parse_id(body.get("id") if isinstance(body, dict) else None)
    if not await sv.playback.player_finished(message_id):
        raise Conflict(f"message {message_id} is not playing")
    return 200, {"played": message_id}


async def progress(sv: StreamVoice, body: Any, source: Source) -> Result:
    """A player says how far it has played the current item; the server then waits for it (docs/websocket.md)."""
    message_id = parse_id(body.get("id") if isinstance(body, dict) else None)
    position = parse_position(body)
    if not await sv.playback.player_progress(message_id, position):
        raise Conflict(f"message {message_id} is not playing")
    return 200, {"id": message_id, "position": position}


# --- moderation (core/moderation.py rules, service/moderation.py) ------------------------------------------
def _removal(removal: Removal) -> dict[str, Any]:
    return {"removed": removal.removed, "stopped": removal.stopped}


async def remove(sv: StreamVoice, body: Any, source: Source) -> Result:
    """Remove one item by id (``DELETE /api/messages/{id}``, frame ``remove``)."""
    message_id = parse_id(body.get("id") if isinstance(body, dict) else None)
    return 200, {"id": message_id, **_removal(await sv.moderation.remove(message_id))}


async def skip(sv: StreamVoice, body: Any, source: Source) -> Result:
    item = await sv.playback.skip()
    return 200, {"skipped": item.id if item else None}


async def pause(sv: StreamVoice, body: Any, source: Source) -> Result:
    await sv.playback.set_autoplay(False)
    sv.channel_points.tts_paused(True)  # pause_with_tts: the reward pauses on Twitch too
    return 200, {"autoplay": False}


async def resume(sv: StreamVoice, body: Any, source: Source) -> Result:
    await sv.playback.resume()
    sv.channel_points.tts_paused(False)
    return 200, {"autoplay": True}


async def purge_user(sv: StreamVoice, body: Any, source: Source) -> Result:
    login = parse_login(body)
    return 200, {"login": login_key(login), **_removal(await sv.moderation.remove_user(login))}


async def delete_message(sv: StreamVoice, body: Any, source: Source) -> Result:
    """A chat message was deleted on Twitch: remove its item. Unknown message ids are a no-op (removed 0)."""
    message_id = parse_message_id(body)
    assert message_id is not None
    return 200, {"message_id": message_id, **_removal(await sv.moderation.remove_external(message_id))}


async def approve(sv: StreamVoice, body: Any, source: Source) -> Result:
    message_id = parse_id(body.get("id") if isinstance(body, dict) else None)
    await sv.moderation.approve(message_id)
    return 200, {"approved": message_id}


async def reject(sv: StreamVoice, body: Any, source: Source) -> Result:
    message_id = parse_id(body.get("id") if isinstance(body, dict) else None)
    await sv.moderation.reject(message_id)
    return 200, {"rejected": message_id}


Command = Callable[[StreamVoice, Any, Source], Awaitable[Result]]

#: WebSocket frame ``type`` -> command.
COMMANDS: dict[str, Command] = {
    "message": message, "bits": bits, "play": play, "stop": stop, "clear": clear,
    "autoplay": autoplay, "mode": mode, "ended": finished, "stopped": finished, "progress": progress,
    "remove": remove, "skip": skip, "pause": pause, "resume": resume, "purge_user": purge_user,
    "delete_message": delete_message, "approve": approve, "reject": reject,
}


async def run(command: Command, sv: StreamVoice, body: Any, source: Source) -> Result:
    """Run a command; bad input is refused as ``payloads.refusal`` says (the service's own refusals,
    ``UnknownMessage``, ``ModerationConflict``, ``PlaybackConflict``, ``QueueMismatch``, pass as they are)."""
    try:
        return await command(sv, body, source)
    except PayloadError as exc:
        raise refusal(exc, body) from None
