"""Form bodies, parsed as they arrive: ``application/x-www-form-urlencoded`` and multipart.

The byte-level parsing is python-multipart's (the parser Starlette uses). This module feeds it
the body piece by piece, turns what its callbacks report into fields and `File` objects, holds
the limits (``FORM_*`` in `trioweb.config.Config`) and turns every way a body can be malformed
or too big into a `BadRequest` or `PayloadTooLarge`, so the client gets a 400 or 413 rather
than the app a 500.

Two consumers:

- `FormParser` builds a whole `Form` (``request.form`` and ``request.files``). The server
  feeds it a non-streaming route's body as it is read, so a form is never parsed in one long
  step: the body is parsed in slices, yielding to other tasks every couple of milliseconds,
  and file parts go to `trioweb.uploads.File` objects that spool to disk past
  ``FORM_SPOOL_SIZE``.
- `MultipartReader` hands a streaming route its parts one at a time
  (``async for part in request.multipart()``), each part's bytes as they arrive, so an upload
  of any size goes where the handler puts it with flat memory.
"""

from __future__ import annotations

import codecs
import os
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import trio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    QuerystringParser,
    parse_options_header,
)

from .datastructures import RequestParameters
from .exceptions import BadRequest, PayloadTooLarge
from .uploads import File, FileWriter

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks, QuerystringCallbacks

__all__ = [
    "File",
    "Form",
    "FormLimits",
    "FormParser",
    "MultipartReader",
    "Part",
    "form_kind",
]

URLENCODED = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data"
_FORM_PREFIXES = ("application/x-www-form-urlencoded", "multipart/form-data")

# RFC 7578 section 4.4: a part without a Content-Type header is text/plain.
DEFAULT_PART_TYPE = "text/plain"

# Parse at most this much in one go, then yield if the parse has held the event loop for
# _YIELD_AFTER. Urlencoded bodies cost a callback per field (2 KiB of one-byte fields is
# ~500 of them, ~1 ms), multipart ones mostly a boundary search per slice.
_URLENCODED_SLICE = 2 * 1024
_MULTIPART_SLICE = 64 * 1024
_YIELD_AFTER = 0.002


@dataclass(frozen=True, slots=True)
class FormLimits:
    """How much of a form is accepted; ``None`` means no limit of that kind.

    Attributes:
        max_fields: Text fields (urlencoded pairs, or multipart parts without a file name).
        max_parts: Multipart parts of any kind.
        max_field_size: Bytes of one text field's value (and of its name).
        max_file_size: Bytes of one uploaded file.
        spool_size: Bytes of one file kept in memory; a larger file goes to a temporary file.
    """

    max_fields: int | None = 1000
    max_parts: int | None = 1000
    max_field_size: int | None = 1024 * 1024
    max_file_size: int | None = None
    spool_size: int = 1024 * 1024

    @classmethod
    def from_config(cls, config: Any) -> FormLimits:
        """The limits set in an app's config (``FORM_MAX_FIELDS`` and the rest)."""
        return cls(
            config.FORM_MAX_FIELDS,
            config.FORM_MAX_PARTS,
            config.FORM_MAX_FIELD_SIZE,
            config.FORM_MAX_FILE_SIZE,
            config.FORM_SPOOL_SIZE,
        )


@dataclass(frozen=True, slots=True)
class Form:
    """A parsed form body: text ``fields`` and uploaded ``files``, each in arrival order.

    Attributes:
        fields: The text fields; urlencoded fields with an empty value are left out, as
            Sanic does.
        files: The uploaded files.
        all_fields: The text fields, empty urlencoded values included.
    """

    fields: RequestParameters[str]
    files: RequestParameters[File]
    all_fields: RequestParameters[str]

    @classmethod
    def empty(cls) -> Form:
        """A form with nothing in it (a body that is no form, or none)."""
        return cls(RequestParameters(), RequestParameters(), RequestParameters())

    def close(self) -> None:
        """Remove the temporary files of the uploads without waiting."""
        for uploads in self.files.values():
            for upload in uploads:
                upload.close()


def form_kind(content_type: str) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The media type and parameters of a form ``Content-Type``; ``None`` for other types."""
    # Most bodies are no form (JSON, say): a prefix test spares them the header parse.
    if not content_type or not content_type.lstrip()[:33].lower().startswith(_FORM_PREFIXES):
        return None
    media_type, params = parse_options_header(content_type)
    media_type = media_type.lower()  # older python-multipart versions keep its case
    if media_type not in (URLENCODED, MULTIPART):
        return None
    return media_type, params


class _Yielder:
    """Yields to other tasks once a parse has held the event loop for `_YIELD_AFTER`."""

    __slots__ = ("_since",)

    def __init__(self) -> None:
        self._since = time.perf_counter()

    async def maybe_yield(self) -> None:
        now = time.perf_counter()
        if now - self._since >= _YIELD_AFTER:
            await trio.lowlevel.checkpoint()
            self._since = time.perf_counter()


# -- urlencoded --------------------------------------------------------------------------------


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


class _Urlencoded:
    """Collects a urlencoded body's fields from python-multipart's callbacks, with limits."""

    __slots__ = (
        "_charset",
        "_count",
        "_limits",
        "_name",
        "_size",
        "_value",
        "every",
        "kept",
        "parser",
    )

    def __init__(self, params: dict[bytes, bytes], limits: FormLimits) -> None:
        charset = params.get(b"charset", b"utf-8").decode("latin-1")
        codec = _text_codec(charset)
        if codec is None:
            raise BadRequest(f"unknown charset {charset!r} in the form's Content-Type")
        self._charset = codec
        self._limits = limits
        self._name: list[bytes] = []
        self._value: list[bytes] = []
        self._size = 0
        self._count = 0
        # Filled field by field: building them at the end would hold the event loop for a
        # long moment on a large form.
        self.every: RequestParameters[str] = RequestParameters()
        self.kept: RequestParameters[str] = RequestParameters()  # without empty values
        callbacks: QuerystringCallbacks = {
            "on_field_start": self._on_field_start,
            "on_field_name": self._on_field_name,
            "on_field_data": self._on_field_data,
            "on_field_end": self._on_field_end,
        }
        self.parser = QuerystringParser(callbacks)

    def _grow(self, size: int) -> None:
        self._size += size
        limit = self._limits.max_field_size
        if limit is not None and self._size > limit:
            raise PayloadTooLarge(
                f"a form field is larger than {limit} bytes (FORM_MAX_FIELD_SIZE)"
            )

    def _on_field_start(self) -> None:
        self._name.clear()
        self._value.clear()
        self._size = 0
        limit = self._limits.max_fields
        if limit is not None and self._count >= limit:
            raise PayloadTooLarge(f"the form has more than {limit} fields (FORM_MAX_FIELDS)")

    def _on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._name.append(data[start:end])

    def _on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._value.append(data[start:end])

    def _decode(self, raw: list[bytes]) -> str:
        # Unquote to bytes first, then decode: a percent-escape and a raw non-ASCII byte
        # (which some clients send) then both decode in the declared charset.
        return unquote_to_bytes(b"".join(raw).replace(b"+", b" ")).decode(self._charset, "replace")

    def _on_field_end(self) -> None:
        self._count += 1
        name, value = self._decode(self._name), self._decode(self._value)
        self.every.setdefault(name, []).append(value)
        if value:
            self.kept.setdefault(name, []).append(value)

    def write(self, data: bytes) -> None:
        self.parser.write(data)

    def finalize(self) -> None:
        self.parser.finalize()


# -- multipart: python-multipart's callbacks as events -------------------------------------------


@dataclass(frozen=True, slots=True)
class PartHead:
    """A multipart part's headers, read: its field name, file name and type.

    Attributes:
        name: The form field's name.
        filename: The file name for a file part, ``None`` for a text field.
        content_type: The part's ``Content-Type`` (``text/plain`` if it had none).
        headers: All its headers, names lower-case, values as latin-1 text.
    """

    name: str
    filename: str | None
    content_type: str
    headers: dict[str, str]


# The events a multipart parse reports, in order: a part's head, pieces of its data, its end.
_HEAD, _DATA, _END = 0, 1, 2
_Event = tuple[int, Any]


class _MultipartEvents:
    """Feeds python-multipart and keeps what it reports as a list of events, with the limits.

    The limits are checked inside the callbacks, so a part that passes one stops the parse
    at the byte where it did.
    """

    __slots__ = (
        "_data_size",
        "_field",
        "_fields",
        "_header_field",
        "_header_value",
        "_headers",
        "_is_file",
        "_limits",
        "_parts",
        "_raw_disposition",
        "events",
        "parser",
    )

    def __init__(self, params: dict[bytes, bytes], limits: FormLimits) -> None:
        boundary = params.get(b"boundary")
        if not boundary:
            raise BadRequest("multipart/form-data request has no boundary parameter")
        self._limits = limits
        self._parts = 0
        self._fields = 0
        self._headers: dict[str, str] = {}
        self._header_field: list[bytes] = []
        self._header_value: list[bytes] = []
        self._raw_disposition = b""
        self._is_file = False
        self._data_size = 0
        self.events: list[_Event] = []
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": lambda d, start, end: self._header_field.append(d[start:end]),
            "on_header_value": lambda d, start, end: self._header_value.append(d[start:end]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }
        try:
            self.parser = MultipartParser(boundary, callbacks)
        except (FormParserError, ValueError) as exc:
            raise BadRequest(f"multipart/form-data boundary is not usable: {exc}") from None

    def _on_part_begin(self) -> None:
        self._parts += 1
        limit = self._limits.max_parts
        if limit is not None and self._parts > limit:
            raise PayloadTooLarge(f"the form has more than {limit} parts (FORM_MAX_PARTS)")
        self._headers = {}
        self._raw_disposition = b""
        self._data_size = 0

    def _on_header_end(self) -> None:
        name = b"".join(self._header_field).strip().lower()
        value = b"".join(self._header_value).strip()
        self._header_field = []
        self._header_value = []
        if name == b"content-disposition":
            self._raw_disposition = value
        self._headers[name.decode("latin-1")] = value.decode("latin-1")

    def _on_headers_finished(self) -> None:
        head = _read_head(self._raw_disposition, self._headers)
        self._is_file = head.filename is not None
        if not self._is_file:
            self._fields += 1
            limit = self._limits.max_fields
            if limit is not None and self._fields > limit:
                raise PayloadTooLarge(f"the form has more than {limit} fields (FORM_MAX_FIELDS)")
        self.events.append((_HEAD, head))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data_size += end - start
        if self._is_file:
            limit = self._limits.max_file_size
            if limit is not None and self._data_size > limit:
                raise PayloadTooLarge(
                    f"an uploaded file is larger than {limit} bytes (FORM_MAX_FILE_SIZE)"
                )
        else:
            limit = self._limits.max_field_size
            if limit is not None and self._data_size > limit:
                raise PayloadTooLarge(
                    f"a form field is larger than {limit} bytes (FORM_MAX_FIELD_SIZE)"
                )
        self.events.append((_DATA, data[start:end]))

    def _on_part_end(self) -> None:
        self.events.append((_END, None))

    def write(self, data: bytes) -> None:
        try:
            self.parser.write(data)
        except FormParserError as exc:
            raise BadRequest(f"malformed multipart/form-data body: {exc}") from None

    def finalize(self) -> None:
        try:
            self.parser.finalize()
        except FormParserError as exc:
            raise BadRequest(f"malformed multipart/form-data body: {exc}") from None
        # python-multipart's finalize() does not check that the closing boundary arrived; a
        # body cut short (or never framed) leaves the parser in an earlier state, and its
        # last part would otherwise be silently dropped or truncated.
        if self.parser.state != MultipartState.END:
            raise BadRequest("malformed multipart/form-data body: the closing boundary is missing")


def _read_head(disposition: bytes, headers: dict[str, str]) -> PartHead:
    if not disposition:
        raise BadRequest("a multipart/form-data part has no Content-Disposition header")
    # parse_options_header reads bytes as latin-1 and hands them back unchanged, so the
    # values are the raw bytes the client sent; browsers send names as raw UTF-8.
    _, options = parse_options_header(disposition)
    raw_name = options.get(b"name")
    if raw_name is None:
        raise BadRequest('a multipart/form-data part has no "name" in Content-Disposition')
    # python-multipart drops RFC 5987 parameters (filename*=UTF-8''...): look for it here.
    filename = _extended_filename(disposition)
    if filename is None:
        raw_filename = options.get(b"filename")
        if raw_filename is not None:
            filename = raw_filename.decode("utf-8", "replace")
    return PartHead(
        raw_name.decode("utf-8", "replace"),
        filename,
        headers.get("content-type") or DEFAULT_PART_TYPE,
        headers,
    )


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


# -- a whole form ---------------------------------------------------------------------------------


class FormParser:
    """Parses a form body fed to it piece by piece into a `Form`.

    ``await feed(chunk)`` for each piece of the body, then ``await finish()``. Each feed
    parses in slices and yields to other tasks when it has run for a couple of
    milliseconds, so a large form delays nobody else. File parts become `File` objects
    that move to a temporary file past ``limits.spool_size``; if the parse fails or is
    abandoned, `discard` removes them.

    Raises (from the constructor, `feed` and `finish`):
        BadRequest: the body does not parse as its type (no boundary, broken framing, a part
            without a name, an unknown charset); the client gets a 400.
        PayloadTooLarge: a limit of `FormLimits` was passed; the message names the setting.
    """

    __slots__ = (
        "_current",
        "_done",
        "_fields",
        "_files",
        "_multipart",
        "_slice",
        "_spool_size",
        "_urlencoded",
    )

    def __init__(self, content_type: str, limits: FormLimits | None = None) -> None:
        """Raises `ValueError` if ``content_type`` is not a form type (see `form_kind`)."""
        kind = form_kind(content_type)
        if kind is None:
            raise ValueError(f"{content_type!r} is not a form content type")
        media_type, params = kind
        limits = limits if limits is not None else FormLimits()
        self._urlencoded: _Urlencoded | None = None
        self._multipart: _MultipartEvents | None = None
        if media_type == URLENCODED:
            self._urlencoded = _Urlencoded(params, limits)
            self._slice = _URLENCODED_SLICE
        else:
            self._multipart = _MultipartEvents(params, limits)
            self._slice = _MULTIPART_SLICE
        self._spool_size = limits.spool_size
        self._fields: list[tuple[str, str]] = []
        self._files: list[tuple[str, File]] = []
        # The part being received: its head and its text, or the writer of its file.
        self._current: tuple[PartHead, list[bytes] | FileWriter] | None = None
        self._done = False

    @property
    def keeps_body(self) -> bool:
        """Whether the raw body is worth keeping too: a urlencoded one is (it is no larger
        than its fields, and a signature check needs it); a multipart one is not."""
        return self._urlencoded is not None

    async def feed(self, data: bytes) -> None:
        """Parse the next piece of the body."""
        step = self._slice
        yielder = _Yielder()
        for start in range(0, len(data), step):
            piece = data[start : start + step] if len(data) > step else data
            try:
                if self._urlencoded is not None:
                    self._urlencoded.write(piece)
                else:
                    assert self._multipart is not None
                    self._multipart.write(piece)
                    await self._take_events()
            except BaseException:
                self.discard()
                raise
            await yielder.maybe_yield()

    async def finish(self) -> Form:
        """The whole form, once the body has been fed to its end."""
        try:
            if self._urlencoded is not None:
                urlencoded = self._urlencoded
                urlencoded.finalize()
                return Form(urlencoded.kept, RequestParameters(), urlencoded.every)
            assert self._multipart is not None
            self._multipart.finalize()
            await self._take_events()
        except BaseException:
            self.discard()
            raise
        self._done = True
        fields = RequestParameters.from_pairs(self._fields)
        return Form(fields, RequestParameters.from_pairs(self._files), fields)

    async def _take_events(self) -> None:
        assert self._multipart is not None
        events = self._multipart.events
        if not events:
            return
        self._multipart.events = []
        for kind, value in events:
            if kind == _DATA:
                assert self._current is not None
                target = self._current[1]
                if isinstance(target, FileWriter):
                    await target.write(value)
                else:
                    target.append(value)
            elif kind == _HEAD:
                head: PartHead = value
                if head.filename is None:
                    self._current = (head, [])
                else:
                    writer = FileWriter(
                        head.filename, head.content_type, head.headers, self._spool_size
                    )
                    self._current = (head, writer)
            else:
                assert self._current is not None
                head, target = self._current
                self._current = None
                if isinstance(target, FileWriter):
                    self._files.append((head.name, await target.finish()))
                else:
                    self._fields.append((head.name, b"".join(target).decode("utf-8", "replace")))

    def discard(self) -> None:
        """Remove the temporary files of a parse that failed or was abandoned."""
        if self._done:
            return
        self._done = True
        if self._current is not None and isinstance(self._current[1], FileWriter):
            self._current[1].discard()
        for _, upload in self._files:
            upload.close()


# -- a streaming route's parts --------------------------------------------------------------------


class Part:
    """One part of a multipart body on a streaming route, its bytes read as they arrive.

    Read it with ``async for chunk in part``, ``await part.read()`` (all of it, in memory),
    ``await part.text()`` or ``await part.save(path)``. Parts come in order: asking for the
    next part skips what is left of this one.

    Attributes:
        name: The form field's name.
        filename: The client's file name for a file part, ``None`` for a text field. Never
            use it as a path unchecked.
        content_type: The part's ``Content-Type`` (``text/plain`` if it had none).
        headers: All its headers, names lower-case.
    """

    __slots__ = ("_ended", "_reader", "_skipped", "content_type", "filename", "headers", "name")

    def __init__(self, head: PartHead, reader: MultipartReader) -> None:
        self.name = head.name
        self.filename = head.filename
        self.content_type = head.content_type
        self.headers = head.headers
        self._reader = reader
        self._ended = False  # its bytes were all read
        self._skipped = False  # the next part was asked for before they were

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._reader._part_data(self)

    async def read(self) -> bytes:
        """The rest of the part's bytes, in memory (mind its size)."""
        return b"".join([chunk async for chunk in self])

    async def text(self, encoding: str = "utf-8") -> str:
        """The rest of the part decoded (undecodable bytes become U+FFFD)."""
        return (await self.read()).decode(encoding, "replace")

    async def save(self, path: str | os.PathLike[str]) -> int:
        """Write the rest of the part to ``path`` (replacing it); returns the bytes written.

        The disk writes run in a worker thread, batched to about a MiB.
        """
        written = 0
        async with await trio.open_file(path, "wb") as target:
            batch: list[bytes] = []
            batched = 0
            async for chunk in self:
                batch.append(chunk)
                batched += len(chunk)
                if batched >= 1024 * 1024:
                    await target.write(b"".join(batch))
                    written += batched
                    batch, batched = [], 0
            if batch:
                await target.write(b"".join(batch))
                written += batched
        return written

    def __repr__(self) -> str:
        return f"Part(name={self.name!r}, filename={self.filename!r}, type={self.content_type!r})"


class MultipartReader:
    """The parts of a multipart body read from a streaming route's ``request.stream``.

    ``async for part in reader`` yields each `Part` once its headers have arrived; the part's
    bytes come as the body does. Memory stays at about one chunk of the body however large
    the upload. The `FormLimits` apply (parts, fields, a field's and a file's size).

    Raises (while iterating):
        BadRequest: the body is not multipart/form-data, or is malformed.
        PayloadTooLarge: a limit was passed; the message names the setting.
    """

    __slots__ = ("_current", "_events", "_finished", "_parser", "_receive")

    def __init__(
        self,
        content_type: str,
        receive: Callable[[], Awaitable[bytes | None]],
        limits: FormLimits | None = None,
    ) -> None:
        """``receive`` is an async function giving the next body chunk, ``None`` at the end."""
        kind = form_kind(content_type)
        if kind is None or kind[0] != MULTIPART:
            raise BadRequest(
                f"the request is not multipart/form-data (Content-Type: {content_type!r})"
            )
        self._parser = _MultipartEvents(kind[1], limits if limits is not None else FormLimits())
        self._receive = receive
        self._events: deque[_Event] = deque()
        self._finished = False
        self._current: Part | None = None

    async def _next_event(self) -> _Event | None:
        """The next event of the parse, reading more of the body as needed; ``None``: done."""
        while not self._events:
            if self._finished:
                return None
            chunk = await self._receive()
            if chunk is None:
                self._parser.finalize()
                self._finished = True
            else:
                step = _MULTIPART_SLICE
                for start in range(0, len(chunk), step):
                    self._parser.write(chunk[start : start + step])
            self._events.extend(self._parser.events)
            self._parser.events = []
        return self._events.popleft()

    def __aiter__(self) -> MultipartReader:
        return self

    async def __anext__(self) -> Part:
        skipped = self._current
        if skipped is not None:  # skip what the handler left of the last part
            async for _ in self._part_data(skipped):
                pass
            skipped._skipped = True
        event = await self._next_event()
        if event is None:
            raise StopAsyncIteration
        kind, value = event
        if kind != _HEAD:  # pragma: no cover - python-multipart reports heads first
            raise BadRequest("malformed multipart/form-data body")
        self._current = Part(value, self)
        return self._current

    async def _part_data(self, part: Part) -> AsyncIterator[bytes]:
        if part._skipped:
            raise RuntimeError(f"{part!r} was skipped: parts are read in order")
        if part._ended:
            return
        while True:
            event = await self._next_event()
            if event is None:  # pragma: no cover - finalize() refuses a body cut short
                raise BadRequest("malformed multipart/form-data body: a part has no end")
            kind, value = event
            if kind == _END:
                self._current = None
                part._ended = True
                return
            yield value
