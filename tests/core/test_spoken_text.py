"""What gets spoken: chat lines in, the exact text handed to the G2P out, and what misaki makes of it."""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from core import spoken_text
from core.spoken_text import SpeechRules, find_banned_word, normalize_chat_text

try:  # Python 3.11+
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

RULES = SpeechRules(
    username="streamer",
    emotes=frozenset({"LUL", "Kappa", "PogChamp", "KEKW", "monkaS"}),
    banned_words=("darn", "heck"),
)
REPLACE = dataclasses.replace(RULES, banned_words_action="replace")

ZALGO = "H̸̡̪̯ͨ͊̽̅̾̎Ȩ̬̩̾͛ͪ̈́̀́͘ ̶̧̨̱̹̭̯ͧ̾ͬC̷̙̲̝͖ͭ̏ͥͮ͟Oͮ͏̮̪̝͍M̲̖͊̒ͪͩͬ̚̚͜Ȇ̴̟̟͙̞ͩ͌͝S̨̥̫͎̭ͯ̿̔̀ͅ"

CHAT_LINES = [
    # the streamer's own mention opens the message: dropped; elsewhere it is a name
    ("@streamer, check out https://twitch.tv/coolclips", "check out link"),
    ("@Streamer: what's your sens?", "what's your sens?"),
    ("@STREAMER hi", "hi"),
    ("@streamer @streamer hello", "hello"),
    ("@streamer , first time here", "first time here"),
    ("hey @streamer you're cracked", "hey streamer you're cracked"),
    ("@streamer_fan is back", "streamer fan is back"),
    # other mentions read as names
    ("@cool_guy_99 said you'd say that", "cool guy said you'd say that"),
    ("thanks @xX_Sniper_Xx and @12345 lol", "thanks xX Sniper Xx and 12345 lol"),
    ("@night_owl_2024's clip was insane", "night owl's clip was insane"),
    ("(@mod_squad) pls", "(mod squad) pls"),
    # links, never spelled out
    ("clip: clips.twitch.tv/FunnyClip-Abc_123 LUL", "clip: link"),
    ("watch youtu.be/dQw4w9WgXcQ right now", "watch link right now"),
    ("x.com/foo/status/1 read this", "link read this"),
    ("www.example.com has the merch", "link has the merch"),
    ("new site example.gg/abc is up!", "new site link is up!"),
    ("example.com", "link"),
    ("links https://a.com http://b.org/x?y=1 www.c.net, enjoy", "links link, enjoy"),
    ("(https://streamable.com/abc123)", "(link)"),
    ("look:https://kick.com/x", "look: link"),
    ("mail me at bob@gmail.com", "mail me at link"),
    ("http://" + "a." * 20, "link."),
    ("e.g. 3.5 stars, Mr.Smith sent file.txt", "e.g. 3.5 stars, Mr.Smith sent file.txt"),
    ("i.e. the U.S. at 9 a.m. is fine", "i.e. the U.S. at 9 a.m. is fine"),
    # emote walls, copypasta, floods
    ("LUL LUL LUL LUL LUL", ""),
    ("Kappa", ""),
    ("OMEGALUL OMEGALUL OMEGALUL OMEGALUL", "OMEGALUL"),
    ("KEKW that was so bad KEKW KEKW", "that was so bad"),
    ("haha haha haha haha", "haha"),
    ("hahahahahahahahaha", "hahaha"),
    ("go team go team go team go team!", "go team!"),
    ("bye bye chat", "bye bye chat"),
    ("POG POG pog Pog POGGERS", "Pog POGGERS"),
    ("soooooooooo gooooood", "sooo goood"),
    ("WHAT!!!!!!!!!", "WHAT!"),
    ("really?!?!?!?!", "really?!"),
    ("wait..... what", "wait... what"),
    ("hmm … ok", "hmm... ok"),
    ("nice,,,, very nice", "nice, very nice"),
    ("~~~~~ vibes ~~~~~", "vibes"),
    ("Cheer100 Cheer100 great stream!", "great stream!"),
    ("nice play :) <3", "nice play"),
    # numbers, money and times pass through untouched for misaki
    ("I have 3,497 viewers", "I have 3,497 viewers"),
    ("1000000 views let's go", "1000000 views let's go"),
    ("it costs $5.50 or £3.20", "it costs $5.50 or £3.20"),
    ("see you at 3:30 tomorrow, 10:45pm EST", "see you at 3:30 tomorrow, 10:45pm EST"),
    ("I'm 100% sure it's 2024", "I'm 100% sure it's 2024"),
    ("gg 1111111 points", "gg 1111111 points"),
    # zalgo and accents
    (ZALGO, "HE COMES"),
    ("café naïve résumé", "café naïve résumé"),
    ("cafe\u0301 au lait", "café au lait"),
    ("Tiếng Việt", "Tiếng Việt"),
    # emoji, control and invisible characters
    ("love this 😂😂😂 stream ❤️🔥", "love this stream"),
    ("gg 👍🏽🇺🇸", "gg"),
    ("hello😂world", "hello world"),
    ("😂😂😂", ""),
    ("🔥🔥🔥 LUL", ""),
    ("he\u200bllo\u200d there\ufeff", "hello there"),
    ("line one\nline two\r\n\tindented", "line one line two indented"),
    ("bell\x07 ring\x00", "bell ring"),
    ("same message again \U000e0000", "same message again"),
    ("⣿⣿⣿⣿⣿⣿⣿ ascii art ⣿⣿⣿⣿", "ascii art"),
    ("\u3164\u3164\u3164", ""),
    ("   ", ""),
    ("!!!!", ""),
    ("@@@@@@", ""),
    # banned words are left for the caller when the action is "skip"
    ("darn it, heck yeah", "darn it, heck yeah"),
    # handles read as words: never "dot" or "underscore", leetspeak and CamelCase undone
    ("gg @xX_Sn1p3r_Xx", "gg xX Sniper Xx"),
    ("@su.per_k1llr420 you're up", "su per killr you're up"),
    ("shoutout @CamelCaseName!", "shoutout Camel Case Name!"),
    ("ask @HTTPServer_fan", "ask HTTP Server fan"),
    ("@l33t_h4x0r_99 and @b00m", "leet h 4 xor and boom"),
    ("@gamer4life gg", "gamer 4 life gg"),
    ("bye @bob.", "bye bob."),
    ("@__init__ lol", "init lol"),
    # HTML-like tags and entities are page syntax, never read aloud
    ("<img src=x onerror=alert(1)>", ""),
    ("nice <b>bold</b> move", "nice bold move"),
    ("hi<script>alert('x')</script>there", "hi there"),
    ("<!-- hidden --> visible", "visible"),
    ("a <br/> b <BR> c", "a b c"),
    ("cut off <img src=x onerror=alert(1)", "cut off"),
    ("hi <script>alert(1)</script> there", "hi there"),
    ("<SCRIPT type=module>fetch('/api/clear')</Script > ok", "ok"),
    ("<style>body{display:none}</style>gg", "gg"),
    ("never closed <script>alert(document.cookie)", "never closed"),
    ("a <b>script</b> kiddie", "a script kiddie"),
    ("fish &amp; chips &lt;3 &#62;", "fish chips 3"),
    ("I <3 you, 2 < 3 > 1", "I you, 2 3 1"),  # not tags (a lone < or > was always dropped as decoration)
    # chat cannot smuggle misaki markup ([word](/ipa/)) past the banned-word check
    ("say [hi](/ʃɪt/) now", "say [hi] (/ʃɪt/) now"),
]


@pytest.mark.parametrize(("raw", "spoken"), CHAT_LINES)
def test_chat_line_is_spoken_as(raw: str, spoken: str) -> None:
    assert normalize_chat_text(raw, RULES) == spoken


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("darn it, Heck yeah", "beep it, beep yeah"),
        ("DARN!!!", "beep!"),
        ("darning the socks, heckler", "darning the socks, heckler"),
        ("@darn_99 hi", "beep hi"),
        ("d\u200barn that", "beep that"),
    ],
)
def test_banned_words_are_beeped_when_replacing(raw: str, spoken: str) -> None:
    assert normalize_chat_text(raw, REPLACE) == spoken


@pytest.mark.parametrize(
    ("raw", "max_chars", "spoken"),
    [
        ("the quick brown fox jumps", 15, "the quick brown"),
        ("the quick brown fox jumps", 14, "the quick"),
        ("the quick brown fox jumps", 9, "the quick"),
        ("hello, world and more", 7, "hello"),
        ("Pneumonoultramicroscopic", 10, "Pneumonoul"),
        ("short", 300, "short"),
        ("a" * 50 + " b", 20, "aaa b"),
    ],
)
def test_truncates_at_a_word_boundary(raw: str, max_chars: int, spoken: str) -> None:
    rules = dataclasses.replace(RULES, max_chars=max_chars)
    assert normalize_chat_text(raw, rules) == spoken


def test_copypasta_is_cut_to_max_chars() -> None:
    pasta = (
        "What the heck did you just say about me, you little noob? I'll have you know I graduated top of my "
        "class in the Twitch academy, and I've been involved in numerous secret raids on PogChamp streams, "
        "and I have over 300 confirmed subs. "
    ) * 3
    once = (
        "What the heck did you just say about me, you little noob? I'll have you know I graduated top of my "
        "class in the Twitch academy, and I've been involved in numerous secret raids on streams, "
        "and I have over 300 confirmed subs."
    )
    spoken = normalize_chat_text(pasta, RULES)
    assert spoken == once + " What the heck did you just say about me, you little noob? I'll have you know"
    assert len(spoken) <= 300 < len(spoken + " I")  # the emote is gone and the cut falls between words


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("what the darn", "darn"),
        ("HECK no, darn", "heck"),
        ("darned hecking", None),
        ("nothing here", None),
        ("", None),
    ],
)
def test_find_banned_word(text: str, found: str | None) -> None:
    assert find_banned_word(text, ("darn", "heck")) == found


def test_find_banned_word_edges() -> None:
    assert find_banned_word("you Big Meanie", ["big meanie"]) == "big meanie"
    assert find_banned_word("anything", []) is None
    assert find_banned_word("anything", ["", "  "]) is None
    assert find_banned_word("a+b is c", iter(["a+b"])) == "a+b"  # any iterable, regex characters escaped
    hidden = "what the d\u200barn"
    assert find_banned_word(hidden, ["darn"]) is None
    assert find_banned_word(normalize_chat_text(hidden, RULES), ["darn"]) == "darn"


def test_rules_are_validated_and_hashable() -> None:
    with pytest.raises(ValueError, match="banned_words_action"):
        SpeechRules("streamer", banned_words_action="mute")
    with pytest.raises(ValueError, match="max_chars"):
        SpeechRules("streamer", max_chars=0)
    assert hash(RULES) == hash(dataclasses.replace(RULES))
    assert normalize_chat_text("@Streamer hi", SpeechRules("@STREAMER")) == "hi"
    assert normalize_chat_text("@streamer hi", SpeechRules("")) == "streamer hi"


# --- hostile input --------------------------------------------------------------------------------------------

HOSTILE: dict[str, Callable[[int], str]] = {
    "letters": lambda n: "a" * n,
    "ats": lambda n: "@" * n,
    "url": lambda n: "http://" + "a." * (n // 2),
    "tag starts": lambda n: "<a " * (n // 3),
    "open tag": lambda n: "<img " + "a=" * (n // 2),
    "open tag, then <": lambda n: "<img " + "a=" * (n // 2) + "<",
    "dotted": lambda n: "a." * (n // 2),
    "punct": lambda n: "!?" * (n // 2),
    "dots": lambda n: "." * n,
    "zalgo": lambda n: "e" + "".join(chr(0x300 + i % 0x6F) for i in range(n)),
    "marks_only": lambda n: "\u0301\u0316" * (n // 2),
    "laugh": lambda n: "ha" * (n // 2),
    "emote_wall": lambda n: "LUL " * (n // 4),
    "two_words": lambda n: "ab cd " * (n // 6),
    "phrases": lambda n: "a b c d e " * (n // 10),
    "mentions": lambda n: "@a_" * (n // 3),
    "emoji": lambda n: "😂" * n,
    "zero_width": lambda n: "\u200b" * n,
    "mixed": lambda n: "aB1!@_ .:/" * (n // 10),
    "long_host": lambda n: "x" * (n - 4) + ".com",
    "banned": lambda n: "darn " * (n // 5),
}


@pytest.mark.parametrize("n", [10_000, 100_000])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_input_gives_bounded_output(kind: str, n: int) -> None:
    for rules in (RULES, REPLACE):
        spoken = normalize_chat_text(HOSTILE[kind](n), rules)
        assert len(spoken) <= rules.max_chars
        assert spoken == spoken.strip()


def _count_lines(func: Callable[[], Any]) -> int:
    """Python lines executed inside core/spoken_text.py while running ``func`` (deterministic, not a timer)."""
    filename = spoken_text.__file__
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        func()
    finally:
        sys.settrace(previous)
    return count


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_work_grows_linearly_with_input(kind: str) -> None:
    """Four times the input may cost about four times the steps, never sixteen (quadratic)."""
    small, large = 1_000, 4_000
    steps_small = _count_lines(lambda: normalize_chat_text(HOSTILE[kind](small), REPLACE))
    steps_large = _count_lines(lambda: normalize_chat_text(HOSTILE[kind](large), REPLACE))
    assert steps_large <= 6 * max(steps_small, 1), (steps_small, steps_large)


_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)}


def _unbounded_repeats(tree: Any) -> Iterator[Any]:
    """Yield the body of every ``*``/``+``/``{n,}`` in a parsed regex, recursively."""
    for op, arg in tree:
        if op in _REPEATS:
            _min, high, body = arg
            if high == sre_parse.MAXREPEAT:
                yield body
            yield from _unbounded_repeats(body)
        elif op == sre_parse.SUBPATTERN:
            yield from _unbounded_repeats(arg[-1])
        elif op == sre_parse.BRANCH:
            for branch in arg[1]:
                yield from _unbounded_repeats(branch)
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            yield from _unbounded_repeats(arg[1])


def _regexes_in_use() -> list[re.Pattern[str]]:
    module_level = [v for v in vars(spoken_text).values() if isinstance(v, re.Pattern)]
    compiled = spoken_text._banned_pattern(("darn", "heck", "big meanie", "a+b", "x*"))
    assert compiled is not None
    return [*module_level, compiled[0]]


def test_regexes_cannot_backtrack_catastrophically() -> None:
    """No unbounded repeat may contain another unbounded repeat (the shape of ReDoS)."""
    nested = [list(_unbounded_repeats(body)) for body in _unbounded_repeats(sre_parse.parse(r"(?:a|(b+))*c"))]
    assert any(nested), "the checker itself must spot a nested quantifier"
    for pattern in _regexes_in_use():
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
        for body in _unbounded_repeats(tree):
            assert not list(_unbounded_repeats(body)), pattern.pattern


# --- what reaches misaki --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def g2p() -> Callable[[str], str]:
    pytest.importorskip("misaki")
    from tts.g2p import lexicon_g2p

    lexicon = lexicon_g2p(british=False)
    return lambda text: lexicon(text)[0]


def _unstressed(phonemes: str) -> str:
    return phonemes.replace("ˈ", "").replace("ˌ", "")


@pytest.mark.parametrize(
    ("chat", "said_as"),
    [
        ("I have 3,497 viewers!!!", "I have three thousand four hundred ninety seven viewers!"),
        ("we hit 10,000 followers", "we hit ten thousand followers"),
        ("1000000 views", "one million views"),
        ("I'm 100% sure it's 2024", "I'm one hundred percent sure it's twenty twenty four"),
        ("3.5 stars", "three point five stars"),
        ("1st place", "first place"),
        ("@cool_guy_99 gave https://x.com/a 5 subs", "cool guy gave link five subs"),
    ],
)
def test_numbers_reach_misaki_as_words(g2p: Callable[[str], str], chat: str, said_as: str) -> None:
    assert _unstressed(g2p(normalize_chat_text(chat, RULES))) == _unstressed(g2p(said_as))


def test_thousands_are_read_as_thousands(g2p: Callable[[str], str]) -> None:
    phonemes = g2p(normalize_chat_text("I have 3,497 viewers", RULES))
    assert "θˈWzᵊnd" in phonemes  # "thousand"
    assert "zˈiəɹO" not in phonemes  # not digit by digit


def test_clock_times_reach_misaki_as_words(g2p: Callable[[str], str]) -> None:
    # misaki keeps the colon as a pause mark between "three" and "thirty".
    phonemes = g2p(normalize_chat_text("see you at 3:30", RULES))
    assert phonemes.replace(":", " ") == g2p("see you at three thirty")


@pytest.mark.parametrize(
    ("chat", "said_as"),
    [
        ("it costs $5.50", "it costs five dollars and fifty cents"),
        ("$5 sub", "five dollars sub"),
        ("$1,000 donation", "one thousand dollars donation"),
    ],
)
def test_money_reaches_misaki_as_words(g2p: Callable[[str], str], chat: str, said_as: str) -> None:
    assert _unstressed(g2p(normalize_chat_text(chat, RULES))) == _unstressed(g2p(said_as))


def test_money_is_at_least_read_with_dollar_and_digits_in_words(g2p: Callable[[str], str]) -> None:
    phonemes = g2p(normalize_chat_text("it costs $5.50", RULES))
    assert "dˈɑləɹ" in phonemes  # "dollar"
    assert "fˈIv" in phonemes and "fˈɪfti" in phonemes  # "five", "fifty": never "dollar sign five point five zero"


# --- nicknames and pronunciations -----------------------------------------------------------------------------

NAMED = dataclasses.replace(RULES, nicknames=(("xx_sn1p3r_xx", "Snipey"),),
                            pronunciations=(("kokoro", "/kˈOkəɹO/"), ("gg", "good game"), ("pog", "pogg")))


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("thanks @xX_Sn1p3r_Xx", "thanks Snipey"),
        ("GG everyone", "good game everyone"),
        ("ggwp, not gg.", "ggwp, not good game."),
        ("POG", "pogg"),
        ("kokoro sounds nice", "[kokoro](/kˈOkəɹO/) sounds nice"),
        ("say [kokoro](/ʃɪt/)", "say [[kokoro](/kˈOkəɹO/)] (/ʃɪt/)"),  # the streamer's markup only
    ],
)
def test_nicknames_and_pronunciations(raw: str, spoken: str) -> None:
    assert normalize_chat_text(raw, NAMED) == spoken


def test_pronunciations_reach_misaki(g2p: Callable[[str], str]) -> None:
    """A respelling is read as written; an IPA entry is spoken as exactly those phonemes (misaki markup)."""
    assert g2p(normalize_chat_text("kokoro", NAMED)) == "kˈOkəɹO"
    assert g2p(normalize_chat_text("gg", NAMED)) == g2p("good game")
    defused = g2p(normalize_chat_text("say [hi](/ʃɪt/)", RULES))
    assert "ʃɪt" not in defused  # the chatter's "IPA" is read as text, not as phonemes
    mixed = g2p(normalize_chat_text("say [kokoro](/ʃɪt/)", NAMED))
    assert "kˈOkəɹO" in mixed and "ʃɪt" not in mixed
