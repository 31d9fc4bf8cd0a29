"""Cookies: the ``Set-Cookie`` headers a response sends, and the ``Cookie`` header a request brings.

A response holds a `CookieJar` of `Cookie` values; each becomes one ``Set-Cookie`` header
(RFC 6265). Cookies are validated when they are made, so a bad name or attribute fails in the
handler that set it, not silently in the browser.

Values are sent as they are when every character is an RFC 6265 cookie-octet. Any other value
is sent double-quoted with Python's ``http.cookies`` escapes (``\\"``, ``\\\\``, and ``\\ooo``
octal for each other byte of its UTF-8 form), which `parse_cookie_header` undoes, so a trioweb
app reads back exactly what it set. Browsers and JavaScript see the escaped form: keep values
that other software must read to cookie-octets (for example URL-safe base64).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["Cookie", "CookieJar", "parse_cookie_header"]

# RFC 9110 section 5.6.2 token characters: what a cookie name may contain (RFC 6265 4.1.1).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 6265 section 4.1.1 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon
# and backslash.
_COOKIE_OCTETS = frozenset(chr(c) for c in range(0x21, 0x7F) if chr(c) not in {'"', ",", ";", "\\"})

# Inside quotes, these go through unescaped (cookie-octets and space, as http.cookies does);
# every other byte is escaped.
_QUOTE_SAFE = frozenset(ord(c) for c in _COOKIE_OCTETS | {" "})

# An attribute value (Path, Domain, Comment) must not end the attribute or the header early,
# and must be ASCII (an internationalised domain goes in its xn-- form).
_ATTRIBUTE_FORBIDDEN = re.compile(r"[;\x00-\x1f\x7f]")

_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}

# What delete_cookie sends as Expires, for clients too old to know Max-Age.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _quote(value: str) -> str:
    if all(char in _COOKIE_OCTETS for char in value):
        return value
    escaped = []
    for byte in value.encode("utf-8"):
        if byte == 0x22:
            escaped.append('\\"')
        elif byte == 0x5C:
            escaped.append("\\\\")
        elif byte in _QUOTE_SAFE:
            escaped.append(chr(byte))
        else:
            escaped.append(f"\\{byte:03o}")
    return '"' + "".join(escaped) + '"'


_ESCAPE = re.compile(rb"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _unquote(value: str) -> str:
    # Headers arrive as latin-1 text, so encoding back gives the bytes the client sent; cookie
    # values are UTF-8 in practice (RFC 6265bis, and what document.cookie writes).
    raw = value.encode("latin-1", "replace")
    if len(raw) >= 2 and raw[0] == raw[-1] == 0x22:
        raw = _ESCAPE.sub(lambda m: bytes([int(m[1], 8)]) if m[1] is not None else m[2], raw[1:-1])
    return raw.decode("utf-8", "replace")


def parse_cookie_header(headers: Iterable[str]) -> dict[str, str]:
    """The cookies of one or more ``Cookie`` header values; the first of a repeated name wins.

    A malformed pair is skipped alone (``http.cookies.SimpleCookie`` drops every cookie after
    one it cannot parse, and browsers do send bare names). A double-quoted value is unquoted and
    its ``http.cookies`` escapes decoded, the inverse of what `Cookie` sends.
    """
    cookies: dict[str, str] = {}
    for header in headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not name:
                continue
            if name not in cookies:
                cookies[name] = _unquote(value)
    return cookies


def _check_attribute(name: str, value: str | None) -> None:
    if value is not None and (_ATTRIBUTE_FORBIDDEN.search(value) or not value.isascii()):
        raise ValueError(
            f"cookie {name} must be ASCII without ';' or control characters: {value!r}"
        )


@dataclass(frozen=True, slots=True)
class Cookie:
    """One cookie to set, validated on construction; `encode` gives its ``Set-Cookie`` value.

    Build it through ``response.add_cookie(...)``, whose arguments these fields are.

    Attributes:
        key: The cookie name, an RFC 9110 token. The ``__Secure-`` prefix requires ``secure``;
            ``__Host-`` also requires ``path="/"`` and no ``domain`` (browsers drop the cookie
            otherwise, so it is an error here).
        value: Any text; quoted and escaped when it has characters outside cookie-octets.
        path: The ``Path`` attribute; ``None`` omits it.
        domain: The ``Domain`` attribute; ``None`` (the default) restricts the cookie to the
            exact host that set it.
        secure: Send ``Secure`` (only over HTTPS; browsers treat ``localhost`` as secure).
        httponly: Send ``HttpOnly`` (hidden from JavaScript).
        samesite: ``"Strict"``, ``"Lax"`` or ``"None"`` in any case; ``None`` omits it.
        max_age: Seconds until it expires; ``0`` or less expires it at once.
        expires: When it expires; a naive datetime is taken as UTC.
        partitioned: Send ``Partitioned`` (CHIPS); requires ``secure``.
        comment: The obsolete RFC 2109 ``Comment`` attribute.

    Raises:
        ValueError: an invalid key, samesite value, attribute text, ``samesite="None"`` or
            ``partitioned`` without ``secure``, or a broken ``__Secure-``/``__Host-`` rule.
        TypeError: ``value`` is not a str, ``max_age`` not an int, ``expires`` not a datetime.
    """

    key: str
    value: str
    path: str | None = "/"
    domain: str | None = None
    secure: bool = True
    httponly: bool = False
    samesite: str | None = "Lax"
    max_age: int | None = None
    expires: datetime | None = None
    partitioned: bool = False
    comment: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _TOKEN.fullmatch(self.key):
            raise ValueError(f"cookie key must be a non-empty token, got {self.key!r}")
        if not isinstance(self.value, str):
            raise TypeError(f"cookie value must be a str, not {type(self.value).__name__}")
        for name in ("path", "domain", "comment"):
            _check_attribute(name, getattr(self, name))
        if self.samesite is not None:
            canonical = _SAMESITE.get(str(self.samesite).lower())
            if canonical is None:
                raise ValueError(
                    f"cookie samesite must be 'Strict', 'Lax' or 'None', got {self.samesite!r}"
                )
            # Frozen: normalise through object.__setattr__, once, in the constructor.
            object.__setattr__(self, "samesite", canonical)
            if canonical == "None" and not self.secure:
                raise ValueError("a cookie with samesite='None' must be secure (browsers drop it)")
        if self.partitioned and not self.secure:
            raise ValueError("a partitioned cookie must be secure (browsers drop it)")
        if self.max_age is not None and (
            isinstance(self.max_age, bool) or not isinstance(self.max_age, int)
        ):
            raise TypeError(f"cookie max_age must be an int, not {type(self.max_age).__name__}")
        if self.expires is not None and not isinstance(self.expires, datetime):
            raise TypeError(f"cookie expires must be a datetime, not {type(self.expires).__name__}")
        if self.key.startswith(("__Secure-", "__Host-")) and not self.secure:
            raise ValueError(f"cookie {self.key!r}: a __Secure- or __Host- cookie must be secure")
        if self.key.startswith("__Host-") and (self.path != "/" or self.domain is not None):
            raise ValueError(f"cookie {self.key!r}: a __Host- cookie needs path='/' and no domain")

    def encode(self) -> str:
        """The ``Set-Cookie`` header value."""
        parts = [f"{self.key}={_quote(self.value)}"]
        if self.path is not None:
            parts.append(f"Path={self.path}")
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.expires is not None:
            expires = self.expires
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            parts.append(f"Expires={format_datetime(expires.astimezone(UTC), usegmt=True)}")
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        if self.samesite is not None:
            parts.append(f"SameSite={self.samesite}")
        if self.partitioned:
            parts.append("Partitioned")
        if self.comment is not None:
            parts.append(f"Comment={self.comment}")
        return "; ".join(parts)


class CookieJar:
    """The cookies a response will set, one ``Set-Cookie`` header each, in the order added.

    Browsers tell cookies apart by name, path and domain, so a jar holds one cookie per such
    triple: adding one again replaces the earlier (keeping its place).
    """

    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str | None, str | None], Cookie] = {}

    def add(self, cookie: Cookie) -> Cookie:
        """Set ``cookie``, replacing one of the same key, path and domain; return it."""
        self._cookies[(cookie.key, cookie.path, cookie.domain)] = cookie
        return cookie

    def delete(self, key: str, *, path: str | None = "/", domain: str | None = None) -> Cookie:
        """Tell the client to drop a cookie: an empty value that has already expired.

        It replaces a cookie of the same key, path and domain set on this response. The
        deletion is ``Secure`` and ``SameSite=Lax`` like `Cookie`'s defaults, so it also
        works for ``__Secure-``/``__Host-`` cookies. ``path`` and ``domain`` must be those
        the cookie was set with, or the client keeps it.

        Raises:
            ValueError: as for `Cookie`.
        """
        return self.add(Cookie(key, "", path=path, domain=domain, max_age=0, expires=_EPOCH))

    def get(self, key: str, *, path: str | None = "/", domain: str | None = None) -> Cookie | None:
        """The cookie set here for this key, path and domain, or ``None``."""
        return self._cookies.get((key, path, domain))

    def __iter__(self) -> Iterator[Cookie]:
        return iter(list(self._cookies.values()))

    def __len__(self) -> int:
        return len(self._cookies)

    def __contains__(self, key: object) -> bool:
        """Whether a cookie of this name (any path or domain) is set here."""
        return any(name == key for name, _, _ in self._cookies)

    def header_values(self) -> list[str]:
        """One ``Set-Cookie`` value per cookie, in the order they were first added."""
        return [cookie.encode() for cookie in self._cookies.values()]

    def __repr__(self) -> str:
        return f"CookieJar({list(self._cookies.values())!r})"
