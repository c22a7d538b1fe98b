"""Long lines speak sooner: a long mention plays from its first sentence while the rest
renders, over a real server, a real player socket and the real tiny Kokoro pipeline.

The engine is the real one; a gate holds the render after its first sentence (until the test opens it), so
"while the rest renders" is a state the test can look at instead of a race.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import dbutil
from tests.helpers import SharedEngineLoader, wait_for
from tests.players import Player
from tests.web.test_playback import mention
from tts.engine import EngineConfig, KokoroEngine, RenderCancelled

pytestmark = pytest.mark.slow  # long lines rendered sentence by sentence

LONG = ("I just wanted to say that this stream has been absolutely amazing tonight. The boss fight was "
        "incredible, and I can't believe you dodged that last attack with only one heart left! Keep it up, "
        "and please remember to take a break and drink some water, okay?")


class GatedEngine:
    """The real engine; each render stops after its first chunk until ``gate`` opens (or it is cancelled)."""

    def __init__(self, engine: KokoroEngine) -> None:
        self._engine = engine
        self.gate = threading.Event()
        self.first_chunk = threading.Event()
        self.cancelled = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def speak(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
              on_chunk: Callable[[np.ndarray], None] | None = None, **kwargs: Any) -> Any:
        def gated(audio: np.ndarray) -> None:
            self.first_chunk.set()  # before the server hears of it: its ``play`` frame then implies this
            if on_chunk is not None:
                on_chunk(audio)
            while not self.gate.wait(0.01):
                if cancel is not None and cancel.is_set():
                    self.cancelled.set()
                    raise RenderCancelled("cancelled while held")

        return self._engine.speak(text, cancel, urgent, gated, **kwargs)


async def start_gated(start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader
                      ) -> tuple[Any, Any, GatedEngine]:
    engines: list[GatedEngine] = []

    def load(config: EngineConfig) -> Any:
        if not engines:
            engines.append(GatedEngine(engine_loader(config)))
        return engines[0]

    settings = make_settings()
    client = await start_server(settings, engine_loader=load)
    await wait_for(lambda: engines, timeout=180)
    return client, settings, engines[0]


async def play_long_line(client: Any) -> tuple[Player, int, dict[str, Any]]:
    """A player, the long mention and PLAY (nothing is ready yet: it waits for audio); returns the ``play`` frame."""
    player = await Player.connect(client)
    message_id = await mention(client, LONG)
    assert (await player.command("play"))["type"] == "ack"
    return player, message_id, await player.wait_type("play", id=message_id)


def parse_stream(body: bytes) -> tuple[tuple[int, ...], bytes]:
    """(the header's RIFF size, channels, rate, bits, data size), the samples."""
    riff, = struct.unpack_from("<I", body, 4)
    channels, rate = struct.unpack_from("<HI", body, 22)
    bits, = struct.unpack_from("<H", body, 34)
    assert body[36:40] == b"data"
    data, = struct.unpack_from("<I", body, 40)
    return (riff, channels, rate, bits, data), body[44:]


async def test_a_long_line_plays_from_its_first_sentence_and_is_stored_exactly(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader) -> None:
    client, settings, engine = await start_gated(start_server, make_settings, engine_loader)
    player, message_id, play = await play_long_line(client)
    assert engine.first_chunk.is_set() and not engine.gate.is_set()  # the rest has not been rendered
    assert play["streaming"] is True and play["duration"] is None and play["audio_url"] == f"/audio/{message_id}.wav"
    row = dbutil.row(settings.database_url, message_id)
    assert row["status"] == "playing" and row["audio_path"] is None

    response = await client.get(play["audio_url"])
    assert response.status == 200 and response.headers["Content-Type"] == "audio/wav"
    head = await response.content.readexactly(44 + 4800)  # the header and the first sentence's first 0.1 s
    (riff, channels, rate, bits, data), _ = parse_stream(head)
    assert (riff, data) == (0xFFFFFFFF, 0xFFFFFFFF) and (channels, rate, bits) == (1, 24_000, 16)

    engine.gate.set()  # the other sentences render now; the same response goes on with them
    body = head + await response.read()
    _, samples = parse_stream(body)
    row = await wait_for(lambda: (r := dbutil.row(settings.database_url, message_id))["audio_path"] and r)
    assert row["status"] == "playing"  # still playing: the player has not reported its end
    stored = Path(row["audio_path"]).read_bytes()
    assert stored[44:] == samples  # every streamed sample is the stored WAV's, in order, none missing
    assert row["duration_s"] == pytest.approx(len(samples) / 2 / 24_000)
    assert struct.unpack_from("<I", stored, 40)[0] == len(samples)  # the file's header is exact
    assert row["word_timings"]

    assert (await player.command("ended", id=message_id))["type"] == "ack"
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "played")
    # a file served whole from now on: a short line is not streamed at all
    short = await mention(client, "short and sweet")
    await wait_for(lambda: dbutil.row(settings.database_url, short)["status"] == "ready")
    assert (await player.command("play"))["type"] == "ack"
    frame = await player.wait_type("play", id=short)
    assert frame["streaming"] is False and frame["duration"] > 0


async def test_stop_while_streaming_ends_the_render_and_keeps_nothing(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader) -> None:
    client, settings, engine = await start_gated(start_server, make_settings, engine_loader)
    player, message_id, _ = await play_long_line(client)

    assert (await player.command("stop"))["type"] == "ack"
    await player.wait_type("stop", id=message_id)
    await wait_for(engine.cancelled.is_set)  # nobody will hear the rest: it is not rendered
    row = dbutil.row(settings.database_url, message_id)
    assert row["status"] == "played" and row["audio_path"] is None
    assert (await client.get(f"/audio/{message_id}.wav")).status == 404
    assert not list(Path(settings.audio_dir).glob("*.wav"))


async def test_a_mode_switch_while_streaming_keeps_the_line_for_later(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader) -> None:
    client, settings, engine = await start_gated(start_server, make_settings, engine_loader)
    player, message_id, _ = await play_long_line(client)

    assert (await player.command("mode", mode="bits"))["type"] == "ack"
    await player.wait_type("stop", id=message_id)
    assert dbutil.row(settings.database_url, message_id)["status"] in {"synthesizing", "pending"}
    engine.gate.set()
    # never heard to the end: it waits in its queue, whole, for the next PLAY in mentions mode
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "ready")
    assert Path(dbutil.row(settings.database_url, message_id)["audio_path"]).is_file()
