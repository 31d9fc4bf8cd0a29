"""trioweb's loggers, the access line, request ids, and the default logging configuration.

Loggers, all children of ``trioweb``:

- ``trioweb.access``: one INFO line per response (`ACCESS_FIELDS`, ``config.ACCESS_LOG_FORMAT``);
- ``trioweb.server``: starting, stopping, connections that failed;
- ``trioweb.error``: errors raised by handlers and middleware;
- ``trioweb.websocket``: WebSocket handlers and pings.

`setup_logging` is what ``app.run()`` and the command line call: a user's own configuration
(made before or after importing trioweb) wins, and trioweb adds one stderr handler only when
nobody configured anything. The module uses nothing of trioweb, so any module may import it.
"""

from __future__ import annotations

import configparser
import copy
import json
import logging
import logging.config
import os
import re
import string
import sys
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ACCESS_FIELDS",
    "DEFAULT_ACCESS_LOG_FORMAT",
    "DEFAULT_LOG_FORMAT",
    "AccessLogFormat",
    "access_log_format",
    "log_safe",
    "settings_problems",
    "setup_logging",
    "valid_request_id",
]

#: The access line ``app.run()`` writes unless ``config.ACCESS_LOG_FORMAT`` says otherwise.
DEFAULT_ACCESS_LOG_FORMAT = (
    '{client} "{method} {path} {protocol}" {status} {bytes} {duration_ms:.1f}ms {request_id}'
)

#: The fields an access format may name (``{name}`` or ``{name:spec}``, as `str.format`), each
#: with what it holds. They are also attributes of the access log record (for a JSON
#: formatter, say), with Sanic's ``host``, ``request`` and ``byte``.
ACCESS_FIELDS: Mapping[str, str] = {
    "client": "the client's address (request.client_ip; behind a trusted proxy, the one it "
    'reported); "-" when there is none (a Unix socket)',
    "method": "the request method",
    "path": "the target as sent: path and query string, still percent-encoded",
    "protocol": '"HTTP/1.1" or "HTTP/1.0"',
    "status": "the response status (int)",
    "bytes": "body bytes sent (int; the head not counted, 0 for HEAD)",
    "duration_ms": "milliseconds from the parsed request head to the end of the response, a float",
    "request_id": "request.id: the client's X-Request-ID if valid, else a fresh UUID4",
    "referer": 'the Referer header, "-" when absent',
    "user_agent": 'the User-Agent header, "-" when absent',
}

#: The format of trioweb's default handler (`setup_logging`).
DEFAULT_LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"

# Values of the right type for each field, to try a format's conversions and specs once.
_SAMPLE: dict[str, object] = {
    "client": "127.0.0.1",
    "method": "GET",
    "path": "/",
    "protocol": "HTTP/1.1",
    "status": 200,
    "bytes": 0,
    "duration_ms": 0.0,
    "request_id": "0",
    "referer": "-",
    "user_agent": "-",
}

# A client's request id is logged and echoed as sent only if it is 1 to 200 visible ASCII
# characters: no spaces or control characters (CR/LF would split a log line or a header),
# and short enough not to bloat every line. 200 is what common tracing ids fit in many times
# over (a UUID is 36, a W3C trace id 32), and what Heroku's router allows.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
_REQUEST_ID_BYTES = re.compile(rb"[\x21-\x7e]{1,200}")

# Characters a logged string keeps as they are; the rest become \xNN (or \uNNNN).
_PLAIN = frozenset(chr(code) for code in range(0x20, 0x7F)) - {'"', "\\"}


def valid_request_id(value: str | bytes) -> bool:
    """Whether a client's request id may be logged and echoed as it is.

    Args:
        value: The header's value, as text or as the bytes received.

    Returns:
        ``True`` for 1 to 200 visible ASCII characters (no spaces, no control characters).
    """
    if isinstance(value, bytes):
        return _REQUEST_ID_BYTES.fullmatch(value) is not None
    return _REQUEST_ID.fullmatch(value) is not None


def log_safe(value: str) -> str:
    """``value`` with anything but printable ASCII (and ``"``, ``\\``) escaped as ``\\xNN``.

    A client controls paths and headers; escaped, they can neither split a log line nor
    fake a field.
    """
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return "".join(
        char if char in _PLAIN else f"\\x{ord(char):02x}" if ord(char) < 256 else ascii(char)[1:-1]
        for char in value
    )


class AccessLogFormat:
    """A checked access log format: `str.format` over the fields in `ACCESS_FIELDS`.

    Args:
        template: The format, e.g. ``'{client} "{method} {path}" {status}'``.

    Raises:
        ValueError: One line, if the template names a field that does not exist, reaches
            into one (``{client.__class__}``, ``{path[0]}``), nests fields in a spec, or has a
            spec or conversion its field cannot take (``{client:d}``).
    """

    __slots__ = ("_failed", "fields", "template")

    def __init__(self, template: str) -> None:
        if not isinstance(template, str):
            raise TypeError(f"an access log format is a str, got {type(template).__name__}")
        fields: list[str] = []
        try:
            for _, name, spec, _ in string.Formatter().parse(template):
                if name is None:
                    continue
                if name not in ACCESS_FIELDS:
                    known = ", ".join(ACCESS_FIELDS)
                    shown = name or "{}"
                    raise ValueError(f"unknown field {shown!r} (the fields: {known})")
                if spec and "{" in spec:
                    raise ValueError(f"field {name!r}: a nested field in its format spec")
                fields.append(name)
            template.format_map(_SAMPLE)
        except ValueError as exc:
            raise ValueError(f"ACCESS_LOG_FORMAT {template!r}: {exc}") from None
        self.template = template
        self.fields = frozenset(fields)
        self._failed = False

    def __repr__(self) -> str:
        return f"AccessLogFormat({self.template!r})"

    def render(self, values: Mapping[str, object]) -> str:
        """The line for one response; ``values`` holds every field of `ACCESS_FIELDS`.

        A spec that suited the check but not a value (``{bytes:c}`` past U+10FFFF) gives the
        default format's line instead, and one error on ``trioweb.server``.
        """
        try:
            return self.template.format_map(values)
        except (ValueError, TypeError, OverflowError) as exc:
            if not self._failed:
                self._failed = True
                logging.getLogger("trioweb.server").error(
                    "ACCESS_LOG_FORMAT %r: %s; using the default access format", self.template, exc
                )
            return DEFAULT_ACCESS_LOG_FORMAT.format_map(values)


_formats: dict[str, AccessLogFormat] = {}


def access_log_format(template: str) -> AccessLogFormat:
    """The checked format for ``template``, made once per distinct template.

    A server checks ``config.ACCESS_LOG_FORMAT`` when it starts (`trioweb.config.Config.validate`),
    so a bad one never reaches a request. One changed to a bad value while serving is
    reported once on ``trioweb.server`` and `DEFAULT_ACCESS_LOG_FORMAT` is used instead.
    """
    checked = _formats.get(template)
    if checked is None:
        try:
            checked = AccessLogFormat(template)
        except (TypeError, ValueError) as exc:
            logging.getLogger("trioweb.server").error("%s; using the default access format", exc)
            checked = AccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT)
        if len(_formats) >= 64:
            _formats.clear()
        _formats[template] = checked
    return checked


def _token(value: str) -> bool:
    return bool(value) and all(char in _TOKEN_CHARS for char in value)


_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def settings_problems(config: Any) -> list[str]:
    """What is wrong with the logging settings of ``config``, one line each (``[]``: nothing).

    `trioweb.config.Config.validate` reports these with its own; a value of the wrong type is
    left to it.
    """
    problems: list[str] = []
    template = getattr(config, "ACCESS_LOG_FORMAT", DEFAULT_ACCESS_LOG_FORMAT)
    if isinstance(template, str):
        try:
            AccessLogFormat(template)
        except ValueError as exc:
            problems.append(str(exc))
    header = getattr(config, "REQUEST_ID_HEADER", None)
    if isinstance(header, str) and header and not _token(header):
        problems.append(f"REQUEST_ID_HEADER must be a header name (a token), got {header!r}")
    return problems


# -- the default configuration --------------------------------------------------------------------

_LEVELS = ("critical", "error", "warning", "info", "debug")


class _DefaultHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """trioweb's own stderr handler, told apart from any the user installed."""


# Set when setup_logging(access_log=False) raised trioweb.access's level, so that a later
# call with access_log=True undoes its own change and nothing else.
_access_silenced = False


def _family() -> list[logging.Logger]:
    """``trioweb`` and every logger under it that exists now."""
    loggers = [logging.getLogger("trioweb")]
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("trioweb.") and isinstance(logger, logging.Logger):
            loggers.append(logger)
    return loggers


def _parse_level(level: str | int) -> int:
    if isinstance(level, bool) or not isinstance(level, str | int):
        raise ValueError(f"invalid log level {level!r}: expected one of {', '.join(_LEVELS)}")
    if isinstance(level, int):
        if level < 0:
            raise ValueError(f"invalid log level {level}: a level number is at least 0")
        return level
    name = level.strip().lower()
    if name not in _LEVELS:
        raise ValueError(f"invalid log level {level!r}: expected one of {', '.join(_LEVELS)}")
    return int(getattr(logging, name.upper()))


def _apply_config(log_config: Mapping[str, Any] | str | os.PathLike[str]) -> None:
    """Apply a dictConfig mapping, or a .json, .yaml/.yml or .ini/.conf/.cfg file."""
    if isinstance(log_config, Mapping):
        where = "log_config"
        loader: Any = logging.config.dictConfig
        arg: Any = copy.deepcopy(dict(log_config))  # dictConfig takes its input apart
    else:
        path = os.fspath(log_config)
        where = f"log config {path}"
        ext = os.path.splitext(path)[1].lower()
        if not os.path.isfile(path):
            raise ValueError(f"{where}: no such file")
        if ext == ".json":
            try:
                with open(path, encoding="utf-8") as file:
                    arg = json.load(file)
            except ValueError as exc:
                raise ValueError(f"{where}: not valid JSON: {exc}") from None
            loader = logging.config.dictConfig
        elif ext in (".yaml", ".yml"):
            try:
                import yaml  # type: ignore[import-untyped]
            except ImportError:
                raise ValueError(
                    f"{where}: reading YAML needs PyYAML; install it (pip install pyyaml) "
                    "or use a .json or .ini file"
                ) from None
            try:
                with open(path, encoding="utf-8") as file:
                    arg = yaml.safe_load(file)
            except yaml.YAMLError as exc:
                reason = " ".join(str(exc).split())
                raise ValueError(f"{where}: not valid YAML: {reason}") from None
            loader = logging.config.dictConfig
        elif ext in (".ini", ".conf", ".cfg"):
            arg, loader = path, logging.config.fileConfig
        else:
            raise ValueError(
                f"{where}: unknown kind of file {ext or '(no extension)'!r}; "
                "use .json, .yaml, .yml, .ini, .conf or .cfg"
            )
        if loader is logging.config.dictConfig and not isinstance(arg, dict):
            raise ValueError(f"{where}: must hold a mapping (logging's dictConfig schema)")
    try:
        loader(arg)
    except (ValueError, TypeError, AttributeError, ImportError, KeyError) as exc:
        raise ValueError(f"{where}: {_one_line(exc)}") from exc
    except configparser.Error as exc:
        raise ValueError(f"{where}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    """An exception and its causes as one line: logging's own messages hide the reason."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = " ".join(str(seen).split())
        parts.append(text or type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return ": ".join(parts)


def setup_logging(
    log_config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    level: str | int | None = None,
    *,
    access_log: bool = True,
) -> None:
    """Configure logging for serving: what ``app.run()`` and the command line call.

    In order:

    1. ``log_config``, if given, is applied: a `logging.config.dictConfig` mapping, or a
       file: ``.json`` (a dictConfig mapping), ``.yaml``/``.yml`` (the same; needs PyYAML)
       or ``.ini``/``.conf``/``.cfg`` (`logging.config.fileConfig`).
    2. Every ``trioweb`` logger is enabled again: a ``dictConfig`` or ``fileConfig`` with
       ``disable_existing_loggers`` (true by default) run after trioweb was imported would
       otherwise have silenced them. To silence trioweb, set a level instead.
    3. If no handler exists on the root logger or on any ``trioweb`` logger, one stderr
       handler goes on ``trioweb`` (format `DEFAULT_LOG_FORMAT`), and ``trioweb`` stops
       propagating to the root logger, so a root handler added later cannot print each line
       twice. Otherwise the handlers that exist are used as they are: nothing is added,
       so a user who configured only the ``trioweb`` logger sees each line once.
    4. The ``trioweb`` level: ``level`` if given; else INFO if it has none of its own.
    5. ``access_log=False`` raises ``trioweb.access`` to WARNING (no access lines; setting
       ``config.ACCESS_LOG = False`` also skips the work of making them).

    Calling it again changes nothing that the previous call did not; it never adds a
    second handler.

    Args:
        log_config: A dictConfig mapping or a path to a configuration file; ``None`` for none.
        level: The level of the ``trioweb`` loggers: a name in any case (``"debug"``,
            ``"INFO"``, ...) or a number.
        access_log: ``False`` silences the ``trioweb.access`` logger.

    Raises:
        ValueError: One line: an invalid level, a file that is missing, of an unknown kind,
            unreadable, or YAML without PyYAML installed, or a configuration that logging
            refuses. Nothing is changed when the level is invalid.
    """
    global _access_silenced
    number = None if level is None else _parse_level(level)
    if log_config is not None:
        _apply_config(log_config)
    family = _family()
    for logger in family:
        logger.disabled = False
    top = family[0]
    ours = [handler for handler in top.handlers if isinstance(handler, _DefaultHandler)]
    others = logging.root.handlers + [
        handler
        for logger in family
        for handler in logger.handlers
        if not isinstance(handler, _DefaultHandler)
    ]
    if others:
        for handler in ours:  # the user has configured logging since our last call
            top.removeHandler(handler)
            top.propagate = True
    elif not ours:
        handler = _DefaultHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(DEFAULT_LOG_FORMAT, _DATE_FORMAT))
        top.addHandler(handler)
        top.propagate = False
    if number is not None:
        top.setLevel(number)
    elif top.level == logging.NOTSET:
        top.setLevel(logging.INFO)
    access = logging.getLogger("trioweb.access")
    if not access_log:
        if access.level < logging.WARNING:
            access.setLevel(logging.WARNING)
            _access_silenced = True
    elif _access_silenced:
        access.setLevel(logging.NOTSET)
        _access_silenced = False
