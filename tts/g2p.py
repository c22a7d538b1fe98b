"""English grapheme-to-phoneme that survives being offline.

misaki's English G2P loads spaCy's ``en_core_web_sm`` and, when it is missing, tries to download it; with no
internet that raises. StreamVoice then keeps misaki's own pronunciation lexicon (numbers, money, times,
heteronyms it can decide without tags) on top of spaCy's rule-based English tokenizer, with espeak-ng for
words outside the lexicon. Only if that fails too does it fall back to plain espeak-ng phonemes.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

#: Punctuation tags misaki understands (Penn Treebank style).
_TAG_FOR_PUNCT = {'"': '""', "“": "``", "”": "''", "(": "-LRB-", ")": "-RRB-"}
_CURRENCY = frozenset({"$", "£", "€"})


def _punct_tagger(doc: Any) -> Any:
    """The few Penn Treebank tags misaki's lexicon relies on: currency ``$``, numbers ``CD``, punctuation.

    With them misaki reads "$5.50" as "five dollars and fifty cents" and keeps pauses at punctuation.
    """
    for token in doc:
        if token.text in _CURRENCY:
            token.tag_ = "$"
        elif token.like_num and any(c.isdigit() for c in token.text):
            token.tag_ = "CD"
        elif token.is_punct and token.text != "#":
            token.tag_ = _TAG_FOR_PUNCT.get(token.text, token.text)
    return doc


def lexicon_g2p(british: bool) -> Any:
    """misaki's English G2P with a blank spaCy tokenizer instead of the downloadable tagger model."""
    import spacy
    from misaki import en, espeak
    from spacy.language import Language

    if "streamvoice_punct_tagger" not in Language.factories:
        Language.component("streamvoice_punct_tagger")(_punct_tagger)

    class LexiconG2P(en.G2P):
        def __init__(self) -> None:  # deliberately skips en.G2P.__init__ (it downloads a spaCy model)
            self.version = None
            self.british = british
            self.nlp = spacy.blank("en")
            self.nlp.add_pipe("streamvoice_punct_tagger")
            self.lexicon = en.Lexicon(british)
            self.fallback = espeak.EspeakFallback(british=british)
            self.unk = ""

    return LexiconG2P()


def espeak_g2p(british: bool) -> Any:
    """Plain espeak-ng phonemes (misaki's EspeakG2P), the last resort."""
    from misaki import espeak

    return espeak.EspeakG2P(language="en-gb" if british else "en-us")
