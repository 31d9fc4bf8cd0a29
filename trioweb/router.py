"""URL routing: find the handler for a request's method, path and host.

A :class:`Route` pairs a handler with a path pattern such as ``/user/<id:int>``. A
:class:`Router` holds routes and resolves a request to a :class:`Match`, or raises
:class:`~trioweb.exceptions.NotFound` / :class:`~trioweb.exceptions.MethodNotAllowed`.

Parameter types: ``str`` (default, one segment), ``int``, ``float``, ``uuid``, ``path`` (may
span segments), ``slug``, ``alpha``, ``ymd`` (a ``datetime.date``), or any regex, as in
``<code:[a-z]{2,4}>``. Paths are matched in a canonical form: every percent-escape is decoded
except ``%2F`` and ``%25``, so ``%41`` equals ``A`` but an encoded slash never splits a segment.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from trioweb.exceptions import MethodNotAllowed, NotFound, RouteExists, URLBuildError

__all__ = ["Handler", "Match", "Route", "Router"]

Handler = Callable[..., Awaitable[Any]]

# Written with [0-9] rather than \d, which would also accept digits of other scripts.
_TYPES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"-?[0-9]+", int),
    "float": (r"-?[0-9]+(?:\.[0-9]+)?", float),
    "uuid": (r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", uuid.UUID),
    "path": (r"(?s:.+)", str),
    "slug": (r"[a-z0-9]+(?:-[a-z0-9]+)*", str),
    "alpha": (r"[A-Za-z]+", str),
    "ymd": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date.fromisoformat),
}
_PARAM_RE = re.compile(r"<([^<>]*)>")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_KEPT_ESCAPES_RE = re.compile(r"(%2[fF]|%25)")
# Sub-delimiters, ':' and '@' are legal in a path segment; not quoting them keeps URLs readable.
_SEGMENT_SAFE = ":@!$&'()*+,;="


def _canonical(raw: str) -> str:
    """Decode a raw path's percent-escapes except ``%2F`` and ``%25`` (kept, upper-cased)."""
    if "%" not in raw:
        return raw
    # Splitting on the kept escapes cannot cut a UTF-8 sequence: '/' and '%' are single bytes.
    pieces = _KEPT_ESCAPES_RE.split(raw)
    return "".join(p.upper() if i % 2 else unquote(p) for i, p in enumerate(pieces))


def _literal(text: str) -> str:
    """Return the canonical form of static pattern text, which is written unencoded."""
    return text.replace("%", "%25")


def _request_host(host: str | None) -> str | None:
    """Lower-case a Host header value and drop its port, keeping IPv6 brackets."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] or host
    return host.partition(":")[0]


def _methods(value: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(value, str):
        raise TypeError(f"{what} must be a collection of method names, not the string {value!r}")
    methods = frozenset(m.upper() for m in value)
    bad = sorted(m for m in methods if not _TOKEN_RE.fullmatch(m))
    if bad:
        raise ValueError(f"{what} contains invalid HTTP method names: {', '.join(bad)}")
    return methods


class _Param(NamedTuple):
    name: str
    kind: str  # a type name or the custom regex, for messages and duplicate detection
    group: str  # the regex group capturing the value
    value_re: re.Pattern[str]  # fullmatches one canonical value, for url_path
    convert: Callable[[str], Any]
    keep_slash: bool  # only ``path`` values keep '/' unquoted when building a URL
    inner: bool = False  # a regex with one capturing group: the group is the value


def _static_text(uri: str, text: str) -> str:
    if "<" in text or ">" in text:
        raise ValueError(
            f"unbalanced '<' or '>' in {uri!r} (a parameter regex may not contain them)"
        )
    return text


def _parse(uri: str) -> tuple[str | _Param, ...]:
    """Split a pattern into static text and parameters, validating every parameter."""
    parts: list[str | _Param] = []
    seen: set[str] = set()
    pos = 0
    for found in _PARAM_RE.finditer(uri):
        parts.append(_static_text(uri, uri[pos : found.start()]))
        pos = found.end()
        name, _, kind = found[1].partition(":")
        if not name.isidentifier():
            raise ValueError(f"parameter name {name!r} in {uri!r} is not a Python identifier")
        if name in seen:
            raise ValueError(f"parameter {name!r} appears twice in {uri!r}")
        seen.add(name)
        kind = kind or "str"
        if kind in _TYPES:
            regex, convert = _TYPES[kind]
        elif kind.isidentifier():
            known = ", ".join(_TYPES)
            raise ValueError(
                f"unknown type {kind!r} for parameter {name!r} in {uri!r} (known: {known}; "
                "anything else must be a regex)"
            )
        else:
            # A regex cannot contain '<', so it has no named group to clash with ours.
            regex, convert = kind, str
        try:
            value_re = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"invalid regex for parameter {name!r} in {uri!r}: {exc}") from exc
        if value_re.groups > 1:
            raise ValueError(
                f"the regex of parameter {name!r} in {uri!r} has {value_re.groups} capturing "
                "groups; it may have one (the value passed) or none (the whole match): "
                "write the others as (?:...)"
            )
        inner = kind not in _TYPES and value_re.groups == 1
        parts.append(_Param(name, kind, f"_{len(seen)}", value_re, convert, kind == "path", inner))
    parts.append(_static_text(uri, uri[pos:]))
    return tuple(p for p in parts if p != "")


@dataclass(frozen=True, slots=True)
class Route:
    """A handler registered for a path pattern, a set of methods and optionally a host.

    Raises ValueError (or TypeError) at construction when the pattern, methods, name or host
    are malformed, so mistakes surface at registration rather than on the first request.
    """

    handler: Handler
    uri: str
    methods: frozenset[str]
    name: str
    stream_methods: frozenset[str] = frozenset()
    strict_slashes: bool = False
    #: A host name, several, or ``None`` for any host.
    host: str | tuple[str, ...] | None = None
    #: Your own data about the route (a route's ``ctx_*`` keywords land here).
    ctx: SimpleNamespace = field(default_factory=SimpleNamespace, compare=False)
    _parts: tuple[str | _Param, ...] = field(init=False, repr=False, compare=False)
    _params: tuple[_Param, ...] = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _static_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _signature: str = field(init=False, repr=False, compare=False)
    _trailing: bool = field(init=False, repr=False, compare=False)
    _hosts: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.handler):
            raise TypeError(f"route handler must be callable, got {self.handler!r}")
        if not isinstance(self.uri, str) or not self.uri.startswith("/"):
            raise ValueError(f"route pattern must start with '/': {self.uri!r}")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"route for {self.uri!r} needs a non-empty name")
        methods = _methods(self.methods, "methods")
        if not methods:
            raise ValueError(f"route {self.uri!r} needs at least one method")
        stream = _methods(self.stream_methods, "stream_methods")
        if not stream <= methods:
            extra = ", ".join(sorted(stream - methods))
            raise ValueError(f"stream_methods of {self.uri!r} not among its methods: {extra}")
        hosts: frozenset[str] | None = None
        if self.host is not None:
            names = (self.host,) if isinstance(self.host, str) else tuple(self.host)
            hosts = frozenset(h.strip().lower() for h in names)
            for host in hosts:
                if not host or "/" in host or ":" in host.rpartition("]")[2]:
                    raise ValueError(
                        f"route host must be a bare host name without port: {self.host!r}"
                    )
            if not hosts:
                raise ValueError(f"route host list of {self.uri!r} is empty")

        parts = _parse(self.uri)
        params = tuple(p for p in parts if isinstance(p, _Param))
        # Lenient routes are matched against the request path minus one trailing slash, so the
        # pattern drops its own; the stripped form is also what duplicates are compared by.
        trailing = self.uri != "/" and self.uri.endswith("/")
        stripped = list(parts)
        last = stripped[-1]
        if trailing and isinstance(last, str):
            stripped[-1] = last[:-1]
            if not stripped[-1]:
                stripped.pop()
        matched = parts if self.strict_slashes else stripped
        signature = "".join(p if isinstance(p, str) else f"<{p.kind}>" for p in stripped)

        regex: re.Pattern[str] | None = None
        keys: tuple[str, ...] = ()
        if params:
            body = "".join(
                re.escape(_literal(p))
                if isinstance(p, str)
                else f"(?P<{p.group}>{p.value_re.pattern})"
                for p in matched
            )
            try:
                regex = re.compile(body)
            except re.error as exc:
                raise ValueError(f"pattern {self.uri!r} does not compile: {exc}") from exc
        elif self.strict_slashes or self.uri == "/":
            keys = (_literal(self.uri),)
        else:
            keys = (_literal(signature), _literal(signature) + "/")

        set_ = object.__setattr__
        set_(self, "methods", methods)
        set_(self, "stream_methods", stream)
        set_(self, "_parts", parts)
        set_(self, "_params", params)
        set_(self, "_regex", regex)
        set_(self, "_static_keys", keys)
        set_(self, "_signature", signature)
        set_(self, "_trailing", trailing)
        set_(self, "_hosts", hosts)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts the route serves, as declared (empty: every host)."""
        if self.host is None:
            return ()
        return (self.host,) if isinstance(self.host, str) else tuple(self.host)

    @property
    def param_names(self) -> tuple[str, ...]:
        """The pattern's parameter names in order; other url_for arguments belong in the query."""
        return tuple(p.name for p in self._params)

    def is_stream(self, method: str) -> bool:
        """Return True when the body of a ``method`` request is streamed to the handler."""
        return method in self.stream_methods

    def url_path(self, params: Mapping[str, Any]) -> str:
        """Build this route's path from ``params``, percent-quoting each value.

        Keys that are not parameters of the pattern are ignored. Raises URLBuildError when a
        parameter is missing (or None) or its value would not match the parameter's type.
        """
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(quote(part, safe="/" + _SEGMENT_SAFE))
                continue
            value = params.get(part.name)
            if value is None:
                raise URLBuildError(
                    f"missing parameter {part.name!r} to build route {self.name!r} ({self.uri})"
                )
            text = str(value)
            quoted = quote(text, safe=("/" if part.keep_slash else "") + _SEGMENT_SAFE)
            try:
                if not part.value_re.fullmatch(_canonical(quoted)):
                    raise ValueError(text)
                part.convert(text)
            except ValueError:
                raise URLBuildError(
                    f"value {value!r} for parameter {part.name!r} of route {self.name!r} "
                    f"does not fit <{part.name}:{part.kind}>"
                ) from None
            out.append(quoted)
        return "".join(out)

    def _match(self, exact: str, stripped: str) -> dict[str, Any] | None:
        """Return converted parameters if this patterned route matches the canonical path."""
        if self._regex is None:
            return None
        found = self._regex.fullmatch(exact if self.strict_slashes else stripped)
        if found is None:
            return None
        values: dict[str, Any] = {}
        for param in self._params:
            text = found[param.group]
            if param.inner:
                inner = param.value_re.fullmatch(text)
                text = (inner[1] if inner is not None else None) or ""
            try:
                values[param.name] = param.convert(unquote(text))
            except ValueError:
                return None  # e.g. 2024-02-30: the shape fits but the value does not exist
        return values


@dataclass(frozen=True, slots=True)
class Match:
    """The route chosen for a request and its converted path parameters."""

    route: Route
    params: dict[str, Any]


class Router:
    """Routes registered in order, resolved by path, host and method.

    Parameterless routes are found through a dict in O(1) and checked before patterned ones,
    which are tried in registration order; the first route that also allows the method wins.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._static: dict[str, list[Route]] = {}
        self._dynamic: list[Route] = []
        self._names: dict[str, Route] = {}
        self._by_signature: dict[tuple[str, frozenset[str] | None], list[Route]] = {}
        self._uses_hosts = False

    @property
    def routes(self) -> tuple[Route, ...]:
        """All routes in registration order."""
        return tuple(self._routes)

    @property
    def uses_hosts(self) -> bool:
        """Whether any route is bound to a host (else `resolve` ignores its ``host``)."""
        return self._uses_hosts

    def add(self, route: Route) -> None:
        """Register ``route``.

        Raises RouteExists when its name is taken, or when a route with the same pattern
        (parameter names aside) and host already accepts one of its methods.
        """
        if not isinstance(route, Route):
            raise TypeError(f"Router.add expects a Route, got {type(route).__name__}")
        taken = self._names.get(route.name)
        if taken is not None:
            raise RouteExists(
                f"route name {route.name!r} is already used by "
                f"{','.join(sorted(taken.methods))} {taken.uri}"
            )
        key = (route._signature, route._hosts)
        for other in self._by_signature.get(key, ()):
            both = route.methods & other.methods
            # "/a" and "/a/" may coexist when a strict route keeps them apart.
            apart = route._trailing != other._trailing and (
                route.strict_slashes or other.strict_slashes
            )
            if both and not apart:
                where = f" on host {', '.join(sorted(route._hosts))}" if route._hosts else ""
                raise RouteExists(
                    f"route {','.join(sorted(both))} {route.uri}{where} is already registered "
                    f"as {other.name!r} ({other.uri})"
                )
        self._routes.append(route)
        self._uses_hosts = self._uses_hosts or route._hosts is not None
        self._names[route.name] = route
        self._by_signature.setdefault(key, []).append(route)
        if route._regex is None:
            for static_key in route._static_keys:
                self._static.setdefault(static_key, []).append(route)
        else:
            self._dynamic.append(route)

    def by_name(self, name: str) -> Route:
        """Return the route registered as ``name``; raises URLBuildError if there is none."""
        try:
            return self._names[name]
        except KeyError:
            raise URLBuildError(f"no route named {name!r}") from None

    def resolve(self, method: str, path: str, host: str | None = None) -> Match:
        """Find the route for a request.

        Args:
            method: The request method, compared case-sensitively with upper-case route methods.
            path: The raw, still percent-encoded request path without the query string.
            host: The Host header value; a port is ignored. Routes with a host need it to match.

        Raises:
            NotFound: No route matches the path and host.
            MethodNotAllowed: Routes match the path but none accepts ``method``; ``allowed``
                lists their methods (with HEAD wherever GET is allowed).
        """
        if "%" not in path:
            # The common cases, without the general loop below (and finding what it would
            # find first): the first static route for the path serves every host and takes
            # the method; or, with no static route and no host routes, a patterned one does.
            static = self._static.get(path)
            if static is not None:
                first = static[0]
                if first._hosts is None and method in first.methods:
                    return Match(first, {})
            elif not self._uses_hosts:
                stripped = path[:-1] if len(path) > 1 and path.endswith("/") else path
                for route in self._dynamic:
                    if method in route.methods:
                        params = route._match(path, stripped)
                        if params is not None:
                            return Match(route, params)
        allowed: set[str] = set()
        implicit_head: Match | None = None
        for route, params in self._candidates(path, _request_host(host)):
            if method in route.methods:
                return Match(route, params)
            allowed |= route.methods
            # A GET route answers HEAD, unless a later route handles HEAD itself.
            if implicit_head is None and method == "HEAD" and "GET" in route.methods:
                implicit_head = Match(route, params)
        if implicit_head is not None:
            return implicit_head
        if not allowed:
            raise NotFound()
        if "GET" in allowed:
            allowed.add("HEAD")
        raise MethodNotAllowed(method=method, allowed=allowed)

    def _candidates(self, path: str, host: str | None) -> Iterator[tuple[Route, dict[str, Any]]]:
        """Yield routes whose pattern and host match, static routes first."""
        exact = _canonical(path)
        for route in self._static.get(exact, ()):
            if route._hosts is None or host in route._hosts:
                yield route, {}
        stripped = exact[:-1] if len(exact) > 1 and exact.endswith("/") else exact
        for route in self._dynamic:
            if route._hosts is not None and host not in route._hosts:
                continue
            params = route._match(exact, stripped)
            if params is not None:
                yield route, params
