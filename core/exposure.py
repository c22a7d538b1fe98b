"""Who can reach the server, judged from the bind address and the token (warnings at start, README "Security")."""

from __future__ import annotations

import ipaddress

#: Bind addresses that mean "every interface".
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "*"})


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost`` (and the rest of 127/8)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_warnings(host: str, api_token: str) -> list[str]:
    """What a streamer should know before the server listens on ``host``."""
    warnings = []
    if host.strip() in WILDCARD_BINDS:
        warnings.append(f"host {host!r} listens on every network interface: anyone who can reach this PC "
                        "(LAN, VPN, a forwarded port) can reach StreamVoice; set host: 127.0.0.1 unless the App "
                        "runs on another machine")
    if not is_loopback(host) and not api_token:
        warnings.append(f"host {host!r} is not loopback and api_token is empty: anyone on the network can queue, "
                        "play and clear messages; set api_token in settings.yaml")
    return warnings
