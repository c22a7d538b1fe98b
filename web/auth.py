"""The API token a request presents, and whether it is the one in force (``api_token`` in settings).

One reading for HTTP and the WebSocket alike: ``Authorization: Bearer <token>``, else ``?token=`` from the
*decoded* query (``?%74oken=`` is the same parameter, and the log redaction reads it the same way). A socket is
checked again whenever the token changes: one that presented a token no longer in force is closed with
``TOKEN_CHANGED`` (docs/websocket.md).
"""

from __future__ import annotations

import hmac

from aiohttp import web

#: WebSocket close code for "the token you connected with is no longer accepted" (4000-4999: the application's).
TOKEN_CHANGED = 4401


def presented_token(request: web.BaseRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else request.query.get("token", "")


def accepted(request: web.BaseRequest, token: str) -> bool:
    """Does ``request`` carry ``token`` (always, when no token is set)?"""
    if not token:
        return True
    # backslashreplace: a non-ASCII or undecodable header must be a refusal, never a UnicodeEncodeError
    return hmac.compare_digest(presented_token(request).encode("utf-8", "backslashreplace"),
                               token.encode("utf-8", "backslashreplace"))
