"""HTTP data structures: headers, multi-valued request parameters, credentials."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

__all__ = ["Credentials", "Headers", "MutableHeaders", "RequestParameters"]

V = TypeVar("V")
_D = TypeVar("_D")
#: Tells "no default given" from ``default=None``.
_MISSING: Any = object()


class RequestParameters(dict[str, list[V]]):
    """Sanic's multi-valued mapping: a ``dict`` of name -> list of values, in arrival order.

    ``params["k"]`` is the list of every value sent for ``k`` (``KeyError`` when none was),
    ``params.get("k")`` the first value (or the default) and ``params.getlist("k")`` all of
    them. It is a real ``dict``, so ``json(request.args)`` and ``dict(request.form)`` work as
    in Sanic.

    It is generic over the value type: query arguments, form fields and cookies are
    ``RequestParameters[str]``, uploaded files ``RequestParameters[trioweb.forms.File]``.
    """

    __slots__ = ()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, V]]) -> RequestParameters[V]:
        """Group ``(name, value)`` pairs by name, keeping the order of the values."""
        params: RequestParameters[V] = cls()
        for key, value in pairs:
            values = dict.get(params, key)
            if values is None:
                params[key] = [value]
            else:
                values.append(value)
        return params

    @overload  # type: ignore[override]  # dict.get gives the list; Sanic's gives its first value
    def get(self, key: str, /) -> V | None: ...
    @overload
    def get(self, key: str, /, default: V | _D) -> V | _D: ...
    def get(self, key: str, /, default: object = None) -> object:
        """The first value sent for ``key``; ``default`` when there was none."""
        values = dict.get(self, key)
        return values[0] if values else default

    def getlist(self, key: str, default: list[V] | None = None) -> list[V]:
        """Every value sent for ``key``, in order; ``default`` (or ``[]``) when there was none."""
        values = dict.get(self, key)
        if not values:
            return [] if default is None else default
        return list(values)

    @overload
    def getone(self, key: str, /) -> V: ...
    @overload
    def getone(self, key: str, /, default: V | _D) -> V | _D: ...
    def getone(self, key: str, /, default: object = _MISSING) -> object:
        """The first value sent for ``key``, as multidict's ``getone`` gives it.

        Raises:
            KeyError: nothing was sent for ``key`` and no ``default`` was given.
        """
        values = dict.get(self, key)
        if values:
            return values[0]
        if default is _MISSING:
            raise KeyError(key)
        return default

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What an ``Authorization`` header carries (``request.credentials``).

    Attributes:
        auth_type: The scheme: ``"Basic"``, ``"Bearer"`` or ``"Token"`` (in that spelling,
            whatever case was sent), any other scheme as sent, or ``None`` for a header that
            is a bare credential with no scheme.
        token: What follows the scheme (the whole header when there is no scheme).

    Raises:
        ValueError: a ``Basic`` token that is not base64 of UTF-8 ``user:password``.
    """

    auth_type: str | None
    token: str
    _username: str | None = field(default=None, init=False, repr=False, compare=False)
    _password: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.auth_type != "Basic":
            return
        try:
            decoded = base64.b64decode(self.token.encode("ascii"), validate=True).decode("utf-8")
        except (ValueError, UnicodeError):  # binascii.Error is a ValueError
            raise ValueError("Basic credentials must be base64 of UTF-8 text") from None
        username, colon, password = decoded.partition(":")
        if not colon:
            raise ValueError("Basic credentials must be 'user:password' (no ':' found)")
        object.__setattr__(self, "_username", username)
        object.__setattr__(self, "_password", password)

    @property
    def username(self) -> str:
        """The user name of ``Basic`` credentials.

        Raises:
            AttributeError: the scheme is not ``Basic``.
        """
        if self._username is None:
            raise AttributeError("username is available for Basic credentials only")
        return self._username

    @property
    def password(self) -> str:
        """The password of ``Basic`` credentials (everything after the first ``:``).

        Raises:
            AttributeError: the scheme is not ``Basic``.
        """
        if self._password is None:
            raise AttributeError("password is available for Basic credentials only")
        return self._password


class Headers(Mapping[str, str]):
    """Request or response headers: case-insensitive, multi-valued, read-only.

    Built from the raw ``(name, value)`` byte pairs h11 produces. ``headers["Content-Type"]``
    gives the first value; ``headers.getall("set-cookie")`` gives every value.
    """

    __slots__ = ("_first", "_pairs")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._pairs = list(raw)
        # Name -> first value, made on the first lookup: many requests never look one up.
        self._first: dict[str, str] | None = None

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Build headers from ``(name, value)`` text pairs."""
        return cls((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs)

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = self._first = {}
            for name, value in self._pairs:
                key = name.decode("latin-1").lower()
                if key not in first:
                    first[key] = value.decode("latin-1")
        return first

    def __getitem__(self, key: str) -> str:
        return self._index()[key.lower()]

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str | _D) -> str | _D: ...

    def get(self, key: str, /, default: object = None) -> object:
        """The first value sent for ``key`` (any case), else ``default``."""
        # Mapping.get's try/except KeyError costs more, and this runs several times a request.
        return self._index().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index()

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())

    def getall(self, key: str) -> list[str]:
        """Every value sent for ``key`` (any case), in order; ``[]`` when absent."""
        wanted = key.lower()
        return [
            value.decode("latin-1")
            for name, value in self._pairs
            if name.decode("latin-1").lower() == wanted
        ]

    getlist = getall

    @overload
    def getone(self, key: str, /) -> str: ...
    @overload
    def getone(self, key: str, /, default: str | _D) -> str | _D: ...
    def getone(self, key: str, /, default: object = _MISSING) -> object:
        """The first value sent for ``key`` (any case), as Sanic's (multidict) headers give it.

        Raises:
            KeyError: no such header was sent and no ``default`` was given.
        """
        value = self._index().get(key.lower(), _MISSING)
        if value is not _MISSING:
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The header pairs as received, in order, with lower-cased names."""
        return [(name.lower(), value) for name, value in self._pairs]

    def __repr__(self) -> str:
        return f"Headers({[(k.decode(), v.decode()) for k, v in self._pairs]!r})"


class MutableHeaders(MutableMapping[str, str]):
    """Response headers: case-insensitive, in order, and able to repeat a name.

    ``headers["Content-Type"] = ...`` replaces every header of that name (in any case);
    ``headers.add("Link", ...)`` adds one more. ``headers[name]`` gives the first value and
    iteration yields each name once, lower-cased; `multi_items` gives every pair as set.
    """

    __slots__ = ("_items",)

    def __init__(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    ) -> None:
        self._items: list[tuple[str, str]] = []
        if headers:
            if isinstance(headers, MutableHeaders):
                pairs: Iterable[tuple[str, str]] = headers.multi_items()  # repeats and all
            elif isinstance(headers, Mapping):
                pairs = headers.items()
            else:
                pairs = headers
            self._items = [(str(k), str(v)) for k, v in pairs]

    def __getitem__(self, key: str) -> str:
        wanted = key.lower()
        for name, value in self._items:
            if name.lower() == wanted:
                return value
        raise KeyError(key)

    def __setitem__(self, key: str, value: str) -> None:
        wanted = key.lower()
        kept = [(name, v) for name, v in self._items if name.lower() != wanted]
        kept.append((key, str(value)))
        self._items = kept

    def __delitem__(self, key: str) -> None:
        wanted = key.lower()
        kept = [(name, v) for name, v in self._items if name.lower() != wanted]
        if len(kept) == len(self._items):
            raise KeyError(key)
        self._items = kept

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        wanted = key.lower()
        return any(name.lower() == wanted for name, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for name, _ in self._items:
            seen.setdefault(name.lower())
        return iter(seen)

    def __len__(self) -> int:
        return len({name.lower() for name, _ in self._items})

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, key: str, value: str) -> None:
        """Add one more ``key`` header, keeping those already set (``Link``, ``Vary``...)."""
        self._items.append((key, str(value)))

    def getall(self, key: str) -> list[str]:
        """Every value set for ``key`` (any case), in order."""
        wanted = key.lower()
        return [value for name, value in self._items if name.lower() == wanted]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeats included, in the order they were set."""
        return list(self._items)

    def copy(self) -> MutableHeaders:
        """An independent copy."""
        return MutableHeaders(self._items)

    def __repr__(self) -> str:
        return f"MutableHeaders({self._items!r})"
