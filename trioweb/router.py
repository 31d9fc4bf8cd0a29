"""URL routing: find the handler for a request's method, path and host.

A `Route` pairs a handler with a path pattern such as ``/user/<id:int>``. A `Router` holds
routes and resolves a request to a `Match`, or raises `trioweb.exceptions.NotFound` /
`trioweb.exceptions.MethodNotAllowed`.

Parameter types: ``str`` (default, one segment), ``int``, ``float``, ``uuid``, ``path`` (may
span segments), ``slug``, ``alpha``, ``ymd`` (a ``datetime.date``), or any regex, as in
``<code:[a-z]{2,4}>``. Paths are matched in a canonical form: every percent-escape is decoded
except ``%2F`` and ``%25``, so ``%41`` equals ``A`` but an encoded slash never splits a segment.

How a path is resolved, at a cost that does not grow with the number of routes: routes without
parameters are found in a dict. Patterned routes live in a segment tree: each node maps literal
segments to children in a dict and keeps the parameter edges (one per parameter type or segment
shape, shared by all routes through the node); a trailing ``path`` parameter takes the rest of
the path. The walk follows every edge that matches, so it finds every patterned route whose
pattern fits, whatever the number of routes. Patterns the tree cannot follow segment by segment
(a parameter that may match ``/``, such as ``path`` before the last segment, or a regex with
lookarounds or anchors) are tried with their regex, one by one. A small app (at most four
patterned routes, none bound to a host) first tries each route's regex in turn: cheaper than a
walk at that size, and it chooses the same route.

Precedence is as if every route were tried in turn: static routes first, then patterned routes
in registration order (tree and regex-tried ones alike); the first whose host fits and that
accepts the method wins. GET routes also answer HEAD, unless a later matching route accepts
HEAD itself. When routes match but none accepts the method, the answer is a 405 whose ``Allow``
lists all their methods (plus HEAD wherever GET is allowed).
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
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


def _convert(params: tuple[_Param, ...], texts: Sequence[str]) -> dict[str, Any] | None:
    """Convert the canonical texts captured for ``params``; None when a value does not exist."""
    values: dict[str, Any] = {}
    at = 0  # indexing is measurably cheaper than zip() here, on every patterned request
    try:
        for param in params:
            text = texts[at]
            at += 1
            if param.inner:
                inner = param.value_re.fullmatch(text)
                text = (inner[1] if inner is not None else None) or ""
            values[param.name] = param.convert(unquote(text) if "%" in text else text)
    except ValueError:
        return None  # e.g. 2024-02-30: the shape fits but the value does not exist
    return values


# -- the segment tree --------------------------------------------------------------------------

# Parameter types whose values never contain '/' (an encoded one, %2F, is not a '/').
_IN_SEGMENT_TYPES = frozenset({"str", "int", "float", "uuid", "slug", "alpha", "ymd"})
_REST = "path"  # the type that may take the rest of the path as the last segment
# A custom regex is parsed with the stdlib's (private) regex parser to learn the same; without
# it, or should it change, routes with a custom regex are simply matched by their own regex.
try:
    _SRE_PARSER: Any = importlib.import_module("re._parser")
    _SRE_CONSTANTS: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python < 3.11 or a future reorganisation
    _SRE_PARSER = _SRE_CONSTANTS = None


def _set_may_hold_slash(items: list[tuple[Any, Any]]) -> bool:
    """Whether a parsed character set (``[...]``) may match '/'."""
    sre = _SRE_CONSTANTS
    negate = bool(items) and items[0][0] is sre.NEGATE
    found = False
    for op, arg in items[1:] if negate else items:
        if op is sre.LITERAL:
            found = found or arg == ord("/")
        elif op is sre.RANGE:
            found = found or arg[0] <= ord("/") <= arg[1]
        elif op is not sre.CATEGORY or arg not in (
            sre.CATEGORY_DIGIT,
            sre.CATEGORY_WORD,
            sre.CATEGORY_SPACE,
            sre.CATEGORY_LINEBREAK,
        ):
            return True  # \D, \W, \S, ... contain '/'; anything unknown might
    return found != negate


def _stays_in_segment(items: Iterable[tuple[Any, Any]]) -> bool:
    """Whether a parsed regex only matches text without '/' and reads nothing around it.

    Conservative: anchors, lookarounds, backreferences and anything unknown answer False.
    """
    sre = _SRE_CONSTANTS
    for op, arg in items:
        if op is sre.LITERAL:
            ok = arg != ord("/")
        elif op is sre.NOT_LITERAL:
            ok = arg == ord("/")
        elif op is sre.IN:
            ok = not _set_may_hold_slash(arg)
        elif op is sre.BRANCH:
            ok = all(_stays_in_segment(branch) for branch in arg[1])
        elif op is sre.SUBPATTERN:
            ok = _stays_in_segment(arg[3])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            ok = _stays_in_segment(arg[2])
        elif op is sre.ATOMIC_GROUP:
            ok = _stays_in_segment(arg)
        else:
            ok = False  # ANY, AT (anchors), ASSERT(_NOT), GROUPREF, ...
        if not ok:
            return False
    return True


def _in_segment(param: _Param) -> bool:
    """Whether ``param`` always matches within one segment, as the tree needs."""
    if param.kind in _TYPES:
        return param.kind in _IN_SEGMENT_TYPES
    if _SRE_PARSER is None:
        return False
    try:
        parsed = _SRE_PARSER.parse(param.value_re.pattern, param.value_re.flags)
        return _stays_in_segment(parsed)
    except Exception:  # a private module changed: the route's own regex will do
        return False


class _Edge(NamedTuple):
    """A parameter segment: ``groups`` name what it captures (None: the whole segment)."""

    key: str  # the regex's text: routes with the same shape here share the edge
    regex: re.Pattern[str]
    groups: tuple[str, ...] | None


# One step down the tree: a literal segment, a parameter segment, or (None) the rest of the path.
_Step = str | _Edge | None


def _steps(pattern: tuple[str | _Param, ...]) -> tuple[_Step, ...] | None:
    """Split a route's pattern into tree steps; None when the tree cannot follow it."""
    segments: list[list[str | _Param]] = [[]]
    for part in pattern:
        if isinstance(part, str):
            first, *others = part.split("/")
            if first:
                segments[-1].append(first)
            segments.extend([piece] if piece else [] for piece in others)
        else:
            segments[-1].append(part)
    steps: list[_Step] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments[1:], 1):  # [0] is before the leading '/'
        only = segment[0] if len(segment) == 1 else None
        if not segment:
            steps.append("")
        elif isinstance(only, str):
            steps.append(_literal(only))
        elif isinstance(only, _Param) and only.kind == _REST and index == last:
            steps.append(None)
        elif not all(isinstance(p, str) or _in_segment(p) for p in segment):
            return None
        elif isinstance(only, _Param):
            steps.append(_Edge(only.value_re.pattern, only.value_re, None))
        else:
            # Several parameters, or text around one: one regex for the segment, matching it
            # as the route's regex would (no part of it can reach past a '/').
            body = "".join(
                re.escape(_literal(p)) if isinstance(p, str) else f"(?P<_{i}>{p.value_re.pattern})"
                for i, p in enumerate(segment)
            )
            groups = tuple(f"_{i}" for i, p in enumerate(segment) if isinstance(p, _Param))
            steps.append(_Edge(body, re.compile(body), groups))
    return tuple(steps)


class _Leaf(NamedTuple):
    order: int  # registration order: the lower wins
    route: Route


_Found = list[tuple[_Leaf, tuple[str, ...]]]  # routes whose pattern fits, with captured texts
# Up to this many patterned routes (none bound to a host), matching each route's regex in turn
# costs less than a walk down the tree (measured: 1.3 us against 2.1 us for one route).
_SCAN_LIMIT = 4
_Fullmatch = Callable[[str], "re.Match[str] | None"]


_NO_CHILDREN: dict[str, _Node] = {}  # shared by nodes without literal children; never changed


class _Node:
    """A tree node: literal segments in a dict, parameter edges, and the routes ending here.

    Most nodes have no literal children, edges or routes of some kind: those share empty
    containers (a node costs ~100 bytes instead of ~400), replaced when a route needs them.
    """

    __slots__ = ("edges", "ends", "rest", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = _NO_CHILDREN
        # (regex.fullmatch, groups, child, key), in the order routes first needed them.
        self.edges: tuple[tuple[_Fullmatch, tuple[str, ...] | None, _Node, str], ...] = ()
        self.ends: tuple[_Leaf, ...] = ()  # patterns that end at this node
        self.rest: tuple[_Leaf, ...] = ()  # patterns whose `path` parameter takes what follows

    def add(self, steps: tuple[_Step, ...], leaf: _Leaf) -> None:
        """Add a route whose pattern is ``steps`` below this node."""
        node = self
        for step in steps:
            if step is None:
                node.rest = (*node.rest, leaf)
                return
            if isinstance(step, str):
                if node.static is _NO_CHILDREN:
                    node.static = {}
                node = node.static.setdefault(step, _Node())
                continue
            for _, _, child, key in node.edges:
                if key == step.key:
                    node = child
                    break
            else:
                child = _Node()
                node.edges = (*node.edges, (step.regex.fullmatch, step.groups, child, step.key))
                node = child
        node.ends = (*node.ends, leaf)

    def walk(self, segments: list[str], at: int, texts: tuple[str, ...], found: _Found) -> None:
        """Add to ``found`` every route below whose pattern fits ``segments[at:]``.

        Every matching edge is followed (precedence is decided later, by registration index),
        so the cost depends on the path and the edges it meets, not on the number of routes.
        """
        node = self
        end = len(segments)
        while at < end:
            segment = segments[at]
            if node.rest:
                rest = "/".join(segments[at:]) if at + 1 < end else segment
                if rest:  # `path` takes one character at least
                    for leaf in node.rest:
                        found.append((leaf, (*texts, rest)))
            at += 1
            if node.edges:
                for fullmatch, groups, child, _ in node.edges:
                    fits = fullmatch(segment)
                    if fits is None:
                        continue
                    if groups is None:
                        got = (*texts, segment)
                    elif len(groups) == 1:
                        got = (*texts, fits[groups[0]])
                    else:
                        got = (*texts, *fits.group(*groups))
                    if at < end:
                        child.walk(segments, at, got, found)
                    else:  # the last segment (the common case): no need to go down
                        for leaf in child.ends:
                            found.append((leaf, got))
            # The literal child, by iteration rather than recursion: the common way down.
            down = node.static.get(segment)
            if down is None:
                return
            node = down
        for leaf in node.ends:
            found.append((leaf, texts))


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
    # What the path is matched against: the parts, minus a lenient route's trailing slash.
    _pattern: tuple[str | _Param, ...] = field(init=False, repr=False, compare=False)
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
        set_(self, "_pattern", tuple(matched))
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
        return _convert(self._params, [found[param.group] for param in self._params])


@dataclass(frozen=True, slots=True)
class Match:
    """The route chosen for a request and its converted path parameters."""

    route: Route
    params: dict[str, Any]


class Router:
    """Routes registered in order, resolved by path, host and method.

    Parameterless routes are found through a dict and checked before patterned ones, which a
    segment tree finds (see the module docstring); among those, registration order decides.
    The first route that also allows the method wins.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._static: dict[str, list[Route]] = {}
        # Patterned routes: strict ones match the path as it is, lenient ones without one
        # trailing slash, so each kind has its own tree; `_regex_only` is the fallback list.
        self._strict_tree = _Node()
        self._lenient_tree = _Node()
        self._regex_only: list[_Leaf] = []
        self._has_strict = False
        self._patterned: list[Route] = []  # all of them, in registration order
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
            return
        self._patterned.append(route)
        leaf = _Leaf(len(self._routes) - 1, route)
        steps = _steps(route._pattern)
        if steps is None:
            self._regex_only.append(leaf)
        else:
            tree = self._strict_tree if route.strict_slashes else self._lenient_tree
            tree.add(steps, leaf)
            self._has_strict = self._has_strict or route.strict_slashes

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
        exact = _canonical(path) if "%" in path else path
        static = self._static.get(exact)
        if static is not None:
            first = static[0]
            if first._hosts is None and method in first.methods:
                return Match(first, {})  # the common case, found before anything else
        elif len(self._patterned) <= _SCAN_LIMIT and not self._uses_hosts:
            # A small app: trying each pattern in turn is cheaper than walking the tree, and
            # the first that fits and takes the method is what the walk would choose.
            stripped = exact[:-1] if len(exact) > 1 and exact.endswith("/") else exact
            for route in self._patterned:
                if method in route.methods:
                    params = route._match(exact, stripped)
                    if params is not None:
                        return Match(route, params)
        leaves: _Found = []
        if exact[:1] == "/":
            segments = exact[1:].split("/")
            if self._has_strict:
                self._strict_tree.walk(segments, 0, (), leaves)
            if len(segments) > 1 and not segments[-1]:
                segments.pop()  # lenient routes see the path without its trailing slash
            self._lenient_tree.walk(segments, 0, (), leaves)
        if static is None and not self._regex_only:
            if not leaves:
                raise NotFound()
            if len(leaves) == 1:
                # The other common case: one patterned route fits; it wins if it may answer.
                (_, route), texts = leaves[0]
                if route._hosts is None and method in route.methods:
                    params = _convert(route._params, texts)
                    if params is not None:
                        return Match(route, params)
        hostname = _request_host(host) if self._uses_hosts else None
        allowed: set[str] = set()
        implicit_head: Match | None = None
        for route, params in self._candidates(exact, static, leaves, hostname):
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

    def _candidates(
        self, exact: str, static: list[Route] | None, leaves: _Found, host: str | None
    ) -> list[tuple[Route, dict[str, Any]]]:
        """Return the routes whose pattern and host match, in order of precedence."""
        found: list[tuple[Route, dict[str, Any]]] = []
        if static is not None:
            found.extend((r, {}) for r in static if r._hosts is None or host in r._hosts)
        patterned: list[tuple[int, Route, dict[str, Any]]] = []
        for (index, route), texts in leaves:
            if route._hosts is None or host in route._hosts:
                params = _convert(route._params, texts)
                if params is not None:
                    patterned.append((index, route, params))
        if self._regex_only:
            stripped = exact[:-1] if len(exact) > 1 and exact.endswith("/") else exact
            for index, route in self._regex_only:
                if route._hosts is None or host in route._hosts:
                    params = route._match(exact, stripped)
                    if params is not None:
                        patterned.append((index, route, params))
        if len(patterned) > 1:
            patterned.sort(key=itemgetter(0))
        for _, route, params in patterned:
            found.append((route, params))
        return found
