"""Try a line: the real queue decision, and the chat memory left exactly as it was."""

from core.chat import IncomingChat, QueueName, Source
from core.line_preview import preview_line
from core.queue_rules import ChatMemory, decide
from core.settings import Settings

SETTINGS = Settings(username="streamer", per_user_cooldown=30.0, banned_words=("badword",), bits_min=100,
                    read_username_bits=False)


def chat(text: str, user: str = "viewer", bits: int | None = None, source: Source = Source.APP_HTTP) -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=source, bits_amount=bits)


def test_preview_matches_the_real_decision() -> None:
    for line in (chat("@streamer sooooo good"), chat("no mention"), chat("@streamer badword"),
                 chat("cheer", bits=5), chat("cheer", bits=500), chat("!command @streamer")):
        preview = preview_line(line, SETTINGS, ChatMemory(), 0.0)
        decision = decide(line, SETTINGS, ChatMemory(), 0.0)
        assert (preview.spoken, preview.spoken_text, preview.queue, preview.reason) == (
            decision.will_speak, decision.spoken_text, decision.queue, decision.reason)
    assert preview_line(chat("cheer", bits=500), SETTINGS, ChatMemory(), 0.0).to_dict() == {
        "spoken": True, "spoken_text": "cheer", "queue": "bits", "reason": None, "source": "cheer", "lang": "a",
        "lang_source": "default"}
    assert preview_line(chat("no mention"), SETTINGS, ChatMemory(), 0.0).to_dict()["source"] is None


def test_preview_never_touches_the_memory() -> None:
    memory = ChatMemory()
    for _ in range(3):  # trying never starts a cooldown nor counts as a delivery
        assert preview_line(chat("@streamer hi"), SETTINGS, memory, 1.0).spoken
    assert decide(chat("@streamer hi", source=Source.TWITCH), SETTINGS, memory, 2.0).will_speak


def test_preview_sees_the_live_cooldown() -> None:
    memory = ChatMemory()
    assert decide(chat("@streamer first"), SETTINGS, memory, 0.0).will_speak
    preview = preview_line(chat("@streamer second"), SETTINGS, memory, 10.0)
    assert not preview.spoken and preview.queue is QueueName.MENTIONS
    assert preview.reason is not None and preview.reason.startswith("per_user_cooldown")
