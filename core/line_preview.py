"""Try a line: what the queue rules would do with a chat line, without any side effect.

The dashboard asks "what would be spoken if ``viewer42`` wrote this?". The answer must come from the very
rules ingest uses (``decide``), under the current settings and the chat memory as it is now (so a chatter's
cooldown shows), yet trying a line must never count as that chatter having spoken: the rules run on a copy
of the memory.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from core.chat import IncomingChat, Origin, QueueName
from core.language import Scorer
from core.queue_rules import ChatMemory, decide
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class LinePreview:
    """``spoken``: it would be queued and spoken as ``spoken_text``; otherwise ``reason`` says why not.

    ``queue`` is where it would be stored (``None``: it would not be stored at all, e.g. not a mention).
    """

    spoken: bool
    spoken_text: str
    queue: QueueName | None
    reason: str | None
    #: Why it would be queued (mention, chat, command, cheer...); ``None`` when it would not be stored.
    source: Origin | None = None
    #: The language it would be spoken in and why (``core.language.LangSource``); empty when not stored.
    lang: str = ""
    lang_source: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"spoken": self.spoken, "spoken_text": self.spoken_text,
                "queue": self.queue.value if self.queue else None, "reason": self.reason,
                "source": self.source.value if self.source else None,
                "lang": self.lang or None, "lang_source": self.lang_source or None}


def preview_line(chat: IncomingChat, settings: Settings, memory: ChatMemory, now: float, *,
                 viewer_lang: str | None = None, scorer: Scorer | None = None) -> LinePreview:
    """The queue decision for ``chat``; ``memory`` is left exactly as it was."""
    decision = decide(chat, settings, copy.deepcopy(memory), now, viewer_lang=viewer_lang, scorer=scorer)
    stored = decision.queue is not None
    source = (chat.origin or decision.origin) if decision.stored else None
    return LinePreview(spoken=decision.will_speak, spoken_text=decision.spoken_text, queue=decision.queue,
                       reason=decision.reason, source=source, lang=decision.lang if stored else "",
                       lang_source=decision.lang_source.value if stored else "")
