"""Browsers on other sites must not drive the server (README "Security" has the threat model).

The server has no cookies, so classic CSRF needs no token; what remains is any web page the streamer opens
talking to ``127.0.0.1``: a ``no-cors`` POST (the browser sends it, only the answer is hidden), a WebSocket
(no same-origin policy at all), and DNS rebinding (a foreign name resolving to 127.0.0.1, so the browser
treats our answers as that site's). Three checks, in this order, for HTTP and the WebSocket upgrade alike:

1. ``Host`` must name this server: a loopback name for a loopback bind, the bound address, an IP literal for
   a bind to every interface, or an ``allowed_hosts`` entry. Else 421 (rebinding).
2. ``Origin``, when a browser sends one, must be the server's own (same scheme, host and port as the request)
   or in ``allowed_origins``; without ``Origin``, ``Sec-Fetch-Site: cross-site`` on /api or a non-GET is
   refused too. Else 403. Clients without ``Origin`` (the App, curl, OBS opening a page) are not browsers
   sending someone else's request and pass.
3. A request body on /api must be ``application/json`` (415): a cross-site page can send ``text/plain``
   without asking, never ``application/json``.

``allowed_origins`` entries get CORS answers (preflight and ``Access-Control-Allow-Origin``) so an App that
is a web page on another origin works.
"""

from __future__ import annotations

import codecs
import ipaddress
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import hdrs, web
from yarl import URL

from core.exposure import WILDCARD_BINDS
from web.errors import error_response
from web.keys import SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The API (token, JSON bodies, no cross-site requests): StreamVoice's own and the OpenAI-compatible one.
API_PREFIXES = ("/api", "/v1")
_CORS_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type"


def host_name(host: str) -> str:
    """``[::1]:8765`` -> ``::1``, ``LocalHost.:80`` -> ``localhost``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


@lru_cache(maxsize=64)
def host_allowed(name: str, bind_host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """May a request naming ``name`` in its Host header be served by a server bound to ``bind_host``?"""
    if "*" in allowed_hosts or name in {h.lower() for h in allowed_hosts}:
        return True
    bind = host_name(bind_host) if bind_host else ""
    if name == bind or name == "localhost":
        return True
    ip = _ip(name)
    if ip is None:  # a DNS name we were not told about: the rebinding case
        return False
    # an IP literal never comes from rebinding; it only has to be one we can be reached at
    return bind in WILDCARD_BINDS or ip.is_loopback


def _origin_key(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), (url.host or "").lower().rstrip("."), url.port)


def own_origin(request: web.Request, origin: str) -> bool:
    try:
        given = URL(origin)
        own = URL(f"{request.scheme}://{request.host}")
    except ValueError:
        return False
    return bool(given.scheme and given.host) and _origin_key(given) == _origin_key(own)


def _normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


@web.middleware
async def browser_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host, Origin / Sec-Fetch-Site checks, and CORS for ``allowed_origins``."""
    settings = request.app[SETTINGS].current
    if hdrs.HOST in request.headers:
        name = host_name(request.headers[hdrs.HOST])
        if not host_allowed(name, settings.host, tuple(settings.allowed_hosts)):
            return error_response(request, 421,
                                  f"this server does not answer for host {name!r} (add it to allowed_hosts)")
    origin = request.headers.get(hdrs.ORIGIN)
    cors_origin: str | None = None
    if origin is not None:
        if _normalise_origin(origin) in {_normalise_origin(o) for o in settings.allowed_origins}:
            cors_origin = origin
        elif not own_origin(request, origin):
            return error_response(request, 403, f"cross-origin request refused: origin {origin!r} is not this "
                                                "server's own (add it to allowed_origins)")
    elif request.headers.get("Sec-Fetch-Site") == "cross-site" and (
            request.method not in _SAFE_METHODS or request.path.startswith(API_PREFIXES)):
        return error_response(request, 403,
                              "cross-site request refused (Sec-Fetch-Site: cross-site without an allowed origin)")
    if cors_origin is None:
        return await handler(request)
    cors = {"Access-Control-Allow-Origin": cors_origin, "Vary": "Origin"}
    if request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers:
        return web.Response(status=204, headers={
            **cors, "Access-Control-Allow-Methods": _CORS_METHODS, "Access-Control-Allow-Headers": _CORS_HEADERS,
            "Access-Control-Max-Age": "600"})
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(cors)
        raise
    if not response.prepared:  # a WebSocket or a streamed file is already on its way
        response.headers.update(cors)
    return response


@web.middleware
async def json_bodies_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body sent to /api must be JSON in a known charset; too-large bodies are refused before anything else."""
    if request.path.startswith(API_PREFIXES) and request.method not in _SAFE_METHODS and request.body_exists:
        limit = request.client_max_size
        if request.content_length is not None and request.content_length > limit:
            return error_response(request, 413, f"the body is larger than {limit} bytes")
        if request.content_type != "application/json":
            return error_response(request, 415, "the body must be JSON with 'Content-Type: application/json'")
        charset = request.charset
        if charset is not None:
            try:
                codecs.lookup(charset)
            except LookupError:
                return error_response(request, 415, f"unknown charset {charset!r} (send UTF-8)")
    return await handler(request)
