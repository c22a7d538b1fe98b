"""docs/websocket.md stays in step with the code: every client frame type is documented, none invented."""

import re
from pathlib import Path

from web.commands import COMMANDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "websocket.md"


def test_every_client_frame_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    client_section = text.split("## Client → server")[1].split("## Server → client")[0]
    table_types = set(re.findall(r"^\| `(\w+)` \|", client_section, re.MULTILINE))
    example_types = set(re.findall(r'"type": "(\w+)"', client_section))
    assert table_types == set(COMMANDS) == example_types


def test_every_server_frame_has_an_example() -> None:
    server_section = DOC.read_text(encoding="utf-8").split("## Server → client")[1]
    assert set(re.findall(r'"type": "(\w+)"', server_section)) == {"state", "play", "stop", "ack", "error", "queued",
                                                                   "ended"}
