"""Keep Twitch secrets out of the logs.

twitchio's exceptions carry secrets in their text: an ``HTTPException`` names the full request URL (for a
token refresh that is ``...?client_secret=...&refresh_token=...``) and ``InvalidTokenException`` quotes the
access token. They reach logs through tracebacks and ``%s`` of an exception, in our code and in twitchio's,
and the OAuth callback's one-time ``code`` shows in the access log. A filter on those loggers rewrites each
record (message and formatted traceback) with the secrets replaced.
"""

from __future__ import annotations

import logging
import re
import traceback

_REDACTED = "[redacted]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # URL/form parameters: ?client_secret=...&refresh_token=...
    (re.compile(r"\b(client_secret|refresh_token|access_token|code|token|state)=[^&\s\"'<>)]+", re.I),
     rf"\1={_REDACTED}"),
    # JSON or dict reprs: "refresh_token": "...", 'token': '...'
    (re.compile(r"([\"'](?:client_secret|refresh_token|access_token|token|refresh)[\"']\s*:\s*[\"'])[^\"']+", re.I),
     rf"\1{_REDACTED}"),
    # twitchio's InvalidTokenException: ... with token: "..."
    (re.compile(r"(\btoken:\s*\")[^\"]+", re.I), rf"\1{_REDACTED}"),
    # Authorization header values
    (re.compile(r"\b(Bearer|OAuth)\s+[A-Za-z0-9_\-.]{8,}"), rf"\1 {_REDACTED}"),
)


def redact(text: str) -> str:
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
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return True


_FILTER = RedactSecrets()


def install_redaction() -> None:
    """Add the filter to every twitchio and bot logger, and to aiohttp's access log (the OAuth callback URL)."""
    names = [n for n in list(logging.root.manager.loggerDict) if n.startswith(("twitchio", "bot."))]
    for name in [*names, "bot", "aiohttp.access"]:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
