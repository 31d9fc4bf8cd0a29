"""CORS: let web pages served from other origins call the app from a browser.

    from trioweb.cors import cors

    cors(app, ["https://app.example.com"], allow_credentials=True)
    cors(api_blueprint, "*")          # a blueprint's routes only

`cors` is middleware, registered on an app, a blueprint or a blueprint group. It does two
things:

- **Preflights.** A browser asks before a cross-origin request that is not "simple"
  (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``). For any path a route
  serves, the answer is 204 with the CORS headers, or 403 with a one-line reason (origin,
  method or header not allowed). A path no route serves stays a 404.
- **Actual requests.** Every response to an allowed origin carries
  ``Access-Control-Allow-Origin`` (and ``-Allow-Credentials``, ``-Expose-Headers`` when set
  up), error pages and streaming responses included, with ``Vary: Origin`` whenever the
  answer depends on the origin.

Inside: `_Policy` holds one call's settings, checked when `cors` is called; one `_AppCORS`
per app runs the middleware (app-wide, since a preflight usually matches no route and so no
blueprint) and picks for each request the policy that owns it: its route's blueprint's, else
the app's.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .app import App
from .blueprints import Blueprint, BlueprintGroup
from .exceptions import MethodNotAllowed
from .request import Request
from .response import BaseHTTPResponse, HTTPResponse, empty, text

if TYPE_CHECKING:
    from .datastructures import MutableHeaders
    from .router import Route

__all__ = ["cors"]

#: Request middleware priority: preflights are answered before the app's own middleware
#: (default 0), since a browser never sends cookies or ``Authorization`` with a preflight,
#: and authentication middleware would refuse it.
PREFLIGHT_PRIORITY = 1000
#: Response middleware priority: after the app's own, so the response that is finally sent
#: (perhaps one that middleware made or replaced) gets the headers.
RESPONSE_PRIORITY = -1000

#: How long a browser may reuse a preflight answer, by default: 10 minutes, as Starlette.
#: Browsers cap it anyway (Chromium at 2 hours, Firefox at 24), and a short cache lets a
#: changed policy reach browsers soon.
DEFAULT_MAX_AGE = 600

# Request headers a page may always send whatever `allow_headers` says (the Fetch standard's
# CORS-safelisted names; browsers list Content-Type in a preflight when its value is not a
# form type, as for JSON). Starlette allows the same four.
_SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# scheme://host[:port], lower-cased: a name, an IPv4 address or a bracketed IPv6 one.
_ORIGIN_RE = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(?P<port>[0-9]+))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}

Origins = str | re.Pattern[str] | Iterable[str | re.Pattern[str]]


def _origin(text: str) -> str:
    """``text`` as a browser sends it in ``Origin``: lower case, no default port.

    Raises:
        ValueError: ``text`` is not ``scheme://host[:port]`` (nor ``null``).
    """
    lowered = text.strip().lower()
    if lowered == "null":
        return lowered  # sandboxed frames and file:// pages send this
    found = _ORIGIN_RE.fullmatch(lowered)
    if found is None:
        raise ValueError(
            f"{text!r} is not an origin: write scheme://host[:port] with no path (not even "
            "a trailing '/'), like 'https://app.example.com'; for a pattern pass "
            "re.compile(r'https://[a-z0-9-]+\\.example\\.com')"
        )
    scheme, host, port = found["scheme"], found["host"], found["port"]
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _tokens(values: Iterable[str], what: str) -> list[str]:
    """``values`` checked to be header or method names.

    Raises:
        TypeError: ``values`` is one string rather than a collection of them.
        ValueError: one is not a name.
    """
    if isinstance(values, str):
        raise TypeError(f"{what} must be '*' or a collection of names, not the string {values!r}")
    names = list(values)
    bad = [name for name in names if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name)]
    if bad:
        raise ValueError(f"{what} contains invalid names: {', '.join(map(repr, bad))}")
    return names


def _add_vary(headers: MutableHeaders, name: str) -> None:
    """Add ``name`` to the response's ``Vary``, unless it (or ``*``) is there already."""
    existing = headers.getall("vary")
    listed = {token.strip().lower() for value in existing for token in value.split(",")}
    if name.lower() in listed or "*" in listed:
        return
    headers["Vary"] = ", ".join([*(v.strip() for v in existing if v.strip()), name])


def _refuse(reason: str, vary: bool) -> HTTPResponse:
    """The 403 that ends a preflight the policy does not allow."""
    return text(f"CORS: {reason}\n", 403, {"Vary": "Origin"} if vary else None)


def _is_preflight(request: Request) -> bool:
    headers = request.headers
    return (
        request.method == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


@dataclass(frozen=True, slots=True)
class _Policy:
    """One `cors` call's settings, checked and normalised.

    Attributes:
        any_origin: ``"*"``: every origin, answered with ``*`` (never with credentials).
        origins: Exact origins, normalised as browsers send them.
        patterns: Regexes an origin may fully match instead.
        credentials: Send ``Access-Control-Allow-Credentials: true`` (echoing the origin).
        methods: Methods a preflight may ask for; ``None``: any the path serves.
        headers: Lower-cased request headers a preflight may ask for; ``None``: any.
        expose: The ``Access-Control-Expose-Headers`` value, or ``None`` for none.
        max_age: The ``Access-Control-Max-Age`` value, or ``None`` to send none.
    """

    any_origin: bool
    origins: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    credentials: bool
    methods: frozenset[str] | None
    headers: frozenset[str] | None
    expose: str | None
    max_age: str | None

    def allows(self, origin: str) -> bool:
        """Whether a request with this ``Origin`` header may read the answer."""
        if self.any_origin:
            return True
        origin = origin.strip().lower()
        return origin in self.origins or any(p.fullmatch(origin) for p in self.patterns)

    def _origin_headers(self, origin: str) -> dict[str, str]:
        """``Access-Control-Allow-Origin`` (and ``-Credentials``) for an allowed origin."""
        if self.any_origin:
            return {"Access-Control-Allow-Origin": "*"}
        headers = {"Access-Control-Allow-Origin": origin}
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def answer_preflight(
        self, origin: str, method: str, served: bool, requested: str | None
    ) -> HTTPResponse:
        """204 with the CORS headers when everything asked for is allowed, else a 403.

        Args:
            origin: The ``Origin`` header.
            method: ``Access-Control-Request-Method``: what the real request will use.
            served: Whether a route serves ``method`` at the path.
            requested: ``Access-Control-Request-Headers``, if sent.
        """
        vary = not self.any_origin
        if not self.allows(origin):
            return _refuse("origin not allowed", vary)
        if not served or (self.methods is not None and method not in self.methods):
            return _refuse(f"method {method} not allowed here", vary)
        names = [n.strip().lower() for n in (requested or "").split(",") if n.strip()]
        if self.headers is not None:
            for name in names:
                if name not in self.headers and name not in _SAFELISTED_HEADERS:
                    return _refuse(f"header {name} not allowed", vary)
        headers = self._origin_headers(origin)
        if vary:
            headers["Vary"] = "Origin"
        headers["Access-Control-Allow-Methods"] = method
        if names:
            headers["Access-Control-Allow-Headers"] = ", ".join(names)
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = self.max_age
        return empty(204, headers)

    def decorate(self, origin: str | None, headers: MutableHeaders) -> None:
        """Add the CORS headers for a request from ``origin`` to a response's ``headers``.

        With ``"*"`` the answer is the same for every request, so ``*`` goes on all of them,
        with or without ``Origin``, and without ``Vary`` (what the Fetch standard advises for
        caches). Otherwise the answer depends on the origin: ``Vary: Origin`` goes on every
        response, and the rest only on responses to an allowed one.
        """
        if "access-control-allow-origin" in headers:
            return  # the handler gave its own answer
        if not self.any_origin:
            _add_vary(headers, "Origin")
            if origin is None or not self.allows(origin):
                return
        for name, value in self._origin_headers(origin or "*").items():
            headers[name] = value
        if self.expose is not None:
            headers["Access-Control-Expose-Headers"] = self.expose


def _blueprint_of(app: App, route: Route) -> str | None:
    # The app keeps which blueprint declared each route; middleware scoping reads the same.
    return app._route_info[route.name].blueprint


def _probe(request: Request, method: str) -> Route | None:
    """The route that would serve ``method`` at the request's path and host, if any.

    Routed through `App.plan` as the server routes (host-bound routes and ``ROOT_PATH``
    count), on a throwaway request: ``request`` itself is left as it was. When no route
    serves ``method`` but some serve the path, one of those is returned (the policy that
    refuses the method is the path's).
    """
    probe = Request(
        method,
        request.raw_path.encode("latin-1"),
        request.headers,
        app=request.app,
        conn_info=request.conn_info,
    )
    plan = request.app.plan(probe)
    if probe.route is None and isinstance(plan.error, MethodNotAllowed) and plan.error.allowed:
        # Not for this method: the 403 comes from whichever route holds the path.
        return request.route or _probe(request, plan.error.allowed[0])
    return probe.route


class _AppCORS:
    """The middleware one app runs for every `cors` call that reaches it.

    It keeps no reference to the app (it is a value in a weak-keyed table of apps).
    """

    def __init__(self) -> None:
        #: Set by ``cors(app, ...)``; blueprints' policies are in ``_BLUEPRINT_POLICIES``.
        self.policy: _Policy | None = None

    def policy_for(self, app: App, route: Route | None) -> _Policy | None:
        """The policy of ``route``'s blueprint, else the app's (also for unrouted requests)."""
        if route is not None:
            name = _blueprint_of(app, route)
            if name is not None:
                blueprint = app.blueprints.get(name)
                policy = _BLUEPRINT_POLICIES.get(blueprint) if blueprint is not None else None
                if policy is not None:
                    return policy
        return self.policy

    def preflight(self, request: Request) -> HTTPResponse | None:
        """Request middleware: answer a preflight for a path a route serves."""
        if not _is_preflight(request):
            return None
        method = request.headers["access-control-request-method"].strip()
        route = _probe(request, method)
        if route is None:
            return None  # nothing serves the path: routing answers 404
        policy = self.policy_for(request.app, route)
        if policy is None:
            return None  # a blueprint without CORS: routing answers as usual
        # HEAD is served wherever GET is (the router answers it from the GET route).
        served = method in route.methods or (method == "HEAD" and "GET" in route.methods)
        return policy.answer_preflight(
            request.headers["origin"],
            method,
            served,
            request.headers.get("access-control-request-headers"),
        )

    def add_headers(self, request: Request, response: Any) -> None:
        """Response middleware: CORS headers on every response of a policy's routes."""
        if not isinstance(response, BaseHTTPResponse) or _is_preflight(request):
            return
        policy = self.policy_for(request.app, request.route)
        if policy is not None:
            policy.decorate(request.headers.get("origin"), response.headers)


# Which apps run the CORS middleware, and the policies of blueprints. Weak, so a test's
# throwaway app or blueprint goes away with its last reference.
_APPS: weakref.WeakKeyDictionary[App, _AppCORS] = weakref.WeakKeyDictionary()
_BLUEPRINT_POLICIES: weakref.WeakKeyDictionary[Blueprint, _Policy] = weakref.WeakKeyDictionary()


def _install(app: App) -> _AppCORS:
    """The app's `_AppCORS`, its middleware registered the first time."""
    runner = _APPS.get(app)
    if runner is None:
        runner = _APPS[app] = _AppCORS()
        app.on_request(runner.preflight, priority=PREFLIGHT_PRIORITY)
        app.on_response(runner.add_headers, priority=RESPONSE_PRIORITY)
    return runner


def _policy(
    origins: Origins,
    allow_credentials: bool,
    allow_methods: str | Iterable[str],
    allow_headers: str | Iterable[str],
    expose_headers: str | Iterable[str],
    max_age: int | None,
) -> _Policy:
    """Check `cors`'s arguments and build the policy (see `cors` for what they mean)."""
    items: list[Any] = [origins] if isinstance(origins, str | re.Pattern) else list(origins)
    if not items:
        raise ValueError("origins is empty: pass '*', an origin, a pattern or a list of them")
    any_origin = "*" in items
    if any_origin and len(items) > 1:
        raise ValueError("origins '*' already allows every origin: pass it alone")
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for item in [] if any_origin else items:
        if isinstance(item, re.Pattern):
            if not isinstance(item.pattern, str):
                raise TypeError(f"origin patterns must be str patterns, not {item!r}")
            patterns.append(item)
        elif isinstance(item, str):
            exact.add(_origin(item))
        else:
            raise TypeError(f"origins holds origin strings and re.compile() patterns, not {item!r}")
    if not isinstance(allow_credentials, bool):
        raise TypeError(f"allow_credentials must be True or False, not {allow_credentials!r}")
    if allow_credentials and any_origin:
        raise ValueError(
            "allow_credentials=True cannot go with origins='*': browsers refuse '*' for "
            "requests with cookies; list the origins (or a pattern) to allow"
        )
    methods: frozenset[str] | None = None
    if allow_methods != "*":
        methods = frozenset(m.upper() for m in _tokens(allow_methods, "allow_methods"))
        if not methods:
            raise ValueError("allow_methods is empty: pass '*' or the methods to allow")
    headers: frozenset[str] | None = None
    if allow_headers != "*":
        headers = frozenset(h.lower() for h in _tokens(allow_headers, "allow_headers"))
    expose: str | None = None
    if expose_headers == "*":
        if allow_credentials:
            raise ValueError(
                "expose_headers='*' cannot go with allow_credentials=True (browsers read it "
                "as a header named '*' then): list the headers"
            )
        expose = "*"
    else:
        expose = ", ".join(_tokens(expose_headers, "expose_headers")) or None
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0
    ):
        raise ValueError(f"max_age must be seconds (an int of 0 or more) or None, got {max_age!r}")
    return _Policy(
        any_origin=any_origin,
        origins=frozenset(exact),
        patterns=tuple(patterns),
        credentials=allow_credentials,
        methods=methods,
        headers=headers,
        expose=expose,
        max_age=None if max_age is None else str(max_age),
    )


def cors(
    app: App | Blueprint | BlueprintGroup,
    origins: Origins,
    *,
    allow_credentials: bool = False,
    allow_methods: str | Iterable[str] = "*",
    allow_headers: str | Iterable[str] = "*",
    expose_headers: str | Iterable[str] = (),
    max_age: int | None = DEFAULT_MAX_AGE,
) -> None:
    """Answer CORS preflights and add CORS headers to responses, for the app or a blueprint.

    On a blueprint (or each blueprint of a group) it covers that blueprint's routes, and its
    settings replace the app's there; requests no route matches (404, 405) belong to the
    app's settings, if any.

    Args:
        app: The `App`, a `Blueprint` or a `BlueprintGroup`.
        origins: Who may call: ``"*"`` for anyone (answered ``*``); an exact origin such as
            ``"https://app.example.com"``; a compiled regex an origin must fully match
            (``re.compile(r"https://[a-z0-9-]+\\.example\\.com")``); or a list of origins
            and regexes. Origins compare without case and without a default port.
        allow_credentials: Let pages send cookies and ``Authorization`` and read the
            answer (``Access-Control-Allow-Credentials: true``); the origin is echoed, never
            ``*``.
        allow_methods: The methods a preflight may ask for; ``"*"`` (the default) allows
            any method a route serves at the path.
        allow_headers: The request headers a preflight may ask for; ``"*"`` (the default)
            allows whatever it asks. ``Accept``, ``Accept-Language``, ``Content-Language``
            and ``Content-Type`` are always allowed.
        expose_headers: Response headers page scripts may read besides the basic ones
            (``Access-Control-Expose-Headers``); ``"*"`` for all (not with credentials).
        max_age: Seconds a browser may reuse a preflight answer; ``None`` sends no
            ``Access-Control-Max-Age`` (browsers then keep it 5 seconds).

    Raises:
        TypeError: ``app`` is not an app, blueprint or group, or an argument has the wrong
            type (one string where a list of names belongs, a bytes regex).
        ValueError: an origin is malformed (a path, a trailing ``/``, a wildcard in a
            string), ``"*"`` together with ``allow_credentials``, an invalid method or
            header name, a negative ``max_age``, or ``cors`` already set up on ``app``.
    """
    policy = _policy(
        origins, allow_credentials, allow_methods, allow_headers, expose_headers, max_age
    )
    if isinstance(app, App):
        runner = _install(app)
        if runner.policy is not None:
            raise ValueError(f"cors() is already set up on {app!r}")
        runner.policy = policy
        return
    if isinstance(app, Blueprint):
        blueprints = [app]
    elif isinstance(app, BlueprintGroup):
        blueprints = list(app)
    else:
        raise TypeError(f"cors() takes an App, a Blueprint or a BlueprintGroup, not {app!r}")
    taken = [bp.name for bp in blueprints if bp in _BLUEPRINT_POLICIES]
    if taken:
        raise ValueError(f"cors() is already set up on blueprint {taken[0]!r}")
    for bp in blueprints:
        _BLUEPRINT_POLICIES[bp] = policy
        # A preflight for a blueprint's route usually matches no route (405: the route has
        # no OPTIONS), so blueprint middleware never sees it: the app's middleware answers
        # it, installed now on the apps the blueprint is on and, for later ones, at start.
        for registered in bp.apps:
            _install(registered)
        bp.before_server_start(_install)
