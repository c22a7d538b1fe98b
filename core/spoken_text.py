"""What a chat line sounds like: pure text hygiene between Twitch chat and the G2P.

Nothing here does I/O; ``normalize_chat_text`` is a deterministic function of the text and a ``SpeechRules``.
Everything runs in time linear in the input (hand-written single passes plus a few regexes without nested
quantifiers), because chat text is hostile: a 10,000-character zalgo, ``@``, ``!?`` or URL flood must not
stall the speech queue.

What the normaliser does, in order:

1. Characters. Control characters are dropped (tabs and newlines become spaces), as are zero-width and other
   format characters (ZWSP, ZWJ, BOM, bidi controls, the invisible U+E0000 tag Chatterino appends to dodge
   Twitch's duplicate-message check), unassigned and private-use code points, and Braille/Hangul "blank"
   fillers. Emoji and other pictographic symbols (Unicode category ``So``, skin-tone modifiers, flags) are
   dropped rather than read out: Kokoro would either say nothing or "face with tears of joy"; the words around
   them carry the meaning. More than two combining marks on one character is a zalgo flood: a Latin, Greek
   or Cyrillic letter then loses all its marks ("Ȩ̬̩̾͛" -> "E"), other scripts keep the first two. Marks are
   capped *before* NFC (CPython's canonical reordering is quadratic in a run of marks); after NFC, a mark
   still uncomposed on a Latin, Greek or Cyrillic letter is dropped too (real accents such as é have composed
   by then). ``…`` is spelled ``...``.
   Markup-like runs are dropped next: HTML/XML tags (``<b>``, ``</i>``, ``<img src=x onerror=alert(1)>``,
   ``<!-- ... -->``, a tag with attributes cut off at the end of the line) and entities (``&lt;``, ``&#62;``)
   are page syntax, never speech; a ``<script>``/``<style>`` element goes with its contents (code); ``<3`` and
   "a < b > c" are not tags and stay.
2. Words (whitespace-separated tokens). Exact Twitch emote names from ``rules.emotes``, cheermotes such as
   ``Cheer100`` and a few text emoticons (``:)``, ``<3``, ``xD``) are dropped. URLs, with or without a
   scheme, ``www.`` hosts, bare domains with a known TLD (``clips.twitch.tv/Abc``, ``example.gg``) and e-mail
   addresses become the word "link"; back-to-back links become one "link". A bare ``host.tld`` only counts
   when the last label is in a short list of common TLDs, so "e.g.", "3.5", "Mr.Smith" and "file.txt" stay
   text. ``@name`` reads as the name: ``@`` dropped, underscores become spaces and trailing digits go
   ("@cool_guy_99" -> "cool guy"; an all-digit name is kept). The streamer's own ``@username`` is dropped
   when it opens the message (with a following comma or colon), since every spoken message is addressed to
   them; elsewhere it reads as the name like any other.
3. Floods. Letters repeated more than three times are squeezed to three ("soooooo" -> "sooo"); digits never
   are, so "1000000" survives. A two- or three-letter unit repeated four or more times inside a word is cut
   to three ("hahahahaha" -> "hahaha"). Runs of ``!?.,;:`` become one mark: "?!" when both ``?`` and ``!``
   appear, "..." for two or more dots, otherwise the first mark; runs of any other repeated symbol become one
   ("~~~~" -> "~"). A word or a phrase of up to four words repeated three or more times in a row is said once,
   case-insensitively ("LUL LUL LUL LUL" -> "LUL", "haha haha haha" -> "haha"). Two in a row are kept:
   "bye bye" and "very very" are normal speech.
4. Numbers, money and times are *not* rewritten: misaki reads "3,497", "3:30" and "1000000" itself, and
   nothing above touches digits, ``,``/``.``/``:`` between digits, or currency signs. (Whether "$5.50" comes
   out as "five dollars and fifty cents" is up to the G2P's tagging of "$" and numbers, not this module.)
5. Banned words: with ``banned_words_action == "replace"`` each whole-word, case-insensitive occurrence
   becomes "beep"; with "skip" they are left in place and the caller decides with ``find_banned_word``
   (running it on the *normalised* text also catches words hidden with zero-width characters or zalgo).
6. Whitespace is collapsed, stray sentence punctuation is attached to the word before it (or dropped at the
   start), words made only of decoration (``~ * ^ | _ ` < >``) are dropped, and the result is cut at a word
   boundary to at most ``max_chars`` characters (a single longer word is cut hard). A result without any
   letter or digit is ``''``: there is nothing to say.
7. Names and pronunciations. ``@name`` is read by ``core.spoken_names.spoken_handle`` (``_``, ``.`` and ``-``
   separate words, CamelCase splits, leetspeak 0/1/3 between letters becomes o/i/e) unless ``rules.nicknames``
   has the login. Chat can never produce misaki markup (``](`` gets a space, see ``defuse_markup``); then
   ``rules.pronunciations`` respell whole words, an ``/ipa/`` value becoming ``[word](/ipa/)`` for misaki.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

from core.spoken_names import spoken_sender

__all__ = ["SpeechRules", "defuse_markup", "find_banned_word", "normalize_chat_text", "pronounce"]

_ACTIONS = ("skip", "replace")


@dataclass(frozen=True, slots=True)
class SpeechRules:
    """How one channel wants chat spoken; hashable so compiled helpers can be cached per rule set."""

    username: str
    max_chars: int = 300
    emotes: frozenset[str] = frozenset()
    banned_words: tuple[str, ...] = ()
    banned_words_action: str = "skip"
    #: ``(login, spoken name)`` pairs: an ``@login`` mention reads as the nickname (logins lower case).
    nicknames: tuple[tuple[str, str], ...] = ()
    #: ``(word, respelling)`` pairs, whole words, any case; a respelling between slashes is IPA for misaki.
    pronunciations: tuple[tuple[str, str], ...] = ()
    #: What a link is read as: English "link"; other languages have their own word (``core.language_rules``).
    link_word: str = "link"

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {self.max_chars}")
        if self.banned_words_action not in _ACTIONS:
            action = self.banned_words_action
            raise ValueError(f"banned_words_action must be one of {_ACTIONS}, got {action!r}")


# --- characters -------------------------------------------------------------------------------------------

#: Invisible "letters" used to post blank-looking messages or pad ASCII art; read as a space.
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Control, format (zero-width, bidi, tags), surrogate, private-use and unassigned code points: removed
#: outright so "b\u200bad" is still "bad".
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})
#: Real letters carry at most two combining marks (Vietnamese); more is a zalgo flood.
_MAX_MARKS = 2
#: Below this code point (Latin, IPA, Greek, Cyrillic) every real accent has a precomposed form; letters
#: beyond it that decompose to one of these (Latin Extended Additional: "ḩ", "ế") count too.
_PRECOMPOSED_SCRIPTS_END = 0x0530


def _is_pictograph(ch: str, category: str) -> bool:
    """Emoji, dingbats, flags and skin-tone modifiers (the latter are ``Sk``, not ``So``)."""
    return category == "So" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def _precomposable(base: str) -> bool:
    """A Latin, Greek or Cyrillic letter (accented or not): every real accent on it composes under NFC."""
    return ord(unicodedata.normalize("NFD", base)[0]) < _PRECOMPOSED_SCRIPTS_END


def _flush_base(out: list[str], base: str, marks: list[str]) -> None:
    """Emit a base character with its marks, unless the marks are a flood: then Latin, Greek and Cyrillic
    letters lose every accent (precomposed ones too) and other scripts keep the first two."""
    if not base:
        return
    if len(marks) <= _MAX_MARKS:
        out.append(base)
        out.extend(marks)
    elif _precomposable(base):
        out.append(unicodedata.normalize("NFD", base)[0])
    else:
        out.append(base)
        out.extend(marks[:_MAX_MARKS])


#: ``_clean_characters`` for pure-ASCII text (most chat): spaces stay, other control characters go.
_ASCII_CLEAN = {c: (" " if chr(c).isspace() else None) for c in range(128)
                if chr(c).isspace() or unicodedata.category(chr(c)) in _INVISIBLE_CATEGORIES}


def _clean_characters(text: str) -> str:
    """Drop invisible, control and pictographic characters and zalgo floods; NFC the rest."""
    if text.isascii():  # no marks, pictographs or blanks, and NFC changes nothing: one C-level pass
        return text.translate(_ASCII_CLEAN)
    out: list[str] = []
    base = ""
    marks: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "M":
            if base and len(marks) <= _MAX_MARKS:  # one over the limit is enough to know it is a flood
                marks.append(ch)
            continue
        if cat in _INVISIBLE_CATEGORIES and not ch.isspace():
            continue  # marks after an invisible character still belong to the base before it
        _flush_base(out, base, marks)
        base, marks = "", []
        if ch.isspace() or ch in _BLANKS or _is_pictograph(ch, cat):
            out.append(" ")  # so "hi😂there" stays two words; marks after a dropped character go with it
        elif ch == "…":
            out.append("...")
        else:
            base = ch
    _flush_base(out, base, marks)
    # Marks are now at most two per base, so NFC's canonical reordering (quadratic in a run of marks in
    # CPython) stays linear. What NFC cannot compose on a Latin, Greek or Cyrillic letter is not an accent.
    composed = unicodedata.normalize("NFC", "".join(out))
    result: list[str] = []
    previous = " "
    for ch in composed:
        if unicodedata.category(ch)[0] != "M":
            previous = ch
        elif _precomposable(previous):
            continue
        result.append(ch)
    return "".join(result)


# --- words ------------------------------------------------------------------------------------------------

_LEADING_PUNCT = "([{<\"'"
_TRAILING_PUNCT = ".,!?;:)]}>\"'"
_SENTENCE_PUNCT = frozenset("!?.,;:")
#: A word made only of these ("~", "***", "^") is decoration, not something to read out.
_DECORATION = frozenset("~*^|_`<>")

_TLD_LIST = """
com net org edu gov info biz io co uk us ca au nz eu de fr nl be es pt ch at se fi dk pl cz ru ua jp kr cn
tw br mx gg tv ly me app dev xyz gl fm ai live link store shop site online club fun stream games tech top
pro blog page wiki cc tk
"""
#: Common TLDs for bare "host.tld" links; deliberately short so words joined by a dot are not links
#: ("it", "in", "is", "to", "so", "no", "md", "py", "js" are left out on purpose).
_KNOWN_TLDS = frozenset(_TLD_LIST.split())
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")

_CHEERMOTE_LIST = """
Cheer DoodleCheer BibleThump cheerwhal Corgo Scoops uni ShowLove Party SeemsGood Pride Kappa FrankerZ HeyGuys
DansGame EleGiggle TriHard Kreygasm 4Head SwiftRage NotLikeThis FailFish VoHiYo PJSalt MrDestructoid bday
RIPCheer Shamrock BitBoss Streamlabs Muxy HolidayCheer Goal Anon Charity
"""
#: Twitch's global cheermote prefixes ("Cheer100", "Kappa1000"); the amount is announced separately.
_CHEERMOTE_PREFIXES = frozenset(p.casefold() for p in _CHEERMOTE_LIST.split())

_EMOTICON_LIST = ":) :( :D :P :p ;) ;P ;p :/ :O :o :3 <3 </3 xD XD ^^ ^_^ -_- T_T :'( o7 >.< =) =D (: ): D:"
#: Text emoticons, dropped like emoji (":D" would otherwise be read "colon dee").
_EMOTICONS = frozenset(_EMOTICON_LIST.split())


def _split_edges(token: str) -> tuple[str, str, str]:
    """Split ``(https://x.com).`` into ``(``, ``https://x.com``, ``).``."""
    start, end = 0, len(token)
    while start < end and token[start] in _LEADING_PUNCT:
        start += 1
    while end > start and token[end - 1] in _TRAILING_PUNCT:
        end -= 1
    return token[:start], token[start:end], token[end:]


def _is_domain(host: str) -> bool:
    """``clips.twitch.tv`` yes; ``3.5``, ``e.g``, ``file.txt`` no (the last label must be a known TLD)."""
    host = host.lower()
    if ":" in host:  # host:port
        host, _, port = host.partition(":")
        if not port.isdigit():
            return False
    labels = host.split(".")
    if len(labels) < 2 or labels[-1] not in _KNOWN_TLDS:
        return False
    return all(label and _HOST_CHARS.issuperset(label) for label in labels)


def _scheme_start(core: str) -> int:
    """Index where a ``scheme://`` URL starts in ``core``, or -1."""
    sep = core.find("://")
    if sep <= 0:
        return -1
    start = sep
    while start > 0 and core[start - 1].lower() in _SCHEME_CHARS:
        start -= 1
    while start < sep and not core[start].isalpha():
        start += 1
    return start if start < sep else -1


def _is_bare_link(core: str) -> bool:
    if "." not in core:  # both "www." and "host.tld" need a dot
        return False
    if core.lower().startswith("www.") and len(core) > 4:
        return True
    host = core
    for stop in "/?#":
        host = host.partition(stop)[0]
    if "@" in host:  # e-mail address or user@host
        local, _, host = host.rpartition("@")
        if not local:
            return False
    return _is_domain(host)


def _readable_name(name: str, nicknames: tuple[tuple[str, str], ...] = ()) -> str:
    """``cool_guy_99`` -> ``cool guy``; ``12345`` stays ``12345``; a configured nickname wins."""
    return spoken_sender(name, _table(nicknames))


@lru_cache(maxsize=16)
def _table(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(pairs)


def _is_cheermote(token: str) -> bool:
    prefix = token.rstrip("0123456789")
    return len(prefix) < len(token) and prefix.casefold() in _CHEERMOTE_PREFIXES


# --- floods -----------------------------------------------------------------------------------------------


def _squeeze_punct_run(run: str) -> str:
    if len(run) == 1:
        return run
    if "?" in run and "!" in run:
        return "?!"
    if "?" in run:
        return "?"
    if "!" in run:
        return "!"
    if "." in run:
        return "..."
    return run[0]


def _squeeze_units(word: str) -> str:
    """Cut a 2-3 letter unit repeated four or more times to three repeats ("hahahaha" -> "hahaha")."""
    if len(word) < 8:
        return word
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        for size in (2, 3):
            unit = word[i : i + size]
            if len(unit) < size or not unit.isalpha() or unit == unit[0] * size:
                continue
            reps = 1
            while word[i + reps * size : i + (reps + 1) * size] == unit:
                reps += 1
            if reps >= 4:
                out.append(unit * 3)
                i += reps * size
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


#: An ASCII word ``_squeeze`` leaves as it is: letters, at most one sentence mark, no letter run over three
#: and no 2-3 letter unit repeated four times (checked by ``_FLOOD``); the common case, decided by two regexes.
_PLAIN_WORD = re.compile(r"[A-Za-z]+[!?.,;:]?")
_FLOOD = re.compile(r"(?i:([a-z])\1{3})|([a-zA-Z]{2,3})\2{3}")


def _squeeze(word: str) -> str:
    """Squeeze letter floods, unit floods and punctuation/symbol runs in one word; digits are untouched."""
    if _PLAIN_WORD.fullmatch(word) and not _FLOOD.search(word):
        return word
    parts: list[str] = []
    for key, group in groupby(word, key=str.casefold):
        run = "".join(group)
        if len(run) > 3 and run[0].isalpha():
            parts.append(run[:3])
        elif len(run) > 1 and not run[0].isalnum() and key not in _SENTENCE_PUNCT:
            parts.append(run[0])
        else:
            parts.append(run)
    letters = _squeeze_units("".join(parts))
    out: list[str] = []
    for is_punct, group in groupby(letters, key=lambda c: c in _SENTENCE_PUNCT):
        run = "".join(group)
        out.append(_squeeze_punct_run(run) if is_punct else run)
    return "".join(out)


def _phrase_key(token: str) -> str | None:
    key = token.strip("".join(_SENTENCE_PUNCT) + _LEADING_PUNCT + _TRAILING_PUNCT).casefold()
    return key or None


_MAX_PHRASE = 4
_MIN_REPEATS = 3


def _collapse_repeats(words: list[str]) -> list[str]:
    """Say a word or short phrase repeated three or more times in a row once (the last copy, for its
    punctuation)."""
    keys = [_phrase_key(w) for w in words]
    present = [k for k in keys if k is not None]
    if len(set(present)) == len(present):  # no word occurs twice: nothing can repeat (the common case)
        return words
    out: list[str] = []
    i, n = 0, len(words)
    while i < n:
        for size in range(1, _MAX_PHRASE + 1):
            unit = keys[i : i + size]
            if len(unit) < size or None in unit:
                continue
            reps = 1
            while keys[i + reps * size : i + (reps + 1) * size] == unit:
                reps += 1
            if reps >= _MIN_REPEATS:
                last = i + (reps - 1) * size
                out.extend(words[last : last + size])
                i += reps * size
                break
        else:
            out.append(words[i])
            i += 1
    return out


# --- banned words -----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _banned_pattern(words: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternation = "|".join(re.escape(w) for w in cleaned)
    pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
    return pattern, {w.casefold(): w for w in reversed(cleaned)}


def find_banned_word(text: str, banned_words: Iterable[str]) -> str | None:
    """The first banned word (whole word, case-insensitive) found in ``text``, as configured, else None.

    The caller skips a message with this; run it on the normalised text too, so "b\u200bad" is caught.
    """
    compiled = _banned_pattern(tuple(banned_words))
    if compiled is None:
        return None
    pattern, spelled = compiled
    match = pattern.search(text)
    if match is None:
        return None
    return spelled.get(match.group().casefold(), match.group())


def _beep_banned(text: str, banned_words: tuple[str, ...]) -> str:
    compiled = _banned_pattern(banned_words)
    return text if compiled is None else compiled[0].sub("beep", text)


# --- the pipeline -----------------------------------------------------------------------------------------


def _spoken_words(text: str, rules: SpeechRules) -> list[str]:
    """Tokens after emote, link and mention handling and flood squeezing (before phrase collapsing)."""
    streamer = rules.username.strip().lstrip("@").casefold()
    words: list[str] = []
    last_was_link = False
    for token in text.split():
        if token in rules.emotes or token in _EMOTICONS or _is_cheermote(token):
            continue
        lead, core, trail = _split_edges(token)
        start = _scheme_start(core)
        if start >= 0 or (core and not core.startswith("@") and _is_bare_link(core)):
            prefix = _squeeze(core[:start]) if start > 0 else ""
            if prefix:
                words.append(lead + prefix)
                lead, last_was_link = "", False
            link = rules.link_word
            if last_was_link:  # "link link" -> "link", keeping the later punctuation
                words[-1] = words[-1][: words[-1].rfind(link) + len(link)] + trail
            else:
                words.append(f"{lead}{link}{trail}")
            last_was_link = True
            continue
        last_was_link = False
        if core.startswith("@"):
            bare = core.lstrip("@")
            end = 0
            while end < len(bare) and bare[end].isascii() and (
                    bare[end].isalnum() or bare[end] == "_"
                    or (bare[end] == "." and end + 1 < len(bare) and bare[end + 1].isascii()
                        and bare[end + 1].isalnum())):  # "@su.per_k1llr": a dot inside a handle
                end += 1
            name, rest = bare[:end], bare[end:] + trail
            if name and name.casefold() == streamer and not words and not rest.lstrip(",:;").strip("!?."):
                continue  # "@streamer, hi" is addressed to the streamer: just "hi"
            spoken = (lead + _readable_name(name, rules.nicknames) + rest) if name else lead + rest
            words.extend(_squeeze(w) for w in spoken.split())
            continue
        words.append(_squeeze(token))
    return words


def _attach_punctuation(words: list[str]) -> list[str]:
    """Glue stray "!" / "..." tokens to the word before (dropped at the start); drop "~~~"-like words."""
    out: list[str] = []
    for word in words:
        if not word:
            continue
        if _SENTENCE_PUNCT.issuperset(word):
            if out:
                out[-1] = _squeeze(out[-1] + word)
            continue
        if _DECORATION.issuperset(word):
            continue
        out.append(word)
    return out


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    text = text[:cut] if cut > 0 else text[:max_chars]
    return text.rstrip(" ,;:")


#: HTML/XML-like markup: a tag (``<b>``, ``</i>``, ``<img src=x onerror=alert(1)>``, ``<!-- -->``) or an entity
#: (``&lt;``, ``&#62;``). ``[^<>]*`` stops at the next ``<``, so a flood of ``<a`` stays linear.
_TAG = re.compile(r"<[/!?]?[A-Za-z!-][^<>]*>|&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
#: A tag cut off at the end of the line, when it is clearly one (it has an attribute): ``<img src=x onerror=...``.
_OPEN_TAG = re.compile(r"<[A-Za-z][A-Za-z0-9-]*+\s[^<>=]*+=[^<>]*+$")  # possessive: no backtracking


#: A script or style element with what is inside it (code, not words), or such an element left open to the end
#: of the line. Each match starts at its own ``<script``/``<style`` and scans forward once: linear per start.
_CODE_ELEMENT = re.compile(r"<(script|style)\b[^<>]*>(?:.*?</\1\s*>|.*$)", re.IGNORECASE | re.DOTALL)


def drop_markup(text: str) -> str:
    """Tags and entities out of the text, each leaving a space: markup is page syntax, not something said.
    A ``<script>`` or ``<style>`` element goes with its contents: ``alert(1)`` is code, not a word to say."""
    if "<" not in text and "&" not in text:
        return text
    return _OPEN_TAG.sub(" ", _TAG.sub(" ", _CODE_ELEMENT.sub(" ", text)))


def normalize_chat_text(text: str, rules: SpeechRules) -> str:
    """Turn raw chat into what should be spoken ('' when nothing is left); see the module docstring."""
    words = _spoken_words(drop_markup(_clean_characters(text)), rules)
    words = _collapse_repeats(_attach_punctuation(words))
    spoken = " ".join(words)
    if rules.banned_words_action == "replace":
        spoken = _beep_banned(spoken, rules.banned_words)
    if not any(ch.isalnum() for ch in spoken):
        return ""
    return pronounce(_truncate(spoken, rules.max_chars), rules.pronunciations)


# --- pronunciations -----------------------------------------------------------------------------------------

#: misaki reads ``[word](/ipa/)`` (and ``[word](+1)`` etc.) as markup: a chatter must not be able to use it to
#: make the voice say phonemes the banned-word check never saw. A space between "]" and "(" breaks the markup.
_MARKUP_JOIN = "]("


def defuse_markup(text: str) -> str:
    """``[hi](/ʃɪt/)`` -> ``[hi] (/ʃɪt/)``: chat text can never be misaki markup."""
    return text.replace(_MARKUP_JOIN, "] (")


@lru_cache(maxsize=16)
def _pronunciation_pattern(pairs: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    table = {word.casefold(): spelled for word, spelled in pairs if word.strip()}
    if not table:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), table


def pronounce(text: str, pronunciations: tuple[tuple[str, str], ...]) -> str:
    """Whole words (any case) respelled as configured; ``/ipa/`` becomes misaki's ``[word](/ipa/)``.

    Chat text is defused first (``defuse_markup``), so the only markup that reaches the G2P is the streamer's.
    """
    text = defuse_markup(text)
    compiled = _pronunciation_pattern(pronunciations)
    if compiled is None:
        return text
    pattern, table = compiled

    def respell(match: re.Match[str]) -> str:
        spelled = table[match.group().casefold()]
        if len(spelled) > 2 and spelled[0] == spelled[-1] == "/":
            return f"[{match.group()}]({spelled})"
        return spelled

    return pattern.sub(respell, text)
