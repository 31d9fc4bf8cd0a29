"""Response compression and ETags: `trioweb.compression`, ``etag=True``, precompressed statics.

Most tests go through ``app.test_client()`` (the real h11 path over memory streams); the
round trips, the flush and the backpressure tests go through real sockets with httpx (which
decodes gzip, br and zstd) or a raw h11 client. Network rules: see ``tests/netutil.py``.
"Blocked" is observed with ``trio.testing.wait_all_tasks_blocked``, never with sleeps.
Compressed bytes are read raw (``aiter_raw``) and decoded here, so a test sees exactly what
went over the wire.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import brotli
import h11
import httpx
import pytest
import trio
import trio.testing
import zstandard

from examples import compression as example
from trioweb import App, Blueprint, Request
from trioweb.compression import (
    AVAILABLE_ENCODINGS,
    acceptable_encodings,
    compress,
    etag,
    is_compressible,
    select_encoding,
)
from trioweb.response import (
    BaseHTTPResponse,
    HTTPResponse,
    StreamingHTTPResponse,
    empty,
    file,
    file_stream,
    json,
    raw,
    stream,
    text,
)

from .netutil import TIMEOUT, RawClient, request, running

CODINGS = ["gzip", "br", "zstd"]
BODY = "All work and no play makes Jack a dull boy.\n" * 100  # 4400 bytes, compressible
MiB = 1024 * 1024


def decode(coding: str | None, data: bytes) -> bytes:
    if coding is None:
        return data
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return bytes(brotli.decompress(data))
    assert coding == "zstd"
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


async def fetch(
    client: httpx.AsyncClient,
    path: str,
    accept: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, bytes]:
    """``method path`` with exactly this ``Accept-Encoding`` (none if ``None``): the response
    and its body as sent, still coded."""
    req = client.build_request(method, path, headers=headers)
    del req.headers["accept-encoding"]  # httpx's own default
    if accept is not None:
        req.headers["accept-encoding"] = accept
    response = await client.send(req, stream=True)
    try:
        body = b"".join([part async for part in response.aiter_raw()])
    finally:
        await response.aclose()
    return response, body


def text_app(**options: Any) -> App:
    """Routes of every kind the compression decision looks at, compressed with ``options``."""
    app = App("compressed")
    compress(app, **options)

    @app.get("/text")
    async def plain(req: Request) -> HTTPResponse:
        size = int(req.args.get("size", str(len(BODY))))
        return text(("x" * size) if size < len(BODY) else BODY[:size])

    @app.get("/typed")
    async def typed(req: Request) -> HTTPResponse:
        return raw(BODY.encode(), content_type=req.args.get("type", "text/plain"))

    @app.get("/headers")
    async def with_headers(req: Request) -> HTTPResponse:
        return text(BODY, headers={name: req.args.get(name) or "" for name in req.args})

    @app.get("/stream")
    async def streamed(req: Request) -> StreamingHTTPResponse:
        async def lines(response: StreamingHTTPResponse) -> None:
            for line in BODY.splitlines(keepends=True):
                await response.write(line)

        return stream(lines)

    @app.get("/respond")
    async def responded(req: Request) -> None:
        response = await req.respond(content_type="text/plain; charset=utf-8")
        for line in BODY.splitlines(keepends=True):
            await response.send(line)

    @app.get("/empty")
    async def nothing(req: Request) -> HTTPResponse:
        return empty()

    return app


# -- round trips through real sockets -------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("path", ["/text", "/stream", "/respond"])
async def test_httpx_decodes_every_coding_of_buffered_and_streamed_bodies(
    coding: str, path: str
) -> None:
    async with running(text_app()) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            r = await client.get(path, headers={"Accept-Encoding": coding})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == coding
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.text == BODY
    if path == "/text":
        assert int(r.headers["content-length"]) < len(BODY) // 10
    else:
        assert "content-length" not in r.headers
        assert r.headers["transfer-encoding"] == "chunked"


@pytest.mark.parametrize("coding", CODINGS)
async def test_the_bytes_sent_are_the_coding_named(coding: str) -> None:
    async with text_app().test_client() as client:
        for path in ("/text", "/stream"):
            r, sent = await fetch(client, path, coding)
            assert r.headers["content-encoding"] == coding
            assert decode(coding, sent) == BODY.encode()
        r, sent = await fetch(client, "/text", coding)
        assert int(r.headers["content-length"]) == len(sent)


# -- negotiation -----------------------------------------------------------------------------

NEGOTIATION = [
    (None, None),
    ("", None),
    ("gzip", "gzip"),
    ("GZip", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip, deflate, br, zstd", "zstd"),  # a browser's: the server's order decides
    ("br;q=1.0, gzip;q=0.8", "br"),
    ("gzip;q=0.5, br;q=0.9", "br"),
    ("zstd;q=0.001, gzip;q=0.002", "gzip"),
    ("gzip;q=0", None),
    ("gzip;q=0, br", "br"),
    ("deflate", None),
    ("*", "zstd"),
    ("*;q=0.5, gzip", "gzip"),
    ("br;q=0, *", "zstd"),
    ("zstd;q=0, br;q=0, *", "gzip"),
    ("*;q=0", None),
    ("identity", None),
    ("identity;q=1, gzip;q=0.5", None),
    ("gzip, identity;q=0", "gzip"),
    ("identity;q=0", None),
    ("gzip;q=abc, br", "br"),  # a malformed q-value drops its entry
    ("gzip;q=1.5", None),
    ("gzip ; q=0.7 , br;Q=0.6", "gzip"),
]


@pytest.mark.parametrize(("accept", "expected"), NEGOTIATION)
def test_select_encoding(accept: str | None, expected: str | None) -> None:
    assert select_encoding(accept, ["zstd", "br", "gzip"]) == expected


@pytest.mark.parametrize(("accept", "expected"), NEGOTIATION)
async def test_the_coding_sent_follows_accept_encoding(
    accept: str | None, expected: str | None
) -> None:
    async with text_app().test_client() as client:
        r, sent = await fetch(client, "/text", accept)
    assert r.headers.get("content-encoding") == expected
    assert r.headers["vary"] == "Accept-Encoding"  # identity answers vary too
    assert decode(expected, sent) == BODY.encode()


def test_acceptable_encodings_ranks_by_quality_then_server_order() -> None:
    assert acceptable_encodings("gzip;q=0.9, br, zstd;q=0.9", ["zstd", "br", "gzip"]) == [
        "br",
        "zstd",
        "gzip",
    ]
    assert acceptable_encodings("*;q=0.1, identity;q=0.5", ["gzip"]) == []


async def test_the_server_order_can_be_chosen() -> None:
    async with text_app(encodings=["gzip", "br"]).test_client() as client:
        r, _ = await fetch(client, "/text", "br, gzip, zstd")
        assert r.headers["content-encoding"] == "gzip"
        r, _ = await fetch(client, "/text", "zstd")
        assert "content-encoding" not in r.headers
        r, _ = await fetch(client, "/text", "gzip;q=0.5, br")
        assert r.headers["content-encoding"] == "br"


def test_zstd_and_brotli_are_offered_first_when_installed() -> None:
    assert AVAILABLE_ENCODINGS == ("zstd", "br", "gzip")


# -- what is left alone ------------------------------------------------------------------------


async def test_bodies_under_min_size_are_sent_as_they_are() -> None:
    async with text_app().test_client() as client:
        r, sent = await fetch(client, "/text?size=499", "gzip")
        assert "content-encoding" not in r.headers
        assert "vary" not in r.headers  # small whatever the client accepts
        assert sent == b"x" * 499
        r, sent = await fetch(client, "/text?size=500", "gzip")
        assert r.headers["content-encoding"] == "gzip"
        assert decode("gzip", sent) == b"x" * 500
    async with text_app(min_size=0).test_client() as client:
        r, sent = await fetch(client, "/text?size=1", "gzip")
        assert decode(r.headers["content-encoding"], sent) == b"x"


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/javascript", True),
        ("image/svg+xml", True),
        ("text/event-stream", True),
        ("image/png", False),
        ("image/jpeg", False),
        ("video/mp4", False),
        ("audio/mpeg", False),
        ("application/zip", False),
        ("application/gzip", False),
        ("application/epub+zip", False),
        ("font/woff2", False),
        ("application/octet-stream", False),
    ],
)
async def test_already_compressed_types_are_skipped(content_type: str, compressed: bool) -> None:
    async with text_app().test_client() as client:
        r, sent = await fetch(client, f"/typed?type={quote(content_type)}", "gzip")
    assert ("content-encoding" in r.headers) is compressed
    assert ("vary" in r.headers) is compressed
    assert decode(r.headers.get("content-encoding"), sent) == BODY.encode()


def test_is_compressible() -> None:
    assert is_compressible("text/css")
    assert is_compressible("application/wasm")
    assert not is_compressible("image/webp")
    assert not is_compressible("application/x-7z-compressed")


async def test_a_predicate_chooses_the_types() -> None:
    app = text_app(compressible=lambda t: t != "text/plain" and is_compressible(t))
    async with app.test_client() as client:
        r, _ = await fetch(client, "/typed?type=text/plain", "gzip")
        assert "content-encoding" not in r.headers
        r, _ = await fetch(client, "/typed?type=text/csv", "gzip")
        assert r.headers["content-encoding"] == "gzip"


async def test_a_response_with_a_content_encoding_is_left_alone() -> None:
    app = App("encoded")
    compress(app)
    coded = gzip.compress(BODY.encode())

    @app.get("/")
    async def pre_coded(req: Request) -> HTTPResponse:
        return raw(coded, content_type="text/plain", headers={"Content-Encoding": "gzip"})

    async with app.test_client() as client:
        r, sent = await fetch(client, "/", "br, gzip")
    assert r.headers.get_list("content-encoding") == ["gzip"]
    assert sent == coded
    assert "vary" not in r.headers


async def test_no_transform_is_respected() -> None:
    async with text_app().test_client() as client:
        r, sent = await fetch(client, "/headers?Cache-Control=public, no-transform", "gzip")
    assert "content-encoding" not in r.headers
    assert sent == BODY.encode()


async def test_bodiless_statuses_are_left_alone() -> None:
    async with text_app().test_client() as client:
        r, sent = await fetch(client, "/empty", "gzip")
    assert (r.status_code, sent) == (204, b"")
    assert "content-encoding" not in r.headers
    assert "vary" not in r.headers


async def test_head_gets_the_head_a_get_gets_without_a_body() -> None:
    async with text_app().test_client() as client:
        get, _ = await fetch(client, "/headers?ETag=%22v1%22", "gzip")
        head, sent = await fetch(client, "/headers?ETag=%22v1%22", "gzip", method="HEAD")
    assert sent == b""
    for name in ("content-encoding", "vary", "etag", "content-type"):
        assert head.headers[name] == get.headers[name]
    assert "content-length" not in head.headers  # only known once the body is compressed


# -- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ("Origin", "Origin, Accept-Encoding"),
        ("origin, ", "origin, Accept-Encoding"),
        ("Accept-Encoding", "Accept-Encoding"),
        ("Origin, accept-encoding", "Origin, accept-encoding"),
        ("*", "*"),
    ],
)
@pytest.mark.parametrize("accept", ["gzip", None])
async def test_vary_is_merged_never_repeated(vary: str, expected: str, accept: str | None) -> None:
    async with text_app().test_client() as client:
        r, _ = await fetch(client, f"/headers?Vary={vary}", accept)
    assert r.headers.get_list("vary") == [expected]


async def test_a_strong_etag_turns_weak_when_compressed_only() -> None:
    async with text_app().test_client() as client:
        r, _ = await fetch(client, "/headers?ETag=%22v1%22", "gzip")
        assert r.headers["etag"] == 'W/"v1"'
        r, _ = await fetch(client, "/headers?ETag=W/%22v1%22", "gzip")
        assert r.headers["etag"] == 'W/"v1"'
        r, _ = await fetch(client, "/headers?ETag=%22v1%22", None)
        assert r.headers["etag"] == '"v1"'


async def test_a_content_length_set_by_the_handler_is_corrected() -> None:
    app = App("lengths")
    compress(app)

    @app.get("/buffered")
    async def buffered(req: Request) -> HTTPResponse:
        return text(BODY, headers={"Content-Length": str(len(BODY))})

    @app.get("/streamed")
    async def streamed(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write(BODY)

        return stream(body, headers={"Content-Length": str(len(BODY))})

    async with app.test_client() as client:
        r, sent = await fetch(client, "/buffered", "br")
        assert r.headers.get_list("content-length") == [str(len(sent))]
        r, sent = await fetch(client, "/streamed", "br")
        assert "content-length" not in r.headers
        assert decode("br", sent) == BODY.encode()


async def test_response_middleware_output_is_what_gets_compressed() -> None:
    app = text_app()

    @app.on_response
    async def footer(req: Request, response: BaseHTTPResponse) -> None:
        if isinstance(response, HTTPResponse):
            response.body += b"-- footer\n"
            response.headers["X-Footer"] = "yes"

    async with app.test_client() as client:
        r, sent = await fetch(client, "/text", "zstd")
    assert decode("zstd", sent) == BODY.encode() + b"-- footer\n"
    assert r.headers["x-footer"] == "yes"


async def test_a_blueprint_compresses_its_routes_only_and_never_twice() -> None:
    app = App("scoped")
    bp = Blueprint("bp", url_prefix="/bp")
    compress(bp)

    @app.get("/plain")
    async def plain(req: Request) -> HTTPResponse:
        return text(BODY)

    @bp.get("/coded")
    async def coded(req: Request) -> HTTPResponse:
        return text(BODY)

    app.blueprint(bp)
    async with app.test_client() as client:
        r, _ = await fetch(client, "/plain", "gzip")
        assert "content-encoding" not in r.headers
        r, sent = await fetch(client, "/bp/coded", "gzip")
        assert decode("gzip", sent) == BODY.encode()
        compress(app)  # now on the app as well: still compressed once
        r, sent = await fetch(client, "/bp/coded", "gzip")
        assert decode("gzip", sent) == BODY.encode()
        r, sent = await fetch(client, "/plain", "gzip")
        assert decode("gzip", sent) == BODY.encode()


# -- files --------------------------------------------------------------------------------------


BIG_TEXT = b"".join(b"line %d of a large text file\n" % i for i in range(200_000))  # 6 MB


@pytest.fixture
def big_text(tmp_path: Path) -> Path:
    path = tmp_path / "big.txt"
    path.write_bytes(BIG_TEXT)
    return path


async def test_a_large_file_stream_is_compressed_as_it_is_read(big_text: Path) -> None:
    app = App("files")
    compress(app)

    @app.get("/big")
    async def big(req: Request) -> BaseHTTPResponse:
        return await file_stream(big_text)

    async with app.test_client() as client:
        r, sent = await fetch(client, "/big", "gzip")
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["transfer-encoding"] == "chunked"  # streamed, never held whole
    assert "accept-ranges" not in r.headers  # ranges of a coded body are not served
    assert r.headers["etag"].startswith('W/"')
    assert decode("gzip", sent) == BIG_TEXT


async def test_range_requests_get_the_file_uncoded(big_text: Path) -> None:
    app = App("ranges")
    compress(app)

    @app.get("/big")
    async def big(req: Request) -> BaseHTTPResponse:
        return await file(big_text)

    async with app.test_client() as client:
        r, sent = await fetch(client, "/big", "gzip", headers={"Range": "bytes=0-99"})
        assert (r.status_code, sent) == (206, BIG_TEXT[:100])
        assert "content-encoding" not in r.headers
        # Several ranges are answered with the whole file: still uncoded, so offsets hold.
        r, sent = await fetch(client, "/big", "gzip", headers={"Range": "bytes=0-1,5-6"})
        assert (r.status_code, sent) == (200, BIG_TEXT)
        assert "content-encoding" not in r.headers
        assert r.headers["accept-ranges"] == "bytes"


async def test_a_304_for_a_coded_copy_names_the_weak_tag_it_revalidates(big_text: Path) -> None:
    app = App("revalidate")
    compress(app)

    @app.get("/big")
    async def big(req: Request) -> BaseHTTPResponse:
        return await file(big_text)

    async with app.test_client() as client:
        coded, _ = await fetch(client, "/big", "gzip")
        plain, _ = await fetch(client, "/big", None)
        weak, strong = coded.headers["etag"], plain.headers["etag"]
        assert weak == "W/" + strong
        r, sent = await fetch(client, "/big", "gzip", headers={"If-None-Match": weak})
        assert (r.status_code, sent) == (304, b"")
        assert r.headers["etag"] == weak
        assert r.headers["vary"] == "Accept-Encoding"
        assert "content-encoding" not in r.headers
        r, _ = await fetch(client, "/big", None, headers={"If-None-Match": strong})
        assert (r.status_code, r.headers["etag"]) == (304, strong)


# -- streaming: flush and backpressure -------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("how", ["stream", "respond"])
async def test_each_compressed_write_reaches_the_client_before_the_next(
    coding: str, how: str
) -> None:
    app = App("flush")
    compress(app)
    steps = [trio.Event() for _ in range(3)]

    async def produce(write: Callable[[str], Any]) -> None:
        for number, step in enumerate(steps):
            await write(f"data: event {number}\n\n")
            await step.wait()  # the next write waits until the client has read this one

    @app.get("/stream")
    async def streamed(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await produce(response.write)

        return stream(body, content_type="text/event-stream")

    @app.get("/respond")
    async def responded(req: Request) -> None:
        response = await req.respond(content_type="text/event-stream")
        await produce(response.send)

    async with running(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            headers = {"Accept-Encoding": coding}
            async with client.stream("GET", f"/{how}", headers=headers) as r:
                assert r.headers["content-encoding"] == coding
                pieces = r.aiter_bytes()
                for number, step in enumerate(steps):
                    expected = f"data: event {number}\n\n".encode()
                    got = b""
                    while len(got) < len(expected):
                        got += await anext(pieces)
                    assert got == expected
                    step.set()
                assert [rest async for rest in pieces] == []


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_compressed_write_waits_while_the_client_is_not_reading(coding: str) -> None:
    app = App("slow-reader")
    compress(app)
    written = 0
    finished = trio.Event()

    @app.get("/firehose")
    async def firehose(req: Request) -> StreamingHTTPResponse:
        async def produce(response: StreamingHTTPResponse) -> None:
            nonlocal written
            try:
                while True:
                    # Random hex: compresses about 2:1, so the socket fills. 32 KiB keeps
                    # compression on the event loop: a blocked task is blocked on the write.
                    chunk = os.urandom(16 * 1024).hex()
                    await response.write(chunk)
                    written += len(chunk)
            finally:
                finished.set()

        return stream(produce, content_type="text/plain")

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            get = request("GET", "/firehose", [("Accept-Encoding", coding)])
            await client.send(get, h11.EndOfMessage())
            head = await client.next_event()
            assert isinstance(head, h11.Response)
            assert (b"content-encoding", coding.encode()) in head.headers
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            stalled_at = written
            assert stalled_at < 40 * MiB, stalled_at
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            assert written == stalled_at
            assert not finished.is_set()
            await client.aclose()
            await finished.wait()


# -- precompressed static files ----------------------------------------------------------------

SCRIPT = b"export function greet(name) { return `hello ${name}`; }\n" * 40


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    root = tmp_path / "assets"
    root.mkdir()
    (root / "app.js").write_bytes(SCRIPT)
    (root / "app.js.gz").write_bytes(gzip.compress(SCRIPT, mtime=0))
    (root / "app.js.br").write_bytes(brotli.compress(SCRIPT, quality=11))
    (root / "style.css").write_bytes(b"body { color: black; }\n" * 40)  # no sibling
    (root / "logo.png").write_bytes(b"\x89PNG" + b"\0" * 2000)
    (root / "logo.png.gz").write_bytes(b"never served")
    return root


def static_app(root: Path, **options: Any) -> App:
    app = App("assets")
    app.static("/s", root, use_content_range=True, **options)
    return app


async def test_a_precompressed_sibling_is_served_when_accepted(assets: Path) -> None:
    async with static_app(assets).test_client() as client:
        original, sent = await fetch(client, "/s/app.js", None)
        assert sent == SCRIPT
        assert "content-encoding" not in original.headers
        assert original.headers["vary"] == "Accept-Encoding"
        for accept, coding, suffix in [("br, gzip", "br", ".br"), ("gzip", "gzip", ".gz")]:
            r, sent = await fetch(client, "/s/app.js", accept)
            sibling = (assets / ("app.js" + suffix)).read_bytes()
            assert sent == sibling
            assert r.headers["content-encoding"] == coding
            assert r.headers["content-type"] == original.headers["content-type"]
            assert r.headers["vary"] == "Accept-Encoding"
            assert r.headers["content-length"] == str(len(sibling))
            assert r.headers["etag"] != original.headers["etag"]  # another representation
            assert not r.headers["etag"].startswith("W/")
        # No .zst sibling: the original.
        r, sent = await fetch(client, "/s/app.js", "zstd")
        assert (sent, r.headers.get("content-encoding")) == (SCRIPT, None)


async def test_conditional_range_and_head_requests_use_the_sibling_sent(assets: Path) -> None:
    sibling = (assets / "app.js.br").read_bytes()
    async with static_app(assets).test_client() as client:
        r, _ = await fetch(client, "/s/app.js", "br")
        tag = r.headers["etag"]
        r, sent = await fetch(client, "/s/app.js", "br", headers={"If-None-Match": tag})
        assert (r.status_code, sent, r.headers["etag"]) == (304, b"", tag)
        assert r.headers["vary"] == "Accept-Encoding"
        r, sent = await fetch(client, "/s/app.js", "br", headers={"Range": "bytes=0-9"})
        assert (r.status_code, sent) == (206, sibling[:10])
        assert r.headers["content-encoding"] == "br"
        assert r.headers["content-range"] == f"bytes 0-9/{len(sibling)}"
        r, sent = await fetch(client, "/s/app.js", None, headers={"Range": "bytes=0-9"})
        assert (r.status_code, sent) == (206, SCRIPT[:10])
        r, sent = await fetch(client, "/s/app.js", "br", method="HEAD")
        assert (sent, r.headers["content-length"]) == (b"", str(len(sibling)))
        assert r.headers["content-encoding"] == "br"


async def test_siblings_only_for_compressible_types_and_only_when_enabled(assets: Path) -> None:
    async with static_app(assets).test_client() as client:
        r, sent = await fetch(client, "/s/logo.png", "gzip")
        assert sent.startswith(b"\x89PNG")
        assert "content-encoding" not in r.headers
        assert "vary" not in r.headers
    async with static_app(assets, precompressed=False).test_client() as client:
        r, sent = await fetch(client, "/s/app.js", "br, gzip")
        assert (sent, r.headers.get("content-encoding")) == (SCRIPT, None)
        assert "vary" not in r.headers


async def test_a_sibling_symlink_out_of_the_root_is_not_followed(
    assets: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.gz"
    outside.write_bytes(b"secret")
    (assets / "style.css.gz").symlink_to(outside)
    async with static_app(assets).test_client() as client:
        r, sent = await fetch(client, "/s/style.css", "gzip")
    assert sent == (assets / "style.css").read_bytes()
    assert "content-encoding" not in r.headers


async def test_with_compress_siblings_are_sent_as_they_are_and_others_compressed(
    assets: Path,
) -> None:
    app = static_app(assets)
    compress(app)
    async with app.test_client() as client:
        r, sent = await fetch(client, "/s/app.js", "gzip")
        assert sent == (assets / "app.js.gz").read_bytes()
        assert r.headers.get_list("vary") == ["Accept-Encoding"]
        r, sent = await fetch(client, "/s/style.css", "gzip")
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers.get_list("vary") == ["Accept-Encoding"]
        assert decode("gzip", sent) == (assets / "style.css").read_bytes()


# -- ETags ---------------------------------------------------------------------------------------


def etag_app() -> App:
    app = App("etags")

    @app.get("/report", etag=True)
    async def report(req: Request) -> HTTPResponse:
        response = json({"rows": list(range(int(req.args.get("n", "100"))))})
        response.add_cookie("seen", "yes")
        return response

    @app.get("/own", etag=True)
    async def own(req: Request) -> HTTPResponse:
        return text("mine", headers={"ETag": '"v7"'})

    @app.get("/untagged")
    async def untagged(req: Request) -> HTTPResponse:
        return text("no tag")

    @app.get("/streamed", etag=True)
    async def streamed(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write("streamed")

        return stream(body)

    @app.route("/posted", methods=["POST"], etag=True)
    async def posted(req: Request) -> HTTPResponse:
        return text("posted")

    return app


async def test_etag_true_tags_the_body_and_answers_304() -> None:
    async with etag_app().test_client() as client:
        r = await client.get("/report")
        tag = r.headers["etag"]
        assert tag.startswith('"')
        assert tag.endswith('"')
        assert (await client.get("/report")).headers["etag"] == tag  # same body, same tag
        assert (await client.get("/report?n=99")).headers["etag"] != tag
        for sent in [tag, "W/" + tag, f'"other", {tag}', "*"]:
            r = await client.get("/report", headers={"If-None-Match": sent})
            assert (r.status_code, r.content, r.headers["etag"]) == (304, b"", tag), sent
            assert "content-type" not in r.headers
            assert "content-length" not in r.headers
            assert "seen=yes" in r.headers["set-cookie"]  # not a body header: kept
        r = await client.get("/report", headers={"If-None-Match": '"other"'})
        assert (r.status_code, r.json()) == (200, {"rows": list(range(100))})
        r = await client.head("/report", headers={"If-None-Match": tag})
        assert r.status_code == 304
        r = await client.head("/report")
        assert (r.status_code, r.headers["etag"]) == (200, tag)


async def test_etag_true_keeps_a_handlers_own_tag_and_skips_the_rest() -> None:
    async with etag_app().test_client() as client:
        r = await client.get("/own", headers={"If-None-Match": 'W/"v7"'})
        assert (r.status_code, r.headers["etag"]) == (304, '"v7"')
        assert "etag" not in (await client.get("/untagged")).headers
        r = await client.get("/streamed", headers={"If-None-Match": "*"})
        assert (r.status_code, r.text) == (200, "streamed")
        assert "etag" not in r.headers
        r = await client.post("/posted", headers={"If-None-Match": "*"})
        assert (r.status_code, r.text) == (200, "posted")
        assert "etag" not in r.headers


async def test_etag_middleware_tags_every_route_of_its_blueprint() -> None:
    app = App("all-tagged")
    bp = Blueprint("bp", url_prefix="/bp")
    etag(bp)

    @bp.get("/a")
    async def a(req: Request) -> HTTPResponse:
        return text("a")

    @app.get("/b")
    async def b(req: Request) -> HTTPResponse:
        return text("b")

    app.blueprint(bp)
    async with app.test_client() as client:
        tag = (await client.get("/bp/a")).headers["etag"]
        r = await client.get("/bp/a", headers={"If-None-Match": tag})
        assert r.status_code == 304
        assert "etag" not in (await client.get("/b")).headers


async def test_etags_and_compression_together() -> None:
    app = etag_app()
    compress(app)
    async with app.test_client() as client:
        r, sent = await fetch(client, "/report?n=300", "gzip")
        weak = r.headers["etag"]
        assert weak.startswith('W/"')
        rows = ",".join(map(str, range(300))).encode()
        assert decode("gzip", sent) == b'{"rows":[' + rows + b"]}"
        r, sent = await fetch(client, "/report?n=300", "gzip", headers={"If-None-Match": weak})
        assert (r.status_code, sent, r.headers["etag"]) == (304, b"", weak)
        assert r.headers["vary"] == "Accept-Encoding"


def test_etag_route_option_errors() -> None:
    app = App("bad-etag")

    async def handler(req: Request) -> HTTPResponse:
        return text("x")

    with pytest.raises(TypeError, match="etag must be True or False, not 'yes'"):
        app.get("/a", etag="yes")
    with pytest.raises(TypeError, match="do not pass ctx_etag as well"):
        app.get("/a", etag=True, ctx_etag=1)
    with pytest.raises(TypeError, match="do not pass ctx_etag as well"):
        app.add_route(handler, "/b", etag=True, ctx_etag=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'etag'"):
        app.websocket("/ws", etag=True)


# -- registration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"encodings": "gzip"}, TypeError, "encodings must be a list of names"),
        ({"encodings": ["deflate"]}, ValueError, "unknown encoding 'deflate'"),
        ({"encodings": []}, ValueError, "encodings is empty"),
        ({"encodings": ["gzip", "gzip"]}, ValueError, "lists a coding twice"),
        ({"min_size": -1}, ValueError, "min_size must be an int of at least 0, got -1"),
        ({"gzip_level": 10}, ValueError, "gzip_level must be an int from 1 to 9, got 10"),
        ({"brotli_quality": 12}, ValueError, "brotli_quality must be an int from 0 to 11"),
        ({"zstd_level": 0}, ValueError, "zstd_level must be an int from 1 to 22, got 0"),
        ({"compressible": "text/*"}, TypeError, "compressible must be a function"),
    ],
)
def test_compress_refuses_bad_options(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        compress(App("bad"), **options)


def test_compress_and_etag_need_an_app_or_blueprint() -> None:
    with pytest.raises(TypeError, match="compress\\(\\) takes an App"):
        compress(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="etag\\(\\) takes an App"):
        etag("app")  # type: ignore[arg-type]


# -- the example -------------------------------------------------------------------------------


async def test_the_example_app(tmp_path: Path) -> None:
    root = tmp_path / "assets"
    shutil.copytree(example.ASSETS, root, ignore=shutil.ignore_patterns("*.gz", "*.br", "*.zst"))
    written = example.precompress(root)
    assert sorted(p.name for p in written) == ["app.js.br", "app.js.gz", "app.js.zst"]
    script = (root / "app.js").read_bytes()
    app = example.create_app(root)
    async with running(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            for coding in CODINGS:
                r = await client.get("/api/items", headers={"Accept-Encoding": coding})
                assert r.headers["content-encoding"] == coding
                assert len(r.json()["items"]) == 200
                tag = r.headers["etag"]
                again = await client.get(
                    "/api/items", headers={"Accept-Encoding": coding, "If-None-Match": tag}
                )
                assert (again.status_code, again.content) == (304, b"")
                r = await client.get("/assets/app.js", headers={"Accept-Encoding": coding})
                assert r.headers["content-encoding"] == coding
                assert r.content == script
                assert r.headers["content-length"] == str(
                    (root / ("app.js" + {"gzip": ".gz", "br": ".br", "zstd": ".zst"}[coding]))
                    .stat()
                    .st_size
                )
            r = await client.get("/ticks?count=3&every=0", headers={"Accept-Encoding": "gzip"})
            assert (r.headers["content-encoding"], r.text) == ("gzip", "tick 0\ntick 1\ntick 2\n")
            r = await client.get("/", headers={"Accept-Encoding": "br"})
            assert '<script src="/assets/app.js"' in r.text
