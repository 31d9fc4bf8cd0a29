"""Settings with documented defaults: limits, timeouts and server behaviour.

Every limit exists because an unbounded one lets a single client exhaust the server; every
default is chosen to be generous for well-behaved clients and to end a misbehaving one quickly.

Each setting's annotation is its type. `Config.load_environment` converts ``TRIOWEB_*``
variables by those types and refuses names that are not settings; `Config.validate`, run once
when a server starts, refuses values of the wrong type or out of range. Either raises one
`ConfigError` listing every problem, so a bad value stops the start instead of failing
requests later. The application's own upper-case settings are stored and never checked.
"""

from __future__ import annotations

import difflib
import math
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["DEFAULT_ENV_PREFIX", "Config", "ConfigError"]

#: Variables under this prefix are trioweb's: a name that is not a setting is an error.
DEFAULT_ENV_PREFIX = "TRIOWEB_"


class ConfigError(ValueError):
    """Settings that cannot work: a wrong type, a value out of range, an unknown variable.

    ``str(exc)`` is one line per problem, each naming the setting (or the environment
    variable), what it must be and the value it has:

        PROXIES_COUNT must be None or an int >= 0, got 1.5
        TRIOWEB_PROXIES_COUNT must be None or an int >= 0, got '1.0'
        TRIOWEB_REQUEST_MAX_SZE is not a trioweb setting (did you mean TRIOWEB_REQUEST_MAX_SIZE?)

    Attributes:
        errors: The problems, one line each.
    """

    def __init__(self, *errors: str) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(line for error in errors for line in error.splitlines())


@dataclass
class Config:
    """The settings an `App` reads at serve time. Change them before the server starts.

    All sizes are bytes and all times seconds. ``None`` for a timeout means no limit. Like
    Sanic's config, it also holds the application's own upper-case settings
    (``app.config.DB_URL = ...``).

    Each annotation below is the setting's type, checked by `validate` when a server starts
    (an ``int`` is accepted where a ``float`` is declared, a ``bool`` never where an ``int``
    is). Numbers are never negative; the settings in ``_POSITIVE`` must be above zero.
    """

    # Body of a non-streaming route, read into memory before the handler runs. 100 MB matches
    # Sanic's default; larger uploads belong on streaming routes, which read in bounded chunks.
    REQUEST_MAX_SIZE: int = 100 * 1024 * 1024

    # A streaming route's body travels from the connection's reader task to the handler
    # through a trio memory channel; this bounds the bytes waiting between the two: one
    # piece in the channel and one in the reader's hands, each read with at most half of
    # it. 128 KiB reads take what a fast client has sent in one go (each piece costs a hand
    # over to the handler's task), while a thousand uploads at once hold at most 256 MiB.
    REQUEST_STREAM_BUFFER: int = 256 * 1024

    # While a response write waits on a client that is not reading, a streaming body the
    # handler has not taken spills to a temporary file, so an echo route does not deadlock
    # with clients that send the whole body before reading (httpx, requests, urllib3). The
    # spill of one request may hold this much; past it the connection ends (and says so in
    # the log). 100 MiB: what REQUEST_MAX_SIZE lets one buffered request hold in memory,
    # here on disk instead. None: no limit.
    REQUEST_STREAM_SPOOL: int | None = 100 * 1024 * 1024

    # All spills of one server together; past it a connection that would spill more ends.
    # 1 GiB of temporary files bounds the disk a crowd of such clients can take. None: none.
    REQUEST_STREAM_SPOOL_TOTAL: int | None = 1024 * 1024 * 1024

    # Form bodies (request.form, request.files, request.multipart()); see docs/uploads.md.
    # A form is parsed as it arrives, and each limit answers 413 with a message naming it.
    #
    # Text fields of one form (urlencoded pairs, or multipart parts without a file name).
    # 1,000 is Django's DATA_UPLOAD_MAX_NUMBER_FIELDS and Starlette's max_fields: far more
    # than a hand-filled form has, while a million tiny fields (4 MB) cost seconds of CPU.
    FORM_MAX_FIELDS: int | None = 1000
    # Parts of one multipart body, fields and files together (Starlette's max_files is 1,000
    # too): each part costs a dict of headers and an object, whatever its size.
    FORM_MAX_PARTS: int | None = 1000
    # One text field's value, held in memory. 1 MiB is Starlette's max_part_size; larger
    # content belongs in a file part, which spools to disk.
    FORM_MAX_FIELD_SIZE: int | None = 1024 * 1024
    # One uploaded file. None: only the body's own limit (REQUEST_MAX_SIZE, or the route's
    # max_body_size) bounds it, since a file past FORM_SPOOL_SIZE costs disk, not memory.
    FORM_MAX_FILE_SIZE: int | None = None
    # An uploaded file larger than this waits in a temporary file instead of memory. 1 MiB is
    # Starlette's spool size; file.body works below it, `await file.read()` always.
    FORM_SPOOL_SIZE: int = 1024 * 1024

    # The request line plus all header lines. 8 KiB is the limit of nginx's default
    # large_client_header_buffers line and of most proxies, so nothing legitimate is larger.
    REQUEST_MAX_HEADER_SIZE: int = 8 * 1024

    # The most bytes asked of the socket in one receive of a request head or of a body read
    # into memory (streamed bodies: see REQUEST_STREAM_BUFFER). 64 KiB is the usual
    # loopback/TCP window step and keeps buffers small.
    READ_SIZE: int = 64 * 1024

    # The whole request head must arrive within this; a client trickling bytes is cut off (408).
    REQUEST_TIMEOUT: float | None = 60.0

    # A started request body that receives nothing for this long is abandoned (408, close).
    REQUEST_BODY_IDLE_TIMEOUT: float | None = 60.0

    # The handler must produce its response (headers) within this, else 503 and it is cancelled.
    RESPONSE_TIMEOUT: float | None = 60.0

    # A client that accepts no response bytes for this long is disconnected.
    WRITE_IDLE_TIMEOUT: float | None = 60.0

    # Keep connections open between requests, and for how long an idle one may wait. 5 s is
    # Sanic's default and shorter than the idle timeouts of common proxies and browsers.
    KEEP_ALIVE: bool = True
    KEEP_ALIVE_TIMEOUT: float | None = 5.0

    # Requests answered on one connection before it is closed; ``None`` means no limit.
    KEEP_ALIVE_MAX_REQUESTS: int | None = None

    # How long in-flight requests may run after a shutdown starts before they are cancelled.
    # 15 s matches Sanic and leaves room inside the 30 s most process managers wait.
    GRACEFUL_SHUTDOWN_TIMEOUT: float | None = 15.0

    # Open connections at most; beyond it nothing is accepted and the kernel backlog waits.
    MAX_CONNECTIONS: int | None = None

    # Kernel accept backlog; trio's default is the system maximum (SOMAXCONN).
    BACKLOG: int | None = None

    # The largest WebSocket message accepted; a larger one closes the connection with 1009.
    # 1 MiB is trio-websocket's and Sanic's default.
    WEBSOCKET_MAX_SIZE: int = 1024 * 1024

    # Received messages waiting for a WebSocket handler; when full, the connection stops
    # reading and TCP slows the peer. trio-websocket's default is 1.
    WEBSOCKET_MESSAGE_QUEUE_SIZE: int = 1

    # Ping each WebSocket peer this often; with no pong within WEBSOCKET_PING_TIMEOUT the
    # connection closes with 1011 and its handler is cancelled. 20 s each, as in Sanic; keeps
    # NAT and proxy idle timers from dropping quiet connections. ``None`` disables pings.
    WEBSOCKET_PING_INTERVAL: float | None = 20.0
    WEBSOCKET_PING_TIMEOUT: float = 20.0

    # Plain ``def`` handlers (and exception handlers) run in worker threads, at most this many
    # at once; more wait their turn. 40 is trio's own default thread limit: enough for
    # blocking database calls, few enough that a stuck backend cannot spawn threads unbounded.
    SYNC_HANDLER_THREADS: int = 40

    # The host (and port) `App.url_for(..., _external=True)` builds URLs on, e.g.
    # "example.com" (or with a scheme, "https://example.com"); None means external URLs
    # need an explicit _server.
    SERVER_NAME: str | None = None

    # Log one line per response at INFO on the ``trioweb.access`` logger.
    ACCESS_LOG: bool = True
    # The access line: str.format over a fixed set of fields (trioweb.logs.ACCESS_FIELDS,
    # docs/logging.md), checked when a server starts. The default is NCSA's common shape plus
    # the duration and request id (trioweb.logs.DEFAULT_ACCESS_LOG_FORMAT).
    ACCESS_LOG_FORMAT: str = (
        '{client} "{method} {path} {protocol}" {status} {bytes} {duration_ms:.1f}ms {request_id}'
    )
    # The header request.id is read from (when valid) and echoed in, as Sanic names it.
    # None or "": ids are never read from the request nor echoed.
    REQUEST_ID_HEADER: str | None = "X-Request-ID"

    # Show tracebacks in error responses. Never enable it in production.
    DEBUG: bool = False

    # Proxy headers (see trioweb.proxy and docs/requests.md, "Behind a proxy"). Any client can
    # send X-Forwarded-For or Forwarded, so none is believed by default: request.client_ip is
    # the socket's peer. Set these to match the proxies that really sit in front of the app.
    #
    # How many proxies append to X-Forwarded-For in front of the app: the Nth address from the
    # right is the client. None or 0 trusts no X-Forwarded-* header (Sanic's default too).
    PROXIES_COUNT: int | None = None
    # A header your proxy overwrites with the client address, e.g. "x-real-ip" (nginx's
    # usual setup). None: not used.
    REAL_IP_HEADER: str | None = None
    # Trust only RFC 7239 Forwarded elements carrying secret=<this value> (or by=<this value>,
    # as Sanic's guide does it), which your proxy appends (nginx: add "secret=..." to the
    # Forwarded value). None: Forwarded is ignored.
    FORWARDED_SECRET: str | None = None
    # Believe the proxy headers above only from these peers: IP addresses or networks,
    # comma-separated ("127.0.0.1, 10.0.0.0/8"), "unix" for Unix-socket peers, "*" for any, as
    # Uvicorn's --forwarded-allow-ips. None: no peer check (the settings above alone decide).
    FORWARDED_ALLOW_IPS: str | None = None

    # The path prefix a proxy serves the app under ("/api"): url_for() puts it in front of
    # every URL, and requests that still carry it are routed without it. "" for none.
    ROOT_PATH: str = ""

    # Error pages for routes without an ``error_format``, when the request's ``Accept`` header
    # does not decide: "text", "json" or "html" ("auto" means text).
    FALLBACK_ERROR_FORMAT: str = "auto"

    if TYPE_CHECKING:
        # The application's own settings (``app.config.DB_URL = ...``) are plain attributes;
        # these tell type checkers so. The settings above keep their declared types.
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def update(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several settings at once from a mapping and/or keyword arguments."""
        for key, value in {**(values or {}), **kwargs}.items():
            setattr(self, key, value)

    def load(self, source: Mapping[str, Any] | object) -> None:
        """Take every upper-case key of a mapping, or upper-case attribute of an object.

        An object may be a module, a class or an instance, as with Sanic's ``update_config``.
        """
        if isinstance(source, Mapping):
            values = dict(source)
        else:
            values = {key: getattr(source, key) for key in dir(source)}
        self.update({key: value for key, value in values.items() if key.isupper()})

    def load_environment(self, prefix: str = DEFAULT_ENV_PREFIX) -> None:
        """Set ``NAME`` from each environment variable ``<prefix>NAME``, converted by its type.

        A setting's value is read as its declared type: ``int`` (``42``, not ``1.0``),
        ``float``, ``bool`` (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``,
        any case), ``str`` (unchanged, so ``TRIOWEB_SERVER_NAME=8080`` is ``"8080"``), and
        ``none`` or an empty value for a setting that may be ``None``; it must also be in
        range. Under `DEFAULT_ENV_PREFIX` every name must be a setting. Under another prefix a
        name that is not one is the application's own: it becomes an ``int``, ``float``,
        ``bool`` or ``None`` when it reads as one, else a string (as Sanic does). Nothing is
        set unless every variable is valid.

        Args:
            prefix: The variables' prefix; ``"MYAPP_"`` reads ``MYAPP_REQUEST_MAX_SIZE``.

        Raises:
            ConfigError: A variable is not a setting (under `DEFAULT_ENV_PREFIX`; the closest
                name is suggested), or its value is not of the setting's type or is out of
                range. One line per variable.
        """
        settings = _settings(type(self))
        values: dict[str, Any] = {}
        errors: list[str] = []
        for variable in sorted(os.environ):
            if not variable.startswith(prefix) or len(variable) == len(prefix):
                continue
            name, raw = variable[len(prefix) :], os.environ[variable]
            setting = settings.get(name)
            if setting is None:
                if prefix == DEFAULT_ENV_PREFIX:
                    errors.append(_unknown_variable(variable, prefix, settings))
                else:
                    values[name] = _guess_value(raw)
                continue
            try:
                value = setting.parse(raw)
            except ValueError:
                value = _INVALID
            if value is not _INVALID and setting.accepts(value):
                values[name] = value
            else:
                errors.append(f"{variable} must be {setting.expected(env=True)}, got {raw!r}")
        if errors:
            raise ConfigError(*errors)
        self.update(values)

    def validate(self) -> None:
        """Check every setting against its declared type and range.

        Servers call it once as they start (``app.serve``, ``app.run()``, the command line,
        ``app.test_client()``). Attributes that are not declared settings (the application's
        own) are not checked.

        Raises:
            ConfigError: One line per invalid setting, e.g.
                ``"REQUEST_MAX_SIZE must be an int >= 0, got '10'"``.
        """
        errors = [
            f"{name} must be {setting.expected()}, got {_show(value)}"
            for name, setting in _settings(type(self)).items()
            if not setting.accepts(value := getattr(self, name))
        ]
        from .logs import settings_problems  # ACCESS_LOG_FORMAT's fields, REQUEST_ID_HEADER

        errors += settings_problems(self)
        if errors:
            raise ConfigError(*errors)


# Numbers are never negative, and zero would make these stall or refuse everything: no
# handler threads, reads of no bytes, every request head too large, a body handed over in
# no pieces, a ping loop that never waits, a connection closed before its first request, a
# server that accepts nobody. They must be above zero.
_POSITIVE = frozenset(
    {
        "SYNC_HANDLER_THREADS",
        "READ_SIZE",
        "REQUEST_MAX_HEADER_SIZE",
        "REQUEST_STREAM_BUFFER",
        "WEBSOCKET_PING_INTERVAL",
        "KEEP_ALIVE_MAX_REQUESTS",
        "MAX_CONNECTIONS",
    }
)

# String settings that take one of a few values.
_CHOICES: dict[str, tuple[str, ...]] = {
    "FALLBACK_ERROR_FORMAT": ("auto", "text", "json", "html"),
}

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_INVALID = object()
_KIND_NAMES: dict[Any, str] = {bool: "a bool", int: "an int", float: "a number", str: "a str"}


@dataclass(frozen=True, slots=True)
class _Setting:
    """What one declared setting accepts, from its annotation and the rules above.

    Attributes:
        kinds: The annotation's types other than ``None`` (``object`` for ``Any``).
        optional: Whether ``None`` is allowed.
        positive: Whether a number must be above zero (else at least zero).
        choices: The only values allowed, or ``None``.
    """

    kinds: tuple[Any, ...]
    optional: bool
    positive: bool
    choices: tuple[Any, ...] | None

    @classmethod
    def from_hint(cls, name: str, hint: Any) -> _Setting:
        kinds: list[Any] = []
        choices: list[Any] = list(_CHOICES.get(name, ()))
        for part in _union_members(hint):
            if get_origin(part) is Literal:
                choices += get_args(part)
                kinds += [type(choice) for choice in get_args(part)]
            elif part is Any:
                kinds.append(object)
            elif part is not type(None):
                kinds.append(part)
        return cls(
            kinds=tuple(dict.fromkeys(kinds)),
            optional=type(None) in _union_members(hint) or None in choices,
            positive=name in _POSITIVE,
            choices=tuple(choice for choice in choices if choice is not None) or None,
        )

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.choices is not None:
            return any(type(value) is type(c) and value == c for c in self.choices)
        if isinstance(value, bool):
            return bool in self.kinds or object in self.kinds
        for kind in self.kinds:
            if kind is int or kind is float:
                # An int where a float is declared (as type checkers allow), never the reverse.
                if isinstance(value, int) or (kind is float and isinstance(value, float)):
                    return not math.isnan(value) and (value > 0 if self.positive else value >= 0)
            elif kind is object or _is_instance(value, kind):
                return True
        return False

    def expected(self, *, env: bool = False) -> str:
        """What the value must be, in words: ``"None or an int >= 0"``."""
        parts = ["None"] if self.optional else []
        if self.choices is not None:
            *others, last = [repr(choice) for choice in self.choices]
            parts.append(f"one of {', '.join(others)} or {last}" if others else last)
        else:
            for kind in self.kinds:
                text = _KIND_NAMES.get(kind) or f"a {getattr(kind, '__name__', kind)}"
                if kind is int:
                    text += " >= 1" if self.positive else " >= 0"
                elif kind is float:
                    text += " > 0" if self.positive else " >= 0"
                elif kind is bool and env:
                    text += " (true/false, yes/no, on/off, 1/0)"
                parts.append(text)
        return " or ".join(parts)

    def parse(self, raw: str) -> Any:
        """The value an environment variable's text stands for.

        Raises:
            ValueError: ``raw`` reads as none of the setting's types.
        """
        text = raw.strip()
        if self.optional and text.lower() in ("", "none"):
            return None
        for kind in self.kinds:
            if kind is bool and text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            if kind is int or kind is float:
                try:
                    return kind(text)
                except ValueError:
                    continue
            if kind is str or kind is object:
                return raw
        raise ValueError(raw)


_SETTINGS: dict[type[Config], dict[str, _Setting]] = {}


def _settings(cls: type[Config]) -> dict[str, _Setting]:
    """The declared settings of ``cls`` (a subclass's annotated ones included), by name."""
    if cls not in _SETTINGS:
        hints = get_type_hints(cls)
        _SETTINGS[cls] = {
            name: _Setting.from_hint(name, hint) for name, hint in hints.items() if name.isupper()
        }
    return _SETTINGS[cls]


def _union_members(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return tuple(member for arg in get_args(hint) for member in _union_members(arg))
    return (hint,)


def _is_instance(value: Any, kind: Any) -> bool:
    """``isinstance`` for a plain or generic type (``Mapping[str, Any]`` checks ``Mapping``)."""
    try:
        return isinstance(value, get_origin(kind) or kind)
    except TypeError:  # a type isinstance cannot check: accept what it cannot judge
        return True


def _unknown_variable(variable: str, prefix: str, settings: Mapping[str, _Setting]) -> str:
    name = variable[len(prefix) :]
    close = difflib.get_close_matches(name.upper(), list(settings), n=1)
    hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
    return f"{variable} is not a trioweb setting{hint}"


def _guess_value(raw: str) -> Any:
    """An application setting's value from the environment: typed when it reads as a type."""
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened to ``limit`` characters so the error stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
