"""What the server writes to its log: no API token, no forged lines, no floods."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest

from assembly import cli
from core.exposure import bind_warnings
from service.log_hygiene import EscapeControls, ThrottleRepeats, install
from tests.helpers import wait_for

SECRET = "s3cret-api-token-value"


async def test_api_token_never_reaches_the_access_log(start_server: Any, make_settings: Any,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """No Twitch bot configured: the redaction must still be on the access log."""
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    client = await start_server(make_settings(api_token=SECRET))
    assert (await client.get(f"/api/queue?token={SECRET}")).status == 200
    assert (await client.get("/api/queue?token=wrong-guess")).status == 401
    socket = await client.ws_connect(f"/api/ws?token={SECRET}")
    await socket.receive_json(timeout=10)
    await socket.close()
    assert (await client.get("/api/health", headers={"Authorization": f"Bearer {SECRET}"})).status == 200

    def access_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]

    # The WebSocket's line is written when its handler ends, which may come after the health answer (and, on a
    # loaded machine while the engine still loads, much later): the three HTTP lines are the ones required.
    with contextlib.suppress(AssertionError):
        await wait_for(lambda: len(access_lines()) >= 4, timeout=5)
    access = access_lines()
    assert not [line for line in access if SECRET in line or "wrong-guess" in line]
    assert len(access) >= 3
    assert sum("token=[redacted]" in line for line in access) >= 2


def test_control_characters_in_logged_arguments_are_escaped() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "user %s said %r", ("bob\r\nFAKE", "a\x1b[31m"),
                               None)
    EscapeControls().filter(record)
    assert record.getMessage() == "user bob\\r\\nFAKE said 'a\\\\x1b[31m'"


def test_repeated_lines_are_collapsed_with_a_count() -> None:
    now = [0.0]
    throttle = ThrottleRepeats(period=10, burst=3, clock=lambda: now[0])

    def log(n: int) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "socket.send() raised exception: %s",
                                 (n,), None)

    shown = [r.getMessage() for r in map(log, range(1000)) if throttle.filter(r)]
    assert len(shown) == 4  # the burst, then one line saying that the rest is suppressed
    assert "suppressed" in shown[-1]
    other = logging.LogRecord("web", logging.ERROR, __file__, 1, "something else", (), None)
    assert throttle.filter(other)  # another message is not affected
    now[0] = 11.0
    after = log(1000)
    assert throttle.filter(after)
    assert "[996 more like this suppressed in the last 10 s]" in after.getMessage()


def test_the_cli_handler_escapes_throttles_and_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler()
    install(handler)
    logger = logging.getLogger("test.hardening.cli")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for _ in range(50):
            logger.error("peer %s: Authorization: Bearer %s", "evil\nINJECTED", SECRET)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert SECRET not in err and "\nINJECTED" not in err
    assert err.count("\n") <= 7


def test_bind_warnings() -> None:
    assert bind_warnings("127.0.0.1", "") == []
    assert bind_warnings("localhost", "") == []
    assert bind_warnings("::1", "") == []
    every = bind_warnings("", "")
    assert len(every) == 2 and "every network interface" in every[0] and "api_token" in every[1]
    assert len(bind_warnings("0.0.0.0", "token")) == 1
    lan = bind_warnings("192.168.1.20", "")
    assert len(lan) == 1 and "api_token is empty" in lan[0]
    assert bind_warnings("192.168.1.20", "token") == []


def test_cli_warns_before_serving_on_every_interface(tmp_path: Any, tiny_model_dir: Any,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Binding every interface is not allowed in tests, so the listening part is replaced: the warning is what
    is checked, and that it comes before the server would listen."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(f'host: ""\nport: 18999\nmodel_dir: "{tiny_model_dir}"\ndevice: cpu\n'
                        f'database_url: "sqlite:///{tmp_path}/sv.db"\naudio_dir: "{tmp_path}/audio"\n')
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(cli.serve, "run", lambda app, host, port: served.append((host, port)))
    monkeypatch.setattr(cli, "check_port_free", lambda host, port: None)
    caplog.set_level(logging.WARNING)
    assert cli.main(["--settings", str(settings)]) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("every network interface" in w for w in warned)
    assert any("api_token is empty" in w for w in warned)
    assert served == [("", 18999)]


async def test_a_percent_encoded_token_parameter_is_redacted_too(engine_loader: Any, make_settings: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """``?%74oken=`` is ``?token=`` to the server (it authenticates), so the access log must hide it alike."""
    from tests.web import rawhttp
    from tests.web.production_server import production_server

    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with production_server(make_settings(api_token=SECRET), engine_loader) as served:
        for name in ("%74oken", "%74%6F%6b%65%6E", "tok%65n"):
            answer = await rawhttp.request(served.port, "GET", f"/api/queue?{name}={SECRET}")
            assert answer.status == 200, name  # the name as the server decodes it: the token, accepted
        assert (await rawhttp.request(served.port, "GET", "/api/queue?%74oken=wrong-guess")).status == 401

        def access_lines() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]

        await wait_for(lambda: len(access_lines()) >= 4, timeout=5)
    access = access_lines()
    assert not [line for line in access if SECRET in line or "wrong-guess" in line], access
    assert sum("=[redacted]" in line for line in access) == 4, access


def test_redaction_decodes_parameter_names_but_leaves_other_parameters() -> None:
    from service.log_hygiene import redact

    assert redact("GET /api/queue?%74oken=abc&limit=5") == "GET /api/queue?%74oken=[redacted]&limit=5"
    assert redact("/cb?c%6Fde=xyz&state=s") == "/cb?c%6Fde=[redacted]&state=[redacted]"
    assert redact("?tokens=1&mytoken=2&token=3") == "?tokens=1&mytoken=2&token=[redacted]"
