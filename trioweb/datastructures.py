"""Read-only HTTP data structures: case-insensitive headers and multi-valued query arguments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TypeVar, overload

__all__ = ["Headers", "MultiDict", "MutableHeaders"]

V = TypeVar("V")
_D = TypeVar("_D")


class MultiDict(Mapping[str, V]):
    """A read-only mapping where one key may carry several values.

    ``d[key]`` and ``d.get(key)`` give the first value; ``d.getlist(key)`` gives all of them in
    the order they arrived. Iteration yields each key once.

    It is generic over the value type: query arguments and form fields are ``MultiDict[str]``,
    uploaded files ``MultiDict[trioweb.forms.File]``. Annotate it with the value type
    (``MultiDict[str]``); an empty one needs it spelled out, ``MultiDict[str]()``.
    """

    __slots__ = ("_items", "_lists")

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._items = list(items)
        lists: dict[str, list[V]] = {}
        for key, value in self._items:
            lists.setdefault(key, []).append(value)
        self._lists = lists

    def __getitem__(self, key: str) -> V:
        return self._lists[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    @overload
    def getlist(self, key: str) -> list[V]: ...
    @overload
    def getlist(self, key: str, default: list[V]) -> list[V]: ...
    def getlist(self, key: str, default: list[V] | None = None) -> list[V]:
        """All values for ``key`` in arrival order; ``default`` (or ``[]``) when absent."""
        values = self._lists.get(key)
        if values is None:
            return [] if default is None else default
        return list(values)

    def multi_items(self) -> list[tuple[str, V]]:
        """Every (key, value) pair, repeats included, in arrival order."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


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
            pairs = headers.items() if isinstance(headers, Mapping) else headers
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
