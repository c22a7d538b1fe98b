"""Keep Twitch secrets out of the logs.

twitchio's exceptions carry secrets in their text: an ``HTTPException`` names the full request URL (for a
token refresh that is ``...?client_secret=...&refresh_token=...``) and ``InvalidTokenException`` quotes the
access token; the OAuth callback's one-time ``code`` shows in the access log. The redaction itself lives in
``core.log_hygiene`` (the web server installs it on the access log whether or not the bot runs); the bot
adds it to twitchio's and its own loggers when it starts.
"""

from __future__ import annotations

from core.log_hygiene import RedactSecrets, install_redaction, redact

__all__ = ["RedactSecrets", "install_redaction", "redact"]
