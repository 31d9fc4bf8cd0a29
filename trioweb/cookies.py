"""Cookies: the ``Set-Cookie`` headers a response sends, and the ``Cookie`` header a request brings.

A response holds a `CookieJar` of `Cookie` values; each becomes one ``Set-Cookie`` header
(RFC 6265). Cookies are validated when they are made and when they are changed, so a bad name
or attribute fails in the handler that set it, not silently in the browser. A request's
``Cookie`` header becomes a `CookieRequestParameters` (``request.cookies``).

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
from typing import Any, TypeVar, overload

from .datastructures import RequestParameters

__all__ = [
    "HOST_PREFIX",
    "SECURE_PREFIX",
    "Cookie",
    "CookieJar",
    "CookieRequestParameters",
    "make_key",
    "parse_cookie_header",
]

_D = TypeVar("_D")

#: The name prefixes (RFC 6265bis) browsers hold to extra rules: ``__Host-`` cookies must be
#: ``Secure``, for ``Path=/`` and without ``Domain``; ``__Secure-`` ones must be ``Secure``.
HOST_PREFIX = "__Host-"
SECURE_PREFIX = "__Secure-"

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


def parse_cookie_header(headers: Iterable[str]) -> dict[str, list[str]]:
    """The cookies of one or more ``Cookie`` header values: each name's values, in order.

    A malformed pair is skipped alone (``http.cookies.SimpleCookie`` drops every cookie after
    one it cannot parse, and browsers do send bare names). A double-quoted value is unquoted and
    its ``http.cookies`` escapes decoded, the inverse of what `Cookie` sends.
    """
    cookies: dict[str, list[str]] = {}
    for header in headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not name:
                continue
            cookies.setdefault(name, []).append(_unquote(value))
    return cookies


class CookieRequestParameters(RequestParameters[str]):
    """``request.cookies``: the ``Cookie`` header as Sanic gives it, a dict of name -> values.

    ``cookies.get("k")`` is the first value, ``cookies.getlist("k")`` all of them and
    ``cookies["k"]`` the list. Each of those finds ``__Host-k``, then ``__Secure-k``, before
    ``k``, so a cookie set with ``host_prefix=True`` reads back under its own name.
    ``cookies.k`` is ``cookies.get("k", "")`` (``_`` stands for ``-``: ``cookies.user_id`` reads
    ``user-id``; a trailing ``_`` is dropped, for names that are Python keywords).
    """

    __slots__ = ()

    def _prefixed(self, key: str) -> list[str] | None:
        for name in (HOST_PREFIX + key, SECURE_PREFIX + key):
            values = dict.get(self, name)
            if values is not None:
                return values
        return None

    def __getitem__(self, key: str) -> list[str]:
        values = self._prefixed(key)
        return values if values is not None else dict.__getitem__(self, key)

    @overload  # type: ignore[override]  # as RequestParameters.get, with the prefixes first
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str | _D) -> str | _D: ...
    def get(self, key: str, /, default: object = None) -> object:
        """The first value of ``__Host-key``, ``__Secure-key`` or ``key``; else ``default``."""
        values = self._prefixed(key)
        if values:
            return values[0]
        return super().get(key, default)

    def getlist(self, key: str, default: list[str] | None = None) -> list[str]:
        """Every value of cookie ``key`` (or of ``__Host-key``, ``__Secure-key``), in order."""
        values = self._prefixed(key)
        if values:
            return list(values)
        return super().getlist(key, default)

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name.rstrip("_").replace("_", "-"), "")


def _check_attribute(name: str, value: str | None) -> None:
    if value is not None and (_ATTRIBUTE_FORBIDDEN.search(value) or not value.isascii()):
        raise ValueError(
            f"cookie {name} must be ASCII without ';' or control characters: {value!r}"
        )


# Sanic's names for a cookie's attributes in ``cookie["max-age"] = 60`` -> the field.
_ITEM_NAMES = {
    "path": "path",
    "domain": "domain",
    "max-age": "max_age",
    "expires": "expires",
    "secure": "secure",
    "httponly": "httponly",
    "samesite": "samesite",
    "partitioned": "partitioned",
    "comment": "comment",
}


def make_key(key: str, host_prefix: bool = False, secure_prefix: bool = False) -> str:
    """``key`` with the ``__Host-`` or ``__Secure-`` prefix asked for (or neither).

    Raises:
        ValueError: both prefixes were asked for.
    """
    if host_prefix and secure_prefix:
        raise ValueError("a cookie takes host_prefix or secure_prefix, not both")
    if host_prefix:
        return HOST_PREFIX + key
    if secure_prefix:
        return SECURE_PREFIX + key
    return key


@dataclass(slots=True)
class Cookie:
    """One cookie to set; `encode` (or ``str(cookie)``) gives its ``Set-Cookie`` value.

    Build it through ``response.add_cookie(...)``, whose arguments these fields are. It is
    checked when made and again on every change: set an attribute (``cookie.max_age = 60``)
    or, as in older Sanic, an item by its attribute name (``cookie["max-age"] = 60``; the
    names are ``path``, ``domain``, ``max-age``, ``expires``, ``secure``, ``httponly``,
    ``samesite``, ``partitioned`` and ``comment``). A change that breaks a rule raises and
    leaves the cookie as it was.

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
        self._check()

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            old = object.__getattribute__(self, name)
        except AttributeError:
            # Still being constructed (the slot is empty); __post_init__ checks the whole.
            object.__setattr__(self, name, value)
            return
        object.__setattr__(self, name, value)
        try:
            self._check()
        except BaseException:
            object.__setattr__(self, name, old)
            raise

    def _check(self) -> None:
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
        if self.key.startswith((SECURE_PREFIX, HOST_PREFIX)) and not self.secure:
            raise ValueError(f"cookie {self.key!r}: a __Secure- or __Host- cookie must be secure")
        if self.key.startswith(HOST_PREFIX) and (self.path != "/" or self.domain is not None):
            raise ValueError(f"cookie {self.key!r}: a __Host- cookie needs path='/' and no domain")

    @staticmethod
    def _field(name: str) -> str:
        try:
            return _ITEM_NAMES[name.lower()]
        except KeyError:
            known = ", ".join(_ITEM_NAMES)
            raise KeyError(f"unknown cookie attribute {name!r} (known: {known})") from None

    def __getitem__(self, name: str) -> Any:
        """The attribute called ``name`` in Sanic's spelling (``cookie["max-age"]``).

        Raises:
            KeyError: ``name`` is not a cookie attribute.
        """
        return getattr(self, self._field(name))

    def __setitem__(self, name: str, value: Any) -> None:
        """Change the attribute called ``name`` in Sanic's spelling; checked as on creation.

        A ``max-age`` given as a string of digits is taken as that number.

        Raises:
            KeyError: ``name`` is not a cookie attribute.
            ValueError, TypeError: the new value breaks a rule (the cookie is left unchanged).
        """
        field_name = self._field(name)
        if field_name == "max_age" and isinstance(value, str) and value.isdigit():
            value = int(value)
        setattr(self, field_name, value)

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

    __str__ = encode


class CookieJar:
    """The cookies a response will set (``response.cookies``), one ``Set-Cookie`` each.

    Browsers tell cookies apart by name, path and domain, so a jar holds one cookie per such
    triple: adding one again replaces the earlier (keeping its place). Headers go out in the
    order the cookies were first added.

    Besides `add_cookie`, `delete_cookie`, `get_cookie` and `has_cookie` (Sanic's methods), it
    answers older Sanic's dictionary style, by cookie name: ``jar["k"] = "v"`` sets a cookie
    (with `add_cookie`'s defaults, or a new value for one already set), ``jar["k"]`` is the
    `Cookie` named ``k`` set last (change it with ``jar["k"]["path"] = "/x"``), ``del jar["k"]``
    deletes it, ``"k" in jar`` asks whether one is set, and iteration gives each name once.
    """

    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        self._cookies: list[Cookie] = []

    @property
    def cookies(self) -> list[Cookie]:
        """The cookies set here, in order (a copy)."""
        return list(self._cookies)

    def add(self, cookie: Cookie) -> Cookie:
        """Set ``cookie``, replacing one of the same key, path and domain; return it."""
        cookies = self._cookies
        for index, other in enumerate(cookies):
            if (other.key, other.path, other.domain) == (cookie.key, cookie.path, cookie.domain):
                cookies[index] = cookie
                return cookie
        cookies.append(cookie)
        return cookie

    def add_cookie(
        self,
        key: str,
        value: str,
        *,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = True,
        httponly: bool = False,
        samesite: str | None = "Lax",
        max_age: int | None = None,
        expires: datetime | None = None,
        partitioned: bool = False,
        comment: str | None = None,
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> Cookie:
        """Set a cookie; one of the same key, path and domain set earlier is replaced.

        The arguments are `Cookie`'s. ``host_prefix=True`` names the cookie ``__Host-<key>``
        (which needs ``secure``, ``path="/"`` and no ``domain``), ``secure_prefix=True``
        ``__Secure-<key>`` (which needs ``secure``); ``request.cookies.get(key)`` finds
        either under the plain key.

        Returns:
            The `Cookie`, which may still be changed.

        Raises:
            ValueError, TypeError: as for `Cookie`; ``ValueError`` also for both prefixes.
        """
        cookie = Cookie(
            make_key(key, host_prefix, secure_prefix),
            value,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            max_age=max_age,
            expires=expires,
            partitioned=partitioned,
            comment=comment,
        )
        return self.add(cookie)

    def delete_cookie(
        self,
        key: str,
        *,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = True,
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> Cookie:
        """Tell the client to drop a cookie: an empty value, ``Max-Age=0`` and a 1970 expiry.

        ``path`` and ``domain`` must be those the cookie was set with, or the client keeps
        it. A cookie of the same name, path and domain set on this response is replaced, and
        its ``Secure``, ``HttpOnly``, ``SameSite`` and ``Partitioned`` are kept (a browser
        ignores a deletion over plain HTTP that says ``Secure``); otherwise the deletion is
        ``Secure`` unless ``secure=False``, and ``SameSite=Lax``.

        Returns:
            The deleting `Cookie`.

        Raises:
            ValueError: as for `Cookie` (a ``__Host-`` deletion also needs ``path="/"``, no
                ``domain`` and ``secure``).
        """
        name = make_key(key, host_prefix, secure_prefix)
        set_here = self.get_cookie(name, path, domain)
        if set_here is not None:
            deletion = Cookie(
                name,
                "",
                path=path,
                domain=domain,
                secure=set_here.secure,
                httponly=set_here.httponly,
                samesite=set_here.samesite,
                partitioned=set_here.partitioned,
                max_age=0,
                expires=_EPOCH,
            )
        else:
            deletion = Cookie(
                name, "", path=path, domain=domain, secure=secure, max_age=0, expires=_EPOCH
            )
        return self.add(deletion)

    def get_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> Cookie | None:
        """The cookie set here with this key (prefixed as asked), path and domain, or ``None``."""
        wanted = (make_key(key, host_prefix, secure_prefix), path, domain)
        for cookie in self._cookies:
            if (cookie.key, cookie.path, cookie.domain) == wanted:
                return cookie
        return None

    def has_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> bool:
        """Whether a cookie with this key (prefixed as asked), path and domain is set here."""
        return self.get_cookie(key, path, domain, host_prefix, secure_prefix) is not None

    # -- older Sanic's dictionary style, by cookie name ------------------------------------------

    def __getitem__(self, key: str) -> Cookie:
        """The cookie named ``key`` set last (any path or domain).

        Raises:
            KeyError: no cookie of that name is set here.
        """
        for cookie in reversed(self._cookies):
            if cookie.key == key:
                return cookie
        raise KeyError(key)

    def __setitem__(self, key: str, value: str) -> None:
        """Set cookie ``key`` to ``value``: a new value for the one set last, or a new cookie.

        Raises:
            ValueError, TypeError: as for `Cookie`.
        """
        if key in self:
            self[key].value = value
        else:
            self.add_cookie(key, value)

    def __delitem__(self, key: str) -> None:
        """Delete every cookie named ``key`` (`delete_cookie` at each one's path and domain).

        With none set here, the deletion is for ``path="/"`` and no domain.
        """
        places = [(c.path, c.domain) for c in self._cookies if c.key == key] or [("/", None)]
        for path, domain in places:
            self.delete_cookie(key, path=path, domain=domain)

    def __contains__(self, key: object) -> bool:
        """Whether a cookie of this name (any path or domain) is set here."""
        return any(cookie.key == key for cookie in self._cookies)

    def __iter__(self) -> Iterator[str]:
        """Each cookie name once, in the order first set."""
        return iter(dict.fromkeys(cookie.key for cookie in self._cookies))

    def __len__(self) -> int:
        return len(self._cookies)

    def header_values(self) -> list[str]:
        """One ``Set-Cookie`` value per cookie, in the order they were first added."""
        return [cookie.encode() for cookie in self._cookies]

    def __repr__(self) -> str:
        return f"CookieJar({self._cookies!r})"
