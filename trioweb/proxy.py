"""What a trusted reverse proxy says about the client: its address, scheme and host.

Any client can send ``X-Forwarded-For`` or ``Forwarded``, so by default none of them is
believed and the socket's peer is the client. Three settings (see `trioweb.config.Config`) say
which proxy headers to trust; they are tried in this order, and the first that applies wins:

1. ``FORWARDED_SECRET``: the rightmost RFC 7239 ``Forwarded`` element carrying
   ``secret=<FORWARDED_SECRET>`` or ``by=<FORWARDED_SECRET>`` (your proxy appends it, and
   clients cannot guess the secret). Its ``for``, ``proto`` and ``host`` are used.
2. ``REAL_IP_HEADER``: that header (``X-Real-IP``, say), which your proxy overwrites.
3. ``PROXIES_COUNT = N``: the Nth address from the right of ``X-Forwarded-For``. Each proxy
   appends the address it saw, so the N rightmost entries come from your N proxies and
   anything to their left is whatever the client sent.

With 2 or 3, ``X-Forwarded-Proto`` (else ``X-Scheme``), ``X-Forwarded-Host``,
``X-Forwarded-Port`` and ``X-Forwarded-Path`` are trusted too; with 1, the element's ``port``
and ``path``. Nothing here raises on a malformed header: a header that does not parse is not
trusted.

``FORWARDED_ALLOW_IPS`` narrows all of it to connections from listed peers (IP addresses or
networks, ``"unix"`` for Unix-socket peers, ``"*"`` for any), as Uvicorn's
``--forwarded-allow-ips`` does: a client that reaches the app without the proxy gets no
header believed. ``None`` (the default) leaves the three settings alone.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .datastructures import Headers

__all__ = [
    "Forwarded",
    "ProxyTrust",
    "node_address",
    "parse_forwarded_header",
    "resolve_forwarded",
]


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What trusted proxy headers said; the empty default means no proxy header was trusted.

    Attributes:
        trusted: Whether a proxy header was trusted for this request.
        client: The client's address as the proxy reported it: a bare IP (IPv6 without
            brackets, no port) or an obfuscated identifier such as ``_gazonk``; ``""`` when
            nothing trusted was reported or it was ``unknown``.
        proto: The scheme the client used (lower case), or ``None`` when not reported.
        host: The host the client asked for (with port, if reported), or ``None``.
        port: The port the client reached (``port=``, ``X-Forwarded-Port``), or ``None``.
        path: The path the client asked for, percent-decoded (``path=``,
            ``X-Forwarded-Path``), or ``None``; the proxy may serve the app under a prefix.
    """

    trusted: bool = False
    client: str = ""
    proto: str | None = None
    host: str | None = None
    port: int | None = None
    path: str | None = None


NOT_FORWARDED = Forwarded()


@dataclass(frozen=True, slots=True)
class ProxyTrust:
    """Which proxy headers to believe: the three settings, checked once when a server starts.

    Attributes:
        proxies_count: ``config.PROXIES_COUNT``: proxies appending to ``X-Forwarded-For``.
        real_ip_header: ``config.REAL_IP_HEADER``: a header the proxy overwrites.
        forwarded_secret: ``config.FORWARDED_SECRET``: the secret in trusted ``Forwarded``.
        allow_ips: ``config.FORWARDED_ALLOW_IPS``: the peers whose proxy headers count
            (see `for_peer`), comma-separated or a list; ``None``: every peer's.

    Raises:
        ValueError: ``proxies_count`` is not ``None`` or an int of at least 0, or an
            ``allow_ips`` entry is neither an address, a network, ``"unix"`` nor ``"*"``.
    """

    proxies_count: int | None = None
    real_ip_header: str | None = None
    forwarded_secret: str | None = None
    allow_ips: str | tuple[str, ...] | None = None
    _allowed: _Allowed | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        count = self.proxies_count
        if isinstance(count, bool) or not isinstance(count, int | None) or (count or 0) < 0:
            raise ValueError(f"PROXIES_COUNT must be None or an int >= 0, got {count!r}")
        if self.forwarded_secret is not None:
            # A secret set in Python as a number still compares as the text a proxy sends.
            object.__setattr__(self, "forwarded_secret", str(self.forwarded_secret))
        object.__setattr__(self, "_allowed", _parse_allow_ips(self.allow_ips))

    @classmethod
    def from_config(cls, config: Any) -> ProxyTrust:
        """The trust ``config`` (an `trioweb.config.Config`) describes."""
        return cls(
            config.PROXIES_COUNT,
            config.REAL_IP_HEADER,
            config.FORWARDED_SECRET,
            getattr(config, "FORWARDED_ALLOW_IPS", None),
        )

    def for_peer(self, peer: str) -> ProxyTrust:
        """The trust for a connection from ``peer`` (an IP address, ``""`` for a Unix socket).

        Itself when no allowlist is set or the peer is on it, else `TRUST_NOTHING`.
        """
        allowed = self._allowed
        if allowed is None or allowed.admits(peer):
            return self
        return TRUST_NOTHING

    def resolve(self, headers: Headers) -> Forwarded:
        """What ``headers`` say, believing only what this trust allows (`resolve_forwarded`)."""
        if not (self.proxies_count or self.real_ip_header or self.forwarded_secret):
            return NOT_FORWARDED
        return resolve_forwarded(
            headers,
            proxies_count=self.proxies_count,
            real_ip_header=self.real_ip_header,
            forwarded_secret=self.forwarded_secret,
        )


@dataclass(frozen=True, slots=True)
class _Allowed:
    """A parsed ``FORWARDED_ALLOW_IPS``."""

    any_peer: bool
    unix: bool
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def admits(self, peer: str) -> bool:
        if self.any_peer:
            return True
        if not peer:
            return self.unix
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _parse_allow_ips(value: str | Iterable[str] | None) -> _Allowed | None:
    """``"127.0.0.1, 10.0.0.0/8, unix"`` (or a list of them) as an `_Allowed`; ``None`` stays."""
    if value is None:
        return None
    entries = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    any_peer = unix = False
    for raw in entries:
        entry = str(raw).strip()
        if entry == "*":
            any_peer = True
        elif entry.lower() == "unix":
            unix = True
        elif entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"FORWARDED_ALLOW_IPS: {entry!r} is not an IP address, a network, 'unix' or '*'"
                ) from None
    return _Allowed(any_peer, unix, tuple(networks))


#: Nothing is trusted: the default for a connection with no server settings.
TRUST_NOTHING = ProxyTrust()

# RFC 9110 token, and RFC 7239's value = token / quoted-string.
_PAIR = re.compile(
    r'[ \t]*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)=(?:([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)|"((?:[^"\\]|\\.)*)")'
    r"[ \t]*"
)
_QUOTED_PAIR = re.compile(r"\\(.)")
# RFC 7239 section 6.3: obfnode = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ).
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+=-]+)(?::[0-9]{1,5})?")


def parse_forwarded_header(values: Iterable[str]) -> list[dict[str, str] | None]:
    """Parse ``Forwarded`` header values (RFC 7239) into one entry per element, left to right.

    Each element becomes a dict of lower-cased parameter names to unquoted values. An element
    that is malformed (bad syntax, a repeated parameter) becomes ``None`` and parsing resumes
    after the next comma, so junk a client sent cannot swallow the element a proxy appended.
    """
    elements: list[dict[str, str] | None] = []

    def finish(element: dict[str, str] | None) -> None:
        if element is None or element:  # empty list elements (",,") are allowed and skipped
            elements.append(element)

    for value in values:
        pos, end = 0, len(value)
        element: dict[str, str] | None = {}  # None once this element is known to be malformed
        while True:
            match = _PAIR.match(value, pos)
            if match is not None:
                pos = match.end()
                key = match[1].lower()
                if element is not None and key in element:
                    element = None  # RFC 7239 section 4: a parameter occurs at most once
                elif element is not None:
                    token, quoted = match[2], match[3]
                    element[key] = token if token is not None else _QUOTED_PAIR.sub(r"\1", quoted)
            else:
                while pos < end and value[pos] in " \t":
                    pos += 1
            if pos >= end:
                finish(element)
                break
            if value[pos] == ";":
                pos += 1
            elif value[pos] == ",":
                finish(element)
                element, pos = {}, pos + 1
            else:
                # Junk where a separator belongs: drop the element, resume after its comma.
                element = None
                comma = value.find(",", pos)
                pos = end if comma == -1 else comma
    return elements


def node_address(node: str) -> str:
    """The address in an RFC 7239 node (or an ``X-Forwarded-For`` entry), port removed.

    ``"192.0.2.1:8080"`` -> ``"192.0.2.1"``, ``"[2001:DB8::1]:80"`` -> ``"2001:db8::1"``; an
    obfuscated identifier (``_hidden``) is returned as it is; ``unknown`` and anything that is
    not an address give ``""``.
    """
    node = node.strip()
    if node.startswith("["):
        host, bracket, _ = node[1:].partition("]")
        if not bracket:
            return ""
    elif node.count(":") == 1:
        host = node.partition(":")[0]  # IPv4 (or obfuscated) with a port
    else:
        host = node  # an IPv4 address, or a bare IPv6 one (not RFC 7239, but sent in X-F-F)
    if _OBFUSCATED.fullmatch(host):
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def _checked_proto(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value.lower() if _SCHEME.fullmatch(value) else None


def _checked_host(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if _HOST.fullmatch(value) else None


def _checked_port(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 65536):
        return None
    return int(value)


def _checked_path(value: str | None) -> str | None:
    if value is None:
        return None
    path = unquote(value.strip())
    return path if path.startswith("/") else None


def _list_entries(headers: Headers, name: str) -> list[str]:
    """The comma-separated entries of every ``name`` header line, in order."""
    return [
        entry.strip() for line in headers.getall(name) for entry in line.split(",") if entry.strip()
    ]


def _from_forwarded(headers: Headers, secret: str) -> Forwarded | None:
    expected = secret.encode("utf-8")
    for element in reversed(parse_forwarded_header(headers.getall("forwarded"))):
        if element is None:
            continue
        # Constant time, so response timing does not reveal how much of a guess was right.
        # The secret may come as ``secret=`` or as the proxy's obfuscated ``by=`` (as in Sanic).
        by_secret = hmac.compare_digest(element.get("by", "").encode("utf-8"), expected)
        if hmac.compare_digest(element.get("secret", "").encode("utf-8"), expected) or by_secret:
            return Forwarded(
                trusted=True,
                client=node_address(element.get("for", "")),
                proto=_checked_proto(element.get("proto")),
                host=_checked_host(element.get("host")),
                port=_checked_port(element.get("port")),
                path=_checked_path(element.get("path")),
            )
    return None


# The X-headers a trusted X-Forwarded-For or REAL_IP_HEADER brings along.
_X_HEADERS = frozenset(
    {
        b"x-forwarded-proto",
        b"x-scheme",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-path",
    }
)


def _from_x_headers(client: str, position: int, headers: Headers) -> Forwarded:
    # One pass over the headers for all five (this runs per request when a proxy is trusted).
    lines: dict[bytes, list[str]] = {}
    for name, value in headers.raw:
        if name in _X_HEADERS:
            lines.setdefault(name, []).append(value.decode("latin-1"))

    def entry(name: bytes) -> str | None:
        # Proxies that append keep these lists aligned with X-Forwarded-For, so the entry
        # at the same position is the one the outermost trusted proxy wrote. A proxy that
        # overwrites leaves a shorter list; then the leftmost entry is the proxy's. A path
        # may hold commas, so each X-Forwarded-Path line is one entry.
        found = lines.get(name)
        if not found:
            return None
        if name == b"x-forwarded-path":
            entries = [line.strip() for line in found if line.strip()]
        else:
            entries = [e.strip() for line in found for e in line.split(",") if e.strip()]
        return entries[-min(position, len(entries))] if entries else None

    return Forwarded(
        trusted=True,
        client=node_address(client),
        proto=_checked_proto(entry(b"x-forwarded-proto") or entry(b"x-scheme")),
        host=_checked_host(entry(b"x-forwarded-host")),
        port=_checked_port(entry(b"x-forwarded-port")),
        path=_checked_path(entry(b"x-forwarded-path")),
    )


def resolve_forwarded(
    headers: Headers,
    *,
    proxies_count: int | None = None,
    real_ip_header: str | None = None,
    forwarded_secret: str | None = None,
) -> Forwarded:
    """What the proxy headers of a request say, believing only what the settings trust.

    Args:
        headers: The request headers.
        proxies_count: ``config.PROXIES_COUNT``.
        real_ip_header: ``config.REAL_IP_HEADER``.
        forwarded_secret: ``config.FORWARDED_SECRET``.

    Returns:
        `NOT_FORWARDED` when no setting applies to this request's headers.

    Raises:
        ValueError: ``proxies_count`` is not ``None`` or an int of at least 0.
    """
    if (
        isinstance(proxies_count, bool)
        or not isinstance(proxies_count, int | None)
        or (proxies_count is not None and proxies_count < 0)
    ):
        raise ValueError(f"PROXIES_COUNT must be None or an int >= 0, got {proxies_count!r}")
    if forwarded_secret:
        # str(): a secret set in Python as a number compares as text.
        found = _from_forwarded(headers, str(forwarded_secret))
        if found is not None:
            return found
    if real_ip_header:
        values = headers.getall(real_ip_header)
        if values:
            return _from_x_headers(values[-1], 1, headers)
    if proxies_count:
        entries = _list_entries(headers, "x-forwarded-for")
        if len(entries) >= proxies_count:
            return _from_x_headers(entries[-proxies_count], proxies_count, headers)
    return NOT_FORWARDED
