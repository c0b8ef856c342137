"""The client's IP address, trusting exactly PROXY_COUNT reverse proxies (none by default).

Each proxy in front (nginx with `proxy_add_x_forwarded_for`) appends the address it received the
request from to X-Forwarded-For, so with N proxies the client is the N-th entry from the right;
entries further left were supplied by the client and are never trusted. With PROXY_COUNT=0 the
header is ignored altogether (anyone can send it). Used by django-axes (AXES_CLIENT_IP_CALLABLE:
axes only reads proxy headers through django-ipware, which is not installed) and by the audit log.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    if request is None:
        return None
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    proxies = int(getattr(settings, "KONGCHUO_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
    if len(forwarded) < proxies:
        # Fewer hops than configured: the request did not come through the proxy chain.
        return remote
    return _valid(forwarded[-proxies]) or remote
