import pytest

from core.mentions import mentions_streamer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@streamer hi", True),
        ("hi @Streamer, how are you", True),
        ("@streamer!", True),
        ("@STREAMER?", True),
        ("(@streamer)", True),
        ("hey @streamer.", True),
        ("@streamer_fan hello", False),
        ("@streamer2 hello", False),
        ("email@streamer.tv", False),
        ("streamer without at", False),
        ("@ streamer", False),
        ("@@streamer", True),
        ("", False),
    ],
)
def test_mention_rules(text: str, expected: bool) -> None:
    assert mentions_streamer(text, "streamer") is expected


def test_username_may_be_configured_with_an_at_sign_and_special_characters() -> None:
    assert mentions_streamer("yo @streamer", "@streamer")
    assert mentions_streamer("yo @a.b", "a.b")
    assert not mentions_streamer("yo @aXb", "a.b")  # the dot is literal, not a regex wildcard
    assert not mentions_streamer("yo @", "")
