"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

`parse_form` turns a whole request body into text fields and uploaded `File` objects. The
byte-level parsing is python-multipart's (the parser Starlette uses); this module only feeds it
the body, collects what its callbacks report, decodes names and values, and turns every way a
body can be malformed into `BadRequest`, so the client gets a 400 rather than the app a 500.

The body is already in memory (bounded by ``REQUEST_MAX_SIZE``) when this runs, so nothing here
spools to disk: a `File` holds its bytes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    QuerystringParser,
    parse_options_header,
)

from .datastructures import RequestParameters
from .exceptions import BadRequest

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks, QuerystringCallbacks

__all__ = ["File", "Form", "parse_form"]

URLENCODED = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data"

# RFC 7578 section 4.4: a part without a Content-Type header is text/plain.
DEFAULT_PART_TYPE = "text/plain"


@dataclass(frozen=True, slots=True)
class File:
    """One uploaded file of a ``multipart/form-data`` body (Sanic's field names).

    Attributes:
        name: The file name the client sent, as sent: it may contain path separators or be
            empty (a browser's unfilled file input). Never use it as a path unsanitised.
        type: The part's ``Content-Type`` (``text/plain`` when the part had none, per RFC 7578).
        body: The file's content.

    Raises:
        TypeError: ``body`` is not ``bytes``.
    """

    name: str
    type: str
    body: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.body, bytes):
            raise TypeError(f"File.body must be bytes, not {type(self.body).__name__}")


@dataclass(frozen=True, slots=True)
class Form:
    """A parsed form body: text ``fields`` and uploaded ``files``, each in arrival order."""

    fields: RequestParameters[str]
    files: RequestParameters[File]


def parse_form(content_type: str, body: bytes, *, keep_blank_values: bool = False) -> Form:
    """Parse ``body`` according to ``content_type``.

    An empty body, or a content type that is neither form type, gives an empty `Form` (so a
    streaming route that has not read its body yet sees no fields rather than an error).
    Urlencoded bodies decode with the ``charset`` parameter (UTF-8 by default); multipart field
    values, field names and file names decode as UTF-8. Undecodable bytes become U+FFFD. A
    file name given as RFC 5987 ``filename*=UTF-8''...`` is decoded (and preferred to a plain
    ``filename``).

    Args:
        content_type: The request's ``Content-Type`` header.
        body: The whole request body.
        keep_blank_values: Keep urlencoded fields with an empty value (``a=&b=1``); by
            default they are dropped, as Sanic does. Multipart fields are always kept.

    Returns:
        The fields and files, in the order they appear in the body.

    Raises:
        BadRequest: the body does not parse as the declared type (missing or oversized
            boundary, broken multipart framing, a part without a field name, an unknown
            charset).
    """
    media_type, params = parse_options_header(content_type)
    media_type = media_type.lower()  # older python-multipart versions keep its case
    if not body or media_type not in (URLENCODED, MULTIPART):
        return Form(RequestParameters(), RequestParameters())
    if media_type == URLENCODED:
        charset = _checked_charset(params.get(b"charset", b"utf-8").decode("latin-1"))
        fields = _parse_urlencoded(body, charset, keep_blank_values)
        return Form(fields, RequestParameters())
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data request has no boundary parameter")
    return _parse_multipart(body, boundary)


def _text_codec(charset: str) -> str | None:
    """The codec named ``charset`` if it decodes bytes to text with ``errors="replace"``.

    ``codecs.lookup`` also knows bytes-to-bytes codecs (``base64``, ``rot13``) and codecs that
    refuse ``"replace"`` (``idna``, ``punycode``); decoding with those raises, so a client
    naming one would otherwise cause a 500.
    """
    try:
        name = codecs.lookup(charset).name
        b"a\xff".decode(name, "replace")
    except (LookupError, UnicodeError):
        return None
    return name


def _checked_charset(charset: str) -> str:
    name = _text_codec(charset)
    if name is None:
        raise BadRequest(f"unknown charset {charset!r} in the form's Content-Type")
    return name


def _parse_urlencoded(body: bytes, charset: str, keep_blank_values: bool) -> RequestParameters[str]:
    pairs: list[tuple[str, str]] = []
    name: list[bytes] = []
    value: list[bytes] = []

    def decode(raw: list[bytes]) -> str:
        # Unquote to bytes first, then decode: a percent-escape and a raw non-ASCII byte
        # (which some clients send) then both decode in the declared charset.
        return unquote_to_bytes(b"".join(raw).replace(b"+", b" ")).decode(charset, "replace")

    def on_field_start() -> None:
        name.clear()
        value.clear()

    def on_field_end() -> None:
        text = decode(value)
        if text or keep_blank_values:
            pairs.append((decode(name), text))

    callbacks: QuerystringCallbacks = {
        "on_field_start": on_field_start,
        "on_field_name": lambda data, start, end: name.append(data[start:end]),
        "on_field_data": lambda data, start, end: value.append(data[start:end]),
        "on_field_end": on_field_end,
    }
    parser = QuerystringParser(callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:  # only in strict mode today; kept for future versions
        raise BadRequest(f"malformed urlencoded form body: {exc}") from None
    return RequestParameters.from_pairs(pairs)


class _MultipartCollector:
    """Receives python-multipart's callbacks and assembles fields and files from them."""

    __slots__ = ("data", "fields", "files", "header_field", "header_value", "headers")

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, File]] = []
        self.headers: dict[bytes, bytes] = {}
        self.header_field: list[bytes] = []
        self.header_value: list[bytes] = []
        self.data: list[bytes] = []

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda d, start, end: self.header_field.append(d[start:end]),
            "on_header_value": lambda d, start, end: self.header_value.append(d[start:end]),
            "on_header_end": self.on_header_end,
            "on_part_data": lambda d, start, end: self.data.append(d[start:end]),
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.headers = {}
        self.data = []

    def on_header_end(self) -> None:
        name = b"".join(self.header_field).strip().lower()
        self.headers[name] = b"".join(self.header_value).strip()
        self.header_field = []
        self.header_value = []

    def on_part_end(self) -> None:
        disposition = self.headers.get(b"content-disposition")
        if disposition is None:
            raise BadRequest("a multipart/form-data part has no Content-Disposition header")
        # parse_options_header reads bytes as latin-1 and hands them back unchanged, so the
        # values are the raw bytes the client sent; browsers send names as raw UTF-8.
        _, options = parse_options_header(disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise BadRequest('a multipart/form-data part has no "name" in Content-Disposition')
        name = raw_name.decode("utf-8", "replace")
        body = b"".join(self.data)
        # python-multipart drops RFC 5987 parameters (filename*=UTF-8''...): look for it here.
        filename = _extended_filename(disposition)
        if filename is None:
            raw_filename = options.get(b"filename")
            if raw_filename is None:
                self.fields.append((name, body.decode("utf-8", "replace")))
                return
            filename = raw_filename.decode("utf-8", "replace")
        part_type = self.headers.get(b"content-type", b"").decode("latin-1")
        self.files.append((name, File(filename, part_type or DEFAULT_PART_TYPE, body)))


# One ``; name=value`` parameter of a header; a quoted value is taken whole, so a ``;`` or a
# look-alike parameter inside quotes is not mistaken for one.
_PARAMETER = re.compile(rb';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _extended_filename(disposition: bytes) -> str | None:
    """The RFC 5987 ``filename*`` of a Content-Disposition (``charset'lang'percent-encoded``).

    RFC 7578 asks senders not to use it, but some do (curl, older browsers, scripts). A
    charset that is unknown or no text codec (``base64``), or a value not in that form, is
    decoded as UTF-8 as best it can be. Percent-escapes may give any character (``/``, NUL).
    """
    for match in _PARAMETER.finditer(disposition):
        if match[1].lower() != b"filename*":
            continue
        value = match[2].strip().strip(b'"')
        charset, quote1, rest = value.partition(b"'")
        _language, quote2, encoded = rest.partition(b"'")
        if not (quote1 and quote2):
            charset, encoded = b"utf-8", value
        codec = _text_codec(charset.decode("latin-1")) or "utf-8"
        return unquote_to_bytes(encoded).decode(codec, "replace")
    return None


def _parse_multipart(body: bytes, boundary: bytes) -> Form:
    collector = _MultipartCollector()
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise BadRequest(f"malformed multipart/form-data body: {exc}") from None
    # python-multipart's finalize() does not check that the closing boundary arrived; a body
    # cut short (or never framed) leaves the parser in an earlier state, and its last part
    # would otherwise be silently dropped or truncated.
    if parser.state != MultipartState.END:
        raise BadRequest("malformed multipart/form-data body: the closing boundary is missing")
    return Form(
        RequestParameters.from_pairs(collector.fields),
        RequestParameters.from_pairs(collector.files),
    )
