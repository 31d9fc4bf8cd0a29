"""File responses (conditional and range requests) and the path resolution behind static files.

`FileResponse` is what `trioweb.response.file` and `~trioweb.response.file_stream` return. It
is built from a path and the ``os.stat_result`` taken when the handler ran, and adapts itself
to the request in `FileResponse.for_request`:

- ``304 Not Modified`` when ``If-None-Match`` matches the ETag, or (without ``If-None-Match``)
  when ``If-Modified-Since`` is not older than the file;
- ``206 Partial Content`` for one satisfiable ``Range: bytes=...``, ``416`` for one that is not;
- ``200`` with the whole file otherwise.

Validators: ``Last-Modified`` is the modification time to the second; the ETag is *strong*,
``"<mtime_ns hex>-<size hex>"``. Strong because ``If-Range`` may only match a strong validator
(RFC 9110 13.1.5), and resumed downloads send the ETag there; it changes whenever the file is
rewritten or resized, which is what makes a byte range of it safe to combine with another.

`resolve_static_path` maps the sub-path of a static route to a regular file inside a root
directory, or raises `NotFound`; see its docstring for the guarantees (the rules themselves
live in `trioweb.static`).
"""

from __future__ import annotations

import copy
import mimetypes
import os
import re
import stat
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol, Self
from urllib.parse import quote

import trio

from .datastructures import MutableHeaders
from .exceptions import NotFound, RangeNotSatisfiable
from .response import _UNSET, BaseHTTPResponse, ResponseWriter, _Unset, not_modified_headers

if TYPE_CHECKING:
    from .request import Request

__all__ = [
    "ByteRange",
    "FileResponse",
    "content_disposition",
    "guess_content_type",
    "resolve_static_path",
]

# Headers the file response computes itself; a caller's copy would contradict the body sent.
_COMPUTED = frozenset({"content-length", "content-range"})
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# RFC 5987 attr-char: what may stay unescaped in ``filename*=UTF-8''...``.
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


def guess_content_type(path: str | os.PathLike[str]) -> str:
    """The content type for ``path`` by its extension; ``text/*`` types get UTF-8 as charset.

    Unknown extensions are ``application/octet-stream``, which browsers download rather
    than render.
    """
    guessed = mimetypes.guess_type(os.fspath(path))[0] or "application/octet-stream"
    return guessed + "; charset=utf-8" if guessed.startswith("text/") else guessed


def content_disposition(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value naming ``filename`` for any client.

    ``filename*`` carries the exact UTF-8 name (RFC 6266, RFC 5987); the plain ``filename``
    is an ASCII approximation for clients that ignore ``filename*``.
    """
    # NFKD splits "é" into "e" + an accent, so dropping non-ASCII keeps the readable part.
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name)
    exact = quote(filename, safe=_ATTR_CHAR_SAFE)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{exact}"


class ByteRange(Protocol):
    """A byte range to send, as `trioweb.response.file`'s ``_range`` takes it (Sanic's shape)."""

    @property
    def start(self) -> int:
        """The first byte sent."""
        ...

    @property
    def end(self) -> int:
        """The last byte sent (inclusive)."""
        ...


def _merge_headers(computed: dict[str, str], given: Mapping[str, str] | None) -> MutableHeaders:
    """``computed`` overridden by ``given``, except the framing headers."""
    merged = MutableHeaders(computed)
    for name, value in (given or {}).items():
        if name.lower() not in _COMPUTED:
            merged[name] = value
    return merged


def _parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP date, or ``None`` if it does not parse."""
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000" means UTC without saying so
        return int(when.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # OverflowError: a year or an hour with more digits than a C long


def _opaque_tags(header: str) -> list[str]:
    """The entity-tags of an ``If-None-Match`` list with any ``W/`` prefix removed."""
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def _byte_position(digits: str) -> int:
    """A byte position from its digits; one past any file's size if it has too many digits.

    Python refuses to convert strings of more than 4300 digits (a ``ValueError``); no file
    needs more than 19, so anything longer is simply "beyond every file".
    """
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else 10**19


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Interpret a ``Range`` header for a file of ``size`` bytes.

    Returns:
        ``(first, last)`` inclusive for one satisfiable byte range; ``None`` when the header
        is to be ignored (another unit, several ranges).

    Raises:
        RangeNotSatisfiable: a ``bytes`` range that is malformed or lies outside the file.
    """
    unit, sep, ranges = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None  # RFC 9110 14.2: a range unit we do not understand is ignored
    specs = [spec.strip() for spec in ranges.split(",") if spec.strip()]
    if len(specs) != 1:
        # multipart/byteranges is not supported: several ranges get the whole file (200),
        # which RFC 9110 14.2 allows. An empty set is malformed.
        if specs:
            return None
        raise RangeNotSatisfiable("the Range header names no range")
    found = _RANGE_SPEC.fullmatch(specs[0])
    if found is None or found[0] == "-":
        raise RangeNotSatisfiable(f"malformed byte range {specs[0]!r}")
    first_text, last_text = found[1], found[2]
    if not first_text:
        suffix = _byte_position(last_text)
        if suffix == 0:
            raise RangeNotSatisfiable("a suffix range of zero bytes selects nothing")
        if size == 0:
            return None  # no byte to select; the (empty) whole file is the honest answer
        return max(size - suffix, 0), size - 1
    first = _byte_position(first_text)
    last = _byte_position(last_text) if last_text else size - 1
    if last < first:
        raise RangeNotSatisfiable(f"byte range {specs[0]!r} ends before it starts")
    if first >= size:
        raise RangeNotSatisfiable(f"byte range {specs[0]!r} starts beyond the end")
    return first, min(last, size - 1)


def _file_date(stat_result: os.stat_result) -> str | None:
    """The file's mtime as an HTTP date, or ``None`` if no date can say it.

    Some file systems (tmpfs, XFS, btrfs) keep times outside the years 1 to 9999, which a
    damaged archive or a bad clock can leave behind; such a file is sent without a date
    rather than failing every request for it.
    """
    try:
        return formatdate(stat_result.st_mtime_ns // 10**9, usegmt=True)
    except (ValueError, OverflowError):
        return None


def _epoch_seconds(when: datetime | float) -> int:
    """Whole seconds since the epoch for a ``Last-Modified`` value; a naive datetime is UTC."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp())
    if isinstance(when, int | float) and not isinstance(when, bool):
        return int(when)
    raise TypeError(
        f"last_modified must be a datetime, seconds since the epoch or None, not {when!r}"
    )


class FileResponse(BaseHTTPResponse):
    """A file sent from disk, answering conditional and range requests by itself.

    Usually made by `trioweb.response.file` or `~trioweb.response.file_stream`. Headers
    sent: ``Content-Length``, the content type, ``Accept-Ranges: bytes`` (when ranges are
    answered), ``Last-Modified`` and ``ETag`` (strong, from size and mtime) unless turned off,
    and ``Cache-Control`` when asked for. Only a ``200`` response takes part in conditional and
    range handling; a file sent with another status is always sent whole.

    Args:
        path: The file to send.
        stat_result: ``os.stat(path)``, taken by the caller; sizes and validators come from it.
        status: The HTTP status code.
        headers: Extra headers; they override the computed ones, except ``Content-Length``
            and ``Content-Range``.
        mime_type: The content type; guessed from ``filename``, else ``path``, when ``None``.
        filename: Send as an attachment the browser saves under this name.
        max_age: Send ``Cache-Control: public, max-age=<max_age>`` (seconds, rounded down).
        no_store: Send ``Cache-Control: no-store``.
        chunk_size: Send in pieces of this many bytes; ``None`` reads the selected bytes in
            one go.
        last_modified: The ``Last-Modified`` date: a ``datetime`` (naive means UTC) or seconds
            since the epoch; by default the file's mtime (none if it is past year 9999);
            ``None`` sends none.
        etag: Send the ``ETag`` (``If-None-Match`` and ``If-Range`` can then match it).
        conditional: Answer ``If-None-Match``/``If-Modified-Since`` with 304.
        ranges: Answer ``Range`` with 206/416 and send ``Accept-Ranges: bytes``; when
            ``False`` a ``Range`` header is ignored and the whole file sent.
        byte_range: Send only these bytes (``start`` to ``end`` inclusive; an ``end`` past
            the file is clamped) with status 206, whatever the request asks.

    Raises:
        ValueError: ``chunk_size`` is not positive, ``max_age`` is negative, both
            ``max_age`` and ``no_store`` are given, or ``byte_range`` is outside the file.
        TypeError: ``last_modified`` is of another type.
    """

    __slots__ = (
        "_first",
        "_length",
        "_send_body",
        "chunk_size",
        "conditional",
        "path",
        "ranges",
        "size",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        stat_result: os.stat_result,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        mime_type: str | None = None,
        filename: str | None = None,
        max_age: float | None = None,
        no_store: bool = False,
        chunk_size: int | None = None,
        last_modified: datetime | float | _Unset | None = _UNSET,
        etag: bool = True,
        conditional: bool = True,
        ranges: bool = True,
        byte_range: ByteRange | None = None,
    ) -> None:
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        if max_age is not None and max_age < 0:
            raise ValueError(f"max_age must not be negative, got {max_age}")
        if max_age is not None and no_store:
            raise ValueError("max_age and no_store=True contradict each other; pass one")
        self.path = os.fspath(path)
        self.size = stat_result.st_size
        self.chunk_size = chunk_size
        #: Whether `for_request` answers conditional requests (304).
        self.conditional = conditional
        #: Whether `for_request` answers ``Range`` requests (206/416).
        self.ranges = ranges
        computed: dict[str, str] = {}
        if ranges:
            computed["Accept-Ranges"] = "bytes"
        if isinstance(last_modified, _Unset):
            file_date = _file_date(stat_result)
            if file_date is not None:
                computed["Last-Modified"] = file_date
        elif last_modified is not None:
            computed["Last-Modified"] = formatdate(_epoch_seconds(last_modified), usegmt=True)
        if etag:
            computed["ETag"] = f'"{stat_result.st_mtime_ns:x}-{stat_result.st_size:x}"'
        if filename is not None:
            computed["Content-Disposition"] = content_disposition(filename)
        if no_store:
            computed["Cache-Control"] = "no-store"
        elif max_age is not None:
            computed["Cache-Control"] = f"public, max-age={int(max_age)}"
        if mime_type is None:
            mime_type = guess_content_type(filename if filename is not None else self.path)
        super().__init__(status, _merge_headers(computed, headers), mime_type)
        self._select(0, self.size)
        self._send_body = True
        if byte_range is not None:
            first, last = byte_range.start, min(byte_range.end, self.size - 1)
            if not 0 <= first <= last:
                raise ValueError(
                    f"_range {byte_range.start}-{byte_range.end} is not inside "
                    f"{self.path!r} ({self.size} bytes)"
                )
            self.status = 206
            self._select(first, last - first + 1)
            self.headers["Content-Range"] = f"bytes {first}-{last}/{self.size}"

    @classmethod
    async def from_path(
        cls,
        location: str | os.PathLike[str],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        mime_type: str | None = None,
        filename: str | None = None,
        max_age: float | None = None,
        no_store: bool = False,
        chunk_size: int | None = None,
        last_modified: datetime | float | _Unset | None = _UNSET,
        etag: bool = True,
        conditional: bool = True,
        ranges: bool = True,
        byte_range: ByteRange | None = None,
    ) -> Self:
        """``stat`` the file at ``location`` (in a worker thread) and make its response.

        The keywords are the constructor's.

        Raises:
            FileNotFoundError: nothing is at ``location``.
            IsADirectoryError: ``location`` is not a regular file.
        """
        stat_result = await trio.Path(location).stat()
        if not stat.S_ISREG(stat_result.st_mode):
            raise IsADirectoryError(f"not a regular file: {os.fspath(location)!r}")
        return cls(
            location,
            stat_result,
            status=status,
            headers=headers,
            mime_type=mime_type,
            filename=filename,
            max_age=max_age,
            no_store=no_store,
            chunk_size=chunk_size,
            last_modified=last_modified,
            etag=etag,
            conditional=conditional,
            ranges=ranges,
            byte_range=byte_range,
        )

    def _select(self, first: int, length: int) -> None:
        self._first = first
        self._length = length
        self.headers["Content-Length"] = str(length)

    def __repr__(self) -> str:
        return f"<FileResponse {self.status} {self.path!r} {self._length} bytes>"

    @property
    def etag(self) -> str | None:
        """The ``ETag`` this response sends (a caller's header overrides the computed one)."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> int | None:
        """``Last-Modified`` as seconds since the epoch, or ``None`` if absent or unparsable."""
        value = self.headers.get("last-modified")
        return None if value is None else _parse_http_date(value)

    # -- adapting to the request ----------------------------------------------------------------

    def for_request(self, request: Request) -> BaseHTTPResponse:
        """304, 206, 416 or this 200, as the request's conditional and ``Range`` headers ask.

        This response is never changed: any other answer is a modified copy of it.
        """
        if self.status != 200 or request.method not in ("GET", "HEAD"):
            return self
        headers = request.headers
        if self.conditional and self._not_modified(
            headers.get("if-none-match"), headers.get("if-modified-since")
        ):
            return self._not_modified_response()
        if request.method == "HEAD":
            # The writer drops a HEAD body anyway; not opening the file saves a thread hop.
            return self._variant(200, send_body=False)
        range_header = headers.get("range") if self.ranges else None
        if range_header is None or not self._if_range_holds(headers.get("if-range")):
            return self
        try:
            selected = _parse_range(range_header, self.size)
        except RangeNotSatisfiable:
            # Answered here rather than raised, so response middleware sees it like any other.
            response = self._variant(416, send_body=False)
            response._select(0, 0)
            response.headers["Content-Range"] = f"bytes */{self.size}"
            response.content_type = None
            response.headers.pop("content-type", None)
            return response
        if selected is None:
            return self
        first, last = selected
        response = self._variant(206, send_body=True)
        response._select(first, last - first + 1)
        response.headers["Content-Range"] = f"bytes {first}-{last}/{self.size}"
        return response

    def validated(self, request_headers: Mapping[str, str]) -> FileResponse:
        """The 304 for ``request_headers`` if they show the client's copy is current, else self.

        What `trioweb.response.file` does with ``request_headers``: the decision `for_request`
        would take later, taken now (for any method). Names are matched case-insensitively.
        """
        if self.status != 200 or not self.conditional:
            return self
        headers = MutableHeaders(request_headers)
        if self._not_modified(headers.get("if-none-match"), headers.get("if-modified-since")):
            return self._not_modified_response()
        return self

    def _not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        if if_none_match is not None:
            # RFC 9110 13.1.2: weak comparison; If-Modified-Since is then ignored.
            etag = self.etag
            tags = _opaque_tags(if_none_match)
            return "*" in tags or (etag is not None and etag.removeprefix("W/") in tags)
        if if_modified_since is None:
            return False
        since = _parse_http_date(if_modified_since)
        modified = self.last_modified
        return since is not None and modified is not None and modified <= since

    def _if_range_holds(self, if_range: str | None) -> bool:
        """Whether a ``Range`` may be honoured given ``If-Range`` (absent means yes)."""
        if if_range is None:
            return True
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            # Strong comparison: a weak tag never matches (RFC 9110 13.1.5).
            etag = self.etag
            return etag is not None and not etag.startswith("W/") and if_range == etag
        since = _parse_http_date(if_range)
        return since is not None and since == self.last_modified

    def _variant(self, status: int, *, send_body: bool) -> FileResponse:
        # A copy keeps whatever else the handler attached to the response (cookies, say).
        response = copy.copy(self)
        response.status = status
        response.headers = self.headers.copy()
        response._send_body = send_body
        return response

    def _not_modified_response(self) -> FileResponse:
        response = self._variant(304, send_body=False)
        response.headers = not_modified_headers(self.headers.multi_items())
        response.content_type = None
        return response

    # -- sending --------------------------------------------------------------------------------

    async def write_to(self, writer: ResponseWriter) -> None:
        """Send the selected bytes; a file that shrank since its stat ends the connection.

        Raises:
            OSError: the file could not be opened or read (before the head: a 500).
            RuntimeError: the file ended before the bytes promised by ``Content-Length``.
        """
        headers = self.encoded_headers()
        if not self._send_body or self._length == 0:
            await writer.send_complete(self.status, headers, b"")
            return
        async with await trio.open_file(self.path, "rb") as handle:
            if self._first:
                await handle.seek(self._first)
            if self.chunk_size is None:
                body = await handle.read(self._length)
                self._check_read(len(body), self._length)
                await writer.send_complete(self.status, headers, body)
                return
            await writer.send_head(self.status, headers)
            remaining = self._length
            while remaining > 0:
                chunk = await handle.read(min(self.chunk_size, remaining))
                self._check_read(len(chunk), min(self.chunk_size, remaining))
                remaining -= len(chunk)
                await writer.send_data(chunk)
            await writer.send_end()

    def _check_read(self, got: int, wanted: int) -> None:
        # A regular file returns what was asked unless it ends; sending fewer bytes than the
        # Content-Length promised would leave the client waiting, so fail loudly instead.
        if got < wanted:
            raise RuntimeError(f"{self.path!r} shrank while it was being sent")


# -- static files ---------------------------------------------------------------------------------


async def resolve_static_path(
    root: str, sub_path: str, index: Sequence[str] = ()
) -> tuple[str, os.stat_result]:
    """Map the sub-path of a static URL to a regular file inside ``root``.

    Guarantees: the file returned lies inside ``root`` after every symlink is resolved, so
    ``..`` segments (however they were percent-encoded: the router decodes parameters once,
    and nothing here decodes again), absolute paths, backslashes, NUL bytes and symlinks that
    lead outside all end in `NotFound`, never in a file. Symlinks that stay inside ``root``
    are followed. A directory is answered with the first of ``index`` that is a regular file
    in it. The file system is touched in a worker thread, so the event loop never blocks.
    `trioweb.static.resolve_static_target` is the same with directories and external
    symlinks as options.

    Args:
        root: The directory served, already resolved with ``os.path.realpath``.
        sub_path: The decoded path below the static route's prefix; ``""`` is ``root``.
        index: File names tried in order when the path is a directory.

    Returns:
        The file's real path and its ``os.stat_result``.

    Raises:
        NotFound: there is no regular file to serve at ``sub_path`` inside ``root``.
    """
    # Imported here: trioweb.static builds on this module's FileResponse.
    from .static import resolve_static_target

    target = await resolve_static_target(root, sub_path, index)
    if target.is_dir:
        raise NotFound()
    return target.path, target.stat_result
