"""Response compression (gzip, br, zstd) and ETags for dynamic responses.

    from trioweb.compression import compress, etag

    compress(app)                 # gzip always; br and zstd once their packages import
    etag(app)                     # a strong ETag (and 304s) for every buffered GET answer
    @app.get("/report", etag=True)    # ... or for one route only

Both are middleware, registered on an app (or a blueprint: its routes only), placed after the
app's own response middleware so they see the final body. Compression is negotiated from
``Accept-Encoding`` (q-values, ``identity``, ``*``) and decided when the response head goes
out, from what it says: a response that is already encoded, small, of a type that does not
compress (images, audio, video, archives), ``206``/``204``/``304``, or marked
``Cache-Control: no-transform`` is sent as it is. Streamed bodies (`~trioweb.response.stream`,
``request.respond()``, `~trioweb.response.file_stream`) are compressed piece by piece: every
write is flushed, so each one reaches the client at once, and each waits for the client as an
uncompressed write would. Static files can also be served from precompressed siblings
(``app.css.br``, ``app.css.zst``, ``app.css.gz``): see ``static(precompressed=...)``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import trio

from .response import BaseHTTPResponse, HeaderList, HTTPResponse, ResponseWriter

if TYPE_CHECKING:
    from .blueprints import BlueprintGroup
    from .cookies import CookieJar
    from .datastructures import MutableHeaders
    from .registrar import RouteRegistrar
    from .request import Request

try:
    import brotli  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - the dev extra installs it
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover - the dev extra installs it
    zstandard = None  # type: ignore[assignment]

__all__ = [
    "AVAILABLE_ENCODINGS",
    "DEFAULT_MIN_SIZE",
    "ETAG_PRIORITY",
    "PRECOMPRESSED_SUFFIXES",
    "PRIORITY",
    "acceptable_encodings",
    "compress",
    "etag",
    "is_compressible",
    "route_etags",
    "select_encoding",
]

#: The codings `compress` can produce here, in its default order of preference. zstd first:
#: at its default level 3 it compressed our own sources and a JSON API answer 3 to 5 times
#: faster than brotli at quality 4 (200-400 MB/s against 70-90) for output 3% larger, and
#: CPU spent on the event loop is what a Python server has least of. brotli next (smaller
#: than gzip, and the only one Safari decodes besides gzip); gzip (stdlib) everywhere.
AVAILABLE_ENCODINGS: tuple[str, ...] = tuple(
    coding
    for coding, package in (("zstd", zstandard), ("br", brotli), ("gzip", zlib))
    if package is not None
)
#: Precompressed static siblings, best first: build tools write them at their maximum level,
#: where brotli beats zstd on web text; the suffixes are the ones those tools use.
PRECOMPRESSED_SUFFIXES: dict[str, str] = {"br": ".br", "zstd": ".zst", "gzip": ".gz"}
#: Bodies smaller than this are sent as they are: Starlette's default. A coding's framing
#: (gzip: 18 bytes) eats most of what a few hundred bytes save, and anything under one packet
#: (about 1400 bytes) arrives in one round trip either way.
DEFAULT_MIN_SIZE = 500
#: Response middleware priority of `compress`: below every default (0) and `etag`, so it
#: runs last and compresses the body the other middleware leave.
PRIORITY = -1000
#: Response middleware priority of `etag` (and of ``etag=True`` routes): after the app's own
#: middleware, before `compress`, so the tag hashes the final, uncompressed body.
ETAG_PRIORITY = -900

# Compressing more than this many bytes at once goes to a worker thread (zlib, brotli and
# zstd release the GIL): at gzip's 40 MB/s on source text, 64 KiB holds the event loop
# about 1.6 ms, the most we let one write cost the other connections.
_THREAD_OVER = 64 * 1024
# Statuses that never get a coding: no body (204, 205, 304) or a byte range of another one.
_UNCODED_STATUSES = frozenset({204, 205, 206, 304})
_LEVELS = {"gzip": (1, 9), "br": (0, 11), "zstd": (1, 22)}
# Accept-Encoding names that mean one of ours (RFC 9110 8.4.1.3: x-gzip is gzip).
_ALIASES = {"x-gzip": "gzip"}
_QVALUE = re.compile(r"q\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\s*", re.IGNORECASE)
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')
_CHOICE_CACHE_LIMIT = 256


# -- what compresses ---------------------------------------------------------------------------

_INCOMPRESSIBLE_PREFIXES = ("image/", "video/", "audio/")
# Images that are text or raw pixels do compress.
_COMPRESSIBLE_IMAGES = frozenset(
    {"image/svg+xml", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon"}
)
# Already compressed (archives, fonts, PDF streams), or of unknown content: bytes of no known
# kind are mostly downloads of the above, where compressing spends CPU to save nothing.
_INCOMPRESSIBLE = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/zip",
        "application/x-zip-compressed",
        "application/zstd",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-brotli",
        "application/java-archive",
        "application/pdf",
        "application/octet-stream",
        "font/woff",
        "font/woff2",
        "application/font-woff",
        "multipart/byteranges",
    }
)


def is_compressible(media_type: str) -> bool:
    """Whether responses of ``media_type`` are worth compressing: `compress`'s default test.

    Text, JSON, XML, JavaScript, SVG, WebAssembly and most other types are; images (but SVG,
    BMP and icons), audio, video, archives, woff fonts, PDF and ``application/octet-stream``
    are not. Wrap it to change the list:

        compress(app, compressible=lambda t: t != "text/event-stream" and is_compressible(t))

    Args:
        media_type: The ``Content-Type`` without parameters, in lower case
            (``"text/html"``).

    Returns:
        ``True`` when compressing is worth it.
    """
    if media_type.startswith(_INCOMPRESSIBLE_PREFIXES):
        return media_type in _COMPRESSIBLE_IMAGES
    return media_type not in _INCOMPRESSIBLE and not media_type.endswith("+zip")


# -- negotiation -----------------------------------------------------------------------------


def _preferences(accept_encoding: str) -> dict[str, float]:
    """The codings of an ``Accept-Encoding`` value with their q-values (lower-cased names).

    An entry whose q-value does not parse is left out, as if the client had not sent it.
    """
    found: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        if params.strip():
            matched = _QVALUE.fullmatch(params.strip())
            if matched is None:
                continue
            quality = float(matched[1])
        name = _ALIASES.get(name, name)
        found[name] = max(quality, found.get(name, 0.0))
    return found


def acceptable_encodings(accept_encoding: str | None, available: Iterable[str]) -> list[str]:
    """The codings of ``available`` the client takes, best first (RFC 9110 12.5.3).

    A higher q-value wins; between equal ones, the order of ``available`` (the server's
    preference). ``q=0`` refuses a coding; ``*`` gives its q-value to every coding not named;
    ``x-gzip`` is ``gzip``. A coding the client likes less than an explicitly listed
    ``identity`` is left out. No header (or an empty one) accepts nothing.

    Args:
        accept_encoding: The request's ``Accept-Encoding`` value, or ``None``.
        available: The codings the server can send, in its order of preference.

    Returns:
        The acceptable codings, the one to send first.
    """
    if not accept_encoding:
        return []
    wanted = _preferences(accept_encoding)
    star = wanted.get("*", 0.0)
    identity = wanted.get("identity", 0.0)
    ranked: list[tuple[float, int, str]] = []
    for index, coding in enumerate(available):
        quality = wanted.get(coding, star)
        if quality > 0 and quality >= identity:
            ranked.append((-quality, index, coding))
    return [coding for _, _, coding in sorted(ranked)]


def select_encoding(accept_encoding: str | None, available: Iterable[str]) -> str | None:
    """The coding of ``available`` to send for ``accept_encoding``, or ``None`` for identity.

    The first of `acceptable_encodings`. When nothing is acceptable, even when ``identity``
    is refused too, the answer is identity: RFC 9110 12.5.3 prefers sending it uncoded to
    refusing.

    Args:
        accept_encoding: The request's ``Accept-Encoding`` value, or ``None``.
        available: The codings the server can send, in its order of preference.

    Returns:
        A coding of ``available``, or ``None``.
    """
    ranked = acceptable_encodings(accept_encoding, available)
    return ranked[0] if ranked else None


# -- encoders --------------------------------------------------------------------------------


class _Stream(Protocol):
    def compress(self, data: bytes) -> bytes:
        """``data`` compressed and flushed: the client can decode all of it at once."""
        ...

    def finish(self) -> bytes:
        """The end of the compressed stream."""
        ...


class _GzipStream:
    __slots__ = ("_z",)

    def __init__(self, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _BrotliStream:
    __slots__ = ("_b",)

    def __init__(self, quality: int) -> None:
        self._b = brotli.Compressor(quality=quality)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._b.process(data)) + bytes(self._b.flush())

    def finish(self) -> bytes:
        return bytes(self._b.finish())


class _ZstdStream:
    __slots__ = ("_z",)

    def __init__(self, level: int) -> None:
        self._z = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._z.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


def _compress_whole(coding: str, level: int, body: bytes) -> bytes:
    if coding == "gzip":
        z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return z.compress(body) + z.flush()
    if coding == "br":
        return bytes(brotli.compress(body, quality=level))
    # zstd's one-shot frame records the content size, which lets decoders size their buffer.
    return zstandard.ZstdCompressor(level=level).compress(body)


_STREAMS: dict[str, Callable[[int], _Stream]] = {
    "gzip": _GzipStream,
    "br": _BrotliStream,
    "zstd": _ZstdStream,
}


async def _off_loop(fn: Callable[[bytes], bytes], data: bytes) -> bytes:
    if len(data) > _THREAD_OVER:
        return await trio.to_thread.run_sync(fn, data)
    return fn(data)


# -- headers on the wire -----------------------------------------------------------------------


def _media_type(content_type: bytes) -> str:
    return content_type.split(b";", 1)[0].strip().lower().decode("latin-1")


def _with_vary(headers: HeaderList) -> HeaderList:
    """``headers`` saying the response varies with ``Accept-Encoding`` (merged, never twice)."""
    first = -1
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            tokens = {token.strip().lower() for token in value.split(b",")}
            if b"*" in tokens or b"accept-encoding" in tokens:
                return headers
            if first < 0:
                first = index
    if first < 0:
        return [*headers, (b"vary", b"Accept-Encoding")]
    merged = list(headers)
    name, value = merged[first]
    value = value.strip().rstrip(b",").strip()
    merged[first] = (name, value + b", Accept-Encoding" if value else b"Accept-Encoding")
    return merged


def _entity_tags(header: str) -> list[str]:
    """The entity-tags listed in an ``If-None-Match`` value, as sent (``W/`` kept)."""
    return _ENTITY_TAG.findall(header)


@dataclass(frozen=True, slots=True)
class _Policy:
    """What one `compress` call chose."""

    encodings: tuple[str, ...]
    min_size: int
    compressible: Callable[[str], bool]
    levels: dict[str, int]
    # Accept-Encoding values seen -> the coding chosen: browsers send a handful of them.
    choices: dict[str, str | None] = field(default_factory=dict)

    def choose(self, accept_encoding: str | None) -> str | None:
        if not accept_encoding:
            return None
        try:
            return self.choices[accept_encoding]
        except KeyError:
            chosen = select_encoding(accept_encoding, self.encodings)
            if len(self.choices) >= _CHOICE_CACHE_LIMIT:
                self.choices.clear()
            self.choices[accept_encoding] = chosen
            return chosen


@dataclass(slots=True)
class _Negotiation:
    """One request's side of the decision, taken from its headers."""

    policy: _Policy
    head: bool
    accept_encoding: str | None
    ranged: bool
    if_none_match: str | None

    @classmethod
    def of(cls, policy: _Policy, request: Request) -> _Negotiation:
        headers = request.headers
        return cls(
            policy,
            request.method == "HEAD",
            headers.get("accept-encoding"),
            "range" in headers,
            headers.get("if-none-match"),
        )

    def plan(
        self, status: int, headers: HeaderList, length: int | None
    ) -> tuple[str | None, HeaderList]:
        """The coding for a response head (``None``: send it as it is) and the head to send.

        ``length`` is the body's size when the whole body is at hand.
        """
        if status == 304:
            return None, self._not_modified(headers)
        if status < 200 or status in _UNCODED_STATUSES:
            return None, headers
        content_type = declared_length = None
        serves_ranges = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-encoding":
                if value.strip().lower() not in (b"", b"identity"):
                    return None, headers
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                declared_length = value
            elif name == b"cache-control":
                if b"no-transform" in value.lower():
                    return None, headers
            elif name == b"content-range":
                return None, headers
            elif name == b"accept-ranges":
                serves_ranges = value.strip().lower() == b"bytes"
        policy = self.policy
        if content_type is None or not policy.compressible(_media_type(content_type)):
            return None, headers
        if declared_length is not None and declared_length.isdigit():
            length = int(declared_length)
        if length is not None and length < policy.min_size:
            return None, headers
        # From here the answer depends on Accept-Encoding, whatever this client sent.
        headers = _with_vary(headers)
        if self.ranged and serves_ranges:
            # The client asks for bytes of the uncoded file (a 200 means its Range was not
            # honoured): coding the whole would make its offsets meaningless.
            return None, headers
        coding = policy.choose(self.accept_encoding)
        if coding is None:
            return None, headers
        coded: HeaderList = []
        for name, value in headers:
            lname = name.lower()
            if lname in (b"content-length", b"accept-ranges", b"content-encoding"):
                continue  # the length changes; ranges of a coded body are not served
            if lname == b"etag" and not value.startswith(b"W/"):
                # Same content, other bytes: a strong tag would promise byte equality.
                value = b"W/" + value
            coded.append((name, value))
        coded.append((b"content-encoding", coding.encode("ascii")))
        return coding, coded

    def _not_modified(self, headers: HeaderList) -> HeaderList:
        """A 304 carries the validator the client holds: the weak one, if it got a coded body.

        The 200 it revalidates was coded when the client's ``If-None-Match`` names the weak
        form of a strong ``ETag`` (and not the strong one); the 304 then says ``W/`` too and
        ``Vary: Accept-Encoding``, as that 200 did, so caches update the right copy.
        """
        if self.if_none_match is None:
            return headers
        tags = _entity_tags(self.if_none_match)
        for index, (name, value) in enumerate(headers):
            if name.lower() == b"etag" and not value.startswith(b"W/"):
                strong = value.decode("latin-1")
                if "W/" + strong in tags and strong not in tags:
                    weakened = list(headers)
                    weakened[index] = (name, b"W/" + value)
                    return _with_vary(weakened)
        return headers


class _EncodingWriter:
    """A `ResponseWriter` that compresses what goes through it, decided at the head."""

    __slots__ = ("_coding", "_inner", "_negotiation", "_stream")

    def __init__(self, inner: ResponseWriter, negotiation: _Negotiation) -> None:
        self._inner = inner
        self._negotiation = negotiation
        self._coding: str | None = None
        self._stream: _Stream | None = None

    @property
    def started(self) -> bool:
        return self._inner.started

    async def send_head(self, status: int, headers: HeaderList) -> None:
        coding, headers = self._negotiation.plan(status, headers, None)
        if coding is not None and not self._negotiation.head:
            self._stream = _STREAMS[coding](self._negotiation.policy.levels[coding])
        await self._inner.send_head(status, headers)

    async def send_data(self, data: bytes) -> None:
        stream = self._stream
        if stream is None:
            await self._inner.send_data(data)
            return
        if data:
            compressed = await _off_loop(stream.compress, data)
            if compressed:
                await self._inner.send_data(compressed)

    async def send_end(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            tail = stream.finish()
            if tail:
                await self._inner.send_data(tail)
        await self._inner.send_end()

    async def send_complete(self, status: int, headers: HeaderList, body: bytes) -> None:
        negotiation = self._negotiation
        coding, headers = negotiation.plan(status, headers, len(body))
        if coding is not None and not negotiation.head:
            level = negotiation.policy.levels[coding]
            body = await _off_loop(lambda whole: _compress_whole(coding, level, whole), body)
            headers.append((b"content-length", b"%d" % len(body)))
        await self._inner.send_complete(status, headers, body)


class _EncodedResponse(BaseHTTPResponse):
    """The response the handler made, sent through an `_EncodingWriter`.

    Status, headers, content type and cookies are the wrapped response's own, so middleware
    that runs after `compress` (registered with a lower priority) still changes them.
    """

    __slots__ = ("_negotiation", "inner")

    def __init__(self, inner: BaseHTTPResponse, negotiation: _Negotiation) -> None:
        # BaseHTTPResponse.__init__ is not called: every field is the inner response's.
        self.inner = inner
        self._negotiation = negotiation

    @property
    def status(self) -> int:
        return self.inner.status

    @status.setter
    def status(self, value: int) -> None:
        self.inner.status = value

    @property
    def headers(self) -> MutableHeaders:
        return self.inner.headers

    @headers.setter
    def headers(self, value: MutableHeaders) -> None:
        self.inner.headers = value

    @property
    def content_type(self) -> str | None:
        return self.inner.content_type

    @content_type.setter
    def content_type(self, value: str | None) -> None:
        self.inner.content_type = value

    @property
    def cookies(self) -> CookieJar:
        return self.inner.cookies

    def encoded_headers(self) -> HeaderList:
        return self.inner.encoded_headers()

    def for_request(self, request: Request) -> BaseHTTPResponse:
        self.inner = self.inner.for_request(request)
        return self

    async def write_to(self, writer: ResponseWriter) -> None:
        await self.inner.write_to(_EncodingWriter(writer, self._negotiation))

    def __repr__(self) -> str:
        return f"<compressed {self.inner!r}>"


# -- the middleware --------------------------------------------------------------------------


def _check_level(coding: str, value: object, keyword: str) -> int:
    low, high = _LEVELS[coding]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{keyword} must be an int from {low} to {high}, got {value!r}")
    return value


def _check_encodings(encodings: Sequence[str] | None) -> tuple[str, ...]:
    if encodings is None:
        return AVAILABLE_ENCODINGS
    if isinstance(encodings, str) or not isinstance(encodings, Sequence):
        raise TypeError(f"encodings must be a list of names, not {encodings!r}")
    chosen = tuple(encodings)
    if not chosen:
        raise ValueError("encodings is empty: leave compress() out to send everything as is")
    for coding in chosen:
        if coding not in _STREAMS:
            raise ValueError(f"unknown encoding {coding!r}: choose among gzip, br and zstd")
        if coding not in AVAILABLE_ENCODINGS:
            extra = "brotli" if coding == "br" else "zstd"
            raise ValueError(
                f"encoding {coding!r} needs a package that is not installed: "
                f"pip install 'trioweb[{extra}]'"
            )
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"encodings lists a coding twice: {list(chosen)!r}")
    return chosen


def _check_target(app: object, what: str) -> None:
    if not callable(getattr(app, "on_response", None)):
        raise TypeError(f"{what}() takes an App, a Blueprint or a BlueprintGroup, not {app!r}")


def compress(
    app: RouteRegistrar | BlueprintGroup,
    *,
    encodings: Sequence[str] | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    compressible: Callable[[str], bool] = is_compressible,
    gzip_level: int = 6,
    brotli_quality: int = 4,
    zstd_level: int = 3,
) -> None:
    """Compress responses for clients that accept it, as ``Accept-Encoding`` negotiates.

    A response is sent as it is when it already has a ``Content-Encoding``, is smaller than
    ``min_size``, has no ``Content-Type`` or one ``compressible`` refuses, has status 204,
    205, 206 or 304, or says ``Cache-Control: no-transform``; and when the request asks for a
    ``Range`` of a response that serves ranges. Every other response gets
    ``Vary: Accept-Encoding`` (merged into any ``Vary`` it has). When it is compressed, its
    ``Content-Length`` becomes the compressed size (buffered bodies) or goes (streamed ones:
    chunked), ``Accept-Ranges`` goes, and a strong ``ETag`` turns weak (``W/"..."``). An
    answer to HEAD gets the head a GET would (without ``Content-Length``) and nothing is
    compressed. Streamed bodies are compressed write by write, each write flushed.

    Args:
        app: The `App`, or a `Blueprint` or `BlueprintGroup` (only their routes).
        encodings: The codings to offer, the server's preference first, among ``"zstd"``,
            ``"br"`` and ``"gzip"``; by default `AVAILABLE_ENCODINGS`. A client's higher
            q-value still wins over this order.
        min_size: Bodies of fewer bytes are not compressed (streams of unknown length always
            are).
        compressible: Given a media type (``"text/html"``, lower case, no parameters), says
            whether to compress it; `is_compressible` by default.
        gzip_level: zlib's level, 1 (fastest) to 9; 6 is zlib's own default.
        brotli_quality: 0 to 11. 4 is as fast as gzip's 6 and smaller; 11 is for files
            compressed once, ahead of time.
        zstd_level: 1 to 22; 3 is zstd's default.

    Raises:
        ValueError: an encoding is unknown, listed twice, or its package (``brotli``,
            ``zstandard``) is not installed; ``min_size`` is negative; a level is out of
            range.
        TypeError: ``app`` is not an app or blueprint, ``encodings`` is a string, or
            ``compressible`` is not callable.
    """
    _check_target(app, "compress")
    chosen = _check_encodings(encodings)
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
        raise ValueError(f"min_size must be an int of at least 0, got {min_size!r}")
    if not callable(compressible):
        raise TypeError(f"compressible must be a function of a media type, not {compressible!r}")
    policy = _Policy(
        chosen,
        min_size,
        compressible,
        {
            "gzip": _check_level("gzip", gzip_level, "gzip_level"),
            "br": _check_level("br", brotli_quality, "brotli_quality"),
            "zstd": _check_level("zstd", zstd_level, "zstd_level"),
        },
    )

    async def compress_responses(
        request: Request, response: BaseHTTPResponse
    ) -> BaseHTTPResponse | None:
        if isinstance(response, _EncodedResponse):
            return None  # compress() on the app and on a blueprint: once is enough
        if (
            isinstance(response, HTTPResponse)
            and response.status != 304
            and len(response.body) < min_size
        ):
            return None  # the common small answer: nothing to decide at the head
        return _EncodedResponse(response, _Negotiation.of(policy, request))

    async def compress_respond(request: Request) -> None:
        # `request.respond()` sends its head at once and never meets response middleware:
        # its writer compresses instead. A response the handler returns is written by the
        # server's own writer, so nothing is compressed twice.
        writer = request._writer
        if writer is not None and not isinstance(writer, _EncodingWriter):
            request._writer = _EncodingWriter(writer, _Negotiation.of(policy, request))

    app.on_request(compress_respond, priority=PRIORITY)
    app.on_response(compress_responses, priority=PRIORITY)


# -- ETags -----------------------------------------------------------------------------------


def _body_etag(body: bytes) -> str:
    # 128 bits of BLAKE2b: no accidental collision in any cache's lifetime, and a hash
    # faster than the network (about 1 GB/s) for the bodies that are buffered anyway.
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def _none_match(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2), or is ``*``."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in _entity_tags(if_none_match))


def _tag_response(request: Request, response: Any) -> None:
    """Give a buffered 200 answer to GET or HEAD an ETag, and turn it into a 304 if it matches."""
    if (
        request.method not in ("GET", "HEAD")
        or not isinstance(response, HTTPResponse)
        or response.status != 200
    ):
        return
    tag = response.headers.get("etag")
    if tag is None:
        tag = response.headers["ETag"] = _body_etag(response.body)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _none_match(if_none_match, tag):
        # The headers go with it, less those describing a body (see not_modified_headers).
        response.status = 304
        response.body = b""


def etag(app: RouteRegistrar | BlueprintGroup) -> None:
    """Give every buffered ``200`` answer to GET and HEAD an ``ETag``, and answer 304.

    The tag is strong, a hash of the body (after the app's response middleware); a response
    that has an ``ETag`` already keeps it. A request whose ``If-None-Match`` names the tag
    (weak comparison: ``W/"x"`` matches ``"x"``, RFC 9110 13.1.2) or is ``*`` gets
    ``304 Not Modified`` with the tag and no body. Streamed responses (``stream()``,
    ``request.respond()``) get none: their body is not known before it is sent. File
    responses have their own (from size and modification time). For one route instead of
    all, declare it with ``etag=True``.

    Args:
        app: The `App`, or a `Blueprint` or `BlueprintGroup` (only their routes).

    Raises:
        TypeError: ``app`` is not an app or blueprint.
    """
    _check_target(app, "etag")

    async def tag_responses(request: Request, response: Any) -> None:
        _tag_response(request, response)

    app.on_response(tag_responses, priority=ETAG_PRIORITY)


async def route_etags(request: Request, response: Any) -> None:
    """What ``etag=True`` on a route does: `etag`'s work, for routes whose ``ctx.etag`` is true.

    The first route declared with ``etag=True`` registers it on its app or blueprint.
    """
    route = request.route
    if route is not None and getattr(route.ctx, "etag", False) is True:
        _tag_response(request, response)
