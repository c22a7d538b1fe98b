"""One G2P pipeline per language, built on first use and sharing the engine's one model.

The engine's own pipeline (``lang_code``) is built at load; another language's ``KPipeline`` is made the first
time a line in it is planned, with ``model=False`` (it only phonemizes: the engine renders every language with
its one ``KModel``). English keeps misaki (with the offline fallbacks of ``tts.engine._make_pipeline``);
Spanish, French, Italian, Brazilian Portuguese and Hindi use espeak-ng through ``espeakng-loader``; Japanese and
Chinese use misaki's extras (settings refuse them where those are not installed), read offline: see
``prepare_japanese``. A pipeline that cannot be built fails only the lines in that language (the error names it).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: (pipeline, G2P kind: ``misaki``/``misaki-lexicon``/``espeak``/``misaki-ja``/``misaki-zh``)
Built = tuple[Any, str]


class LanguagePipelines:
    """``get(code)``: the pipeline for a Kokoro language code, built once (thread-safe)."""

    def __init__(self, default_code: str, default: Built, make: Callable[[str], Built]) -> None:
        self.default_code = default_code
        self._built: dict[str, Built] = {default_code: default}
        self._make = make
        self._lock = threading.Lock()

    def get(self, code: str | None) -> Built:
        code = (code or self.default_code).lower()
        built = self._built.get(code)
        if built is not None:
            return built
        with self._lock:
            built = self._built.get(code)
            if built is None:
                try:
                    built = self._make(code)
                except (Exception, SystemExit) as exc:  # misaki extras missing, espeak data missing...
                    raise RuntimeError(f"no G2P for language {code!r}: {type(exc).__name__}: {exc}") from exc
                self._built[code] = built
                log.info("G2P pipeline for language %r ready (%s)", code, built[1])
        return built

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._built)


def make_g2p_pipeline(code: str, repo_id: str, english: Callable[[str], Built]) -> Built:
    """A G2P-only ``KPipeline`` for ``code`` (no model of its own)."""
    from kokoro import KPipeline

    if code in {"a", "b"}:
        return english(code)
    if code == "j":
        prepare_japanese()
    kind = {"j": "misaki-ja", "z": "misaki-zh"}.get(code, "espeak")
    return KPipeline(lang_code=code, repo_id=repo_id, model=False), kind


def prepare_japanese() -> None:
    """Make kokoro's Japanese G2P (``misaki.ja.JAG2P()``, which reads with cutlet: fugashi + unidic-lite) work
    with nothing downloaded, before ``KPipeline(lang_code='j')`` is built.

    - ``misaki.ja`` imports ``pyopenjtalk`` at its top but the cutlet reader never calls it; pyopenjtalk (a C++
      build from source) downloads its dictionary from GitHub the first time it reads. Where it is not installed, a
      stand-in that refuses every use is imported in its place, so that path cannot run.
    - fugashi's ``Tagger()`` prefers the ``unidic`` package (whose dictionary is a ~500 MB download) over
      ``unidic-lite``: cutlet's tagger is pinned to unidic-lite's bundled dictionary.
    """
    if "misaki.ja" not in sys.modules and importlib.util.find_spec("pyopenjtalk") is None:
        sys.modules["pyopenjtalk"] = _refusing_module(
            "pyopenjtalk", "pyopenjtalk downloads its dictionary at first use; StreamVoice reads Japanese with "
                           "misaki's cutlet reader (fugashi + unidic-lite) instead")
        try:
            import misaki.ja  # noqa: F401  (binds the stand-in as misaki.ja.pyopenjtalk)
        finally:
            del sys.modules["pyopenjtalk"]
    import fugashi
    import unidic_lite
    from misaki import cutlet

    dicdir = unidic_lite.DICDIR
    arg = f'-d "{dicdir}" -r "{os.path.join(dicdir, "mecabrc")}"'
    cutlet.Tagger = lambda *_: fugashi.Tagger(arg)  # type: ignore[attr-defined]


def _refusing_module(name: str, why: str) -> types.ModuleType:
    module = types.ModuleType(name)

    def refuse(attribute: str) -> Any:
        raise RuntimeError(f"{name}.{attribute} is not available: {why}")

    module.__getattr__ = refuse  # type: ignore[method-assign]
    return module
