"""What reaches the log is safe to show and bounded in volume.

Three ``logging.Filter``s, each rewriting or dropping records, never raising:

- ``RedactSecrets``: API tokens (``?token=`` in the access log, also with the name percent-encoded as the
  server decodes it: ``?%74oken=``), Twitch secrets in URLs, JSON and exception
  texts (twitchio quotes them), ``Bearer``/``OAuth`` header values. Message and formatted traceback alike.
- ``EscapeControls``: untrusted text passed as a logging *argument* (a query parameter, a chat login) can
  not start a fake log line: newlines and other control characters in string arguments become ``\\n``,
  ``\\x1b``... The format string itself is ours and left alone.
- ``ThrottleRepeats``: the same message (same logger, level and format string) at most ``burst`` times per
  ``period``; the next one let through says how many were suppressed. A flood of identical tracebacks
  (139,133 in 25 s under a connection storm) becomes a handful of lines.

``install(handler)`` puts all three on a handler (the CLI's root handler); ``install_redaction`` puts the
redaction on the loggers that carry secrets before any handler (aiohttp's access log, twitchio, bot).
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import unquote_plus

_REDACTED = "[redacted]"
#: URL/form parameters whose values are secrets: ?client_secret=...&refresh_token=... and our own ?token=
_SECRET_PARAMETERS = frozenset({"client_secret", "refresh_token", "access_token", "code", "token", "state"})
#: A ``name=value`` pair; the name may be percent-encoded (``%74oken`` is ``token`` to the server, so it must be
#: to the redaction too).
_PARAMETER = re.compile(r"(?<![\w%.+-])([\w%.+-]+)=([^&\s\"'<>)]+)")


def _redact_parameter(match: re.Match[str]) -> str:
    name = match.group(1)
    if unquote_plus(name).lower() in _SECRET_PARAMETERS:
        return f"{name}={_REDACTED}"
    return match.group(0)


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON or dict reprs: "refresh_token": "...", 'token': '...'
    (re.compile(r"([\"'](?:client_secret|refresh_token|access_token|token|refresh|api_token)[\"']\s*:\s*[\"'])[^\"']+",
                re.I),
     rf"\1{_REDACTED}"),
    # twitchio's InvalidTokenException: ... with token: "..."
    (re.compile(r"(\btoken:\s*\")[^\"]+", re.I), rf"\1{_REDACTED}"),
    # Authorization header values
    (re.compile(r"\b(Bearer|OAuth)\s+[A-Za-z0-9_\-.~+/=]{4,}"), rf"\1 {_REDACTED}"),
)


def redact(text: str) -> str:
    text = _PARAMETER.sub(_redact_parameter, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record in place; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging call's problem, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return True


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    r"""``a\nb`` -> ``a\\nb``: one logged value stays on one line and cannot paint the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class EscapeControls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(escape_controls(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict) and record.args:
            record.args = {k: escape_controls(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class ThrottleRepeats(logging.Filter):
    """At most ``burst`` records per (logger, level, format string) per ``period`` seconds."""

    def __init__(self, period: float = 60.0, burst: int = 5, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 2048) -> None:
        super().__init__()
        self.period, self.burst, self._clock, self._max_keys = period, burst, clock, max_keys
        #: key -> [window start, records let through, records suppressed]
        self._windows: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.period:
            suppressed = int(window[2]) if window else 0
            self._windows[key] = [now, 1, 0]
            self._windows.move_to_end(key)
            while len(self._windows) > self._max_keys:
                self._windows.popitem(last=False)
            if suppressed:
                record.msg = f"{record.getMessage()} [{suppressed} more like this suppressed in the last " \
                             f"{self.period:g} s]"
                record.args = ()
            return True
        if window[1] < self.burst:
            window[1] += 1
            return True
        if window[1] == self.burst:  # say once, as the flood starts, that it is being collapsed
            window[1] += 1
            record.msg = f"{record.getMessage()} [repeating: further copies suppressed for up to " \
                         f"{self.period:g} s]"
            record.args = ()
            return True
        window[2] += 1
        return False


_REDACTION = RedactSecrets()
#: Loggers whose records carry secrets before any handler sees them: the access log (``?token=``,
#: the OAuth callback's ``code``), twitchio and the bot (token refresh URLs, token texts).
SECRET_LOGGERS = ("aiohttp.access", "twitchio", "bot")


def install_redaction(names: Iterable[str] = ()) -> None:
    """Add the redaction to ``SECRET_LOGGERS``, their existing children, and ``names``."""
    known = [n for n in list(logging.root.manager.loggerDict) if n.startswith(("twitchio.", "bot."))]
    for name in (*SECRET_LOGGERS, *known, *names):
        logger = logging.getLogger(name)
        if _REDACTION not in logger.filters:
            logger.addFilter(_REDACTION)


def install(handler: logging.Handler, throttle: ThrottleRepeats | None = None) -> None:
    """Escape, throttle and redact everything ``handler`` writes (records from every logger)."""
    for log_filter in (EscapeControls(), throttle or ThrottleRepeats(), RedactSecrets()):
        handler.addFilter(log_filter)
