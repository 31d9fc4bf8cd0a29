"""``app.static`` / ``blueprint.static``: serving a directory or a file, and never more.

Traversal attempts are sent as raw bytes through the test client's in-memory connection
(``client.listener.connect()``), because httpx would normalise ``..`` away; a request
middleware records the path the server received, so each test proves the dangerous bytes
arrived. The socket tests follow ``tests/netutil.py`` (port 0, ``fail_after``, the test closes
its client first).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio

from trioweb import App, Blueprint
from trioweb.exceptions import NotFound
from trioweb.files import resolve_static_path
from trioweb.request import Request
from trioweb.response import BaseHTTPResponse, file, text
from trioweb.static import resolve_static_target
from trioweb.testing import TestClient

from .netutil import TIMEOUT, read_all, running

SECRET = b"TOP-SECRET"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``tmp/public`` to serve, with ``tmp/secret.txt`` and ``tmp/private/`` next to it."""
    public = tmp_path / "public"
    (public / "sub").mkdir(parents=True)
    (public / "bare").mkdir()
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "a.txt").write_text("alpha")
    (public / "style.css").write_text("body{}")
    (public / "app.js").write_text("let x;")
    (public / "data.json").write_text("{}")
    (public / "pixel.png").write_bytes(b"\x89PNG")
    (public / "with space.txt").write_text("space")
    (public / "café.txt").write_text("coffee")
    (public / "sub" / "b.txt").write_text("beta")
    (public / "sub" / "index.htm").write_text("sub index")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.txt").write_bytes(SECRET)
    (public / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (public / "escape-dir").symlink_to(tmp_path / "private")
    (public / "inside.txt").symlink_to(public / "a.txt")
    (public / "inside-dir").symlink_to(public / "sub")
    return public


@pytest.fixture
def real_root(root: Path) -> str:
    """``root`` as `resolve_static_path` wants it: with its symlinks resolved."""
    return os.path.realpath(root)


def static_app(root: Path, **options: Any) -> tuple[App, list[str]]:
    """An app serving ``root`` at /static, and the raw paths its requests arrived with."""
    app = App("static")
    app.static("/static", root, **options)
    seen: list[str] = []

    @app.on_request
    async def record(request: Request) -> None:
        seen.append(request.raw_path)

    return app, seen


async def raw_get(client: TestClient, target: bytes) -> tuple[int, bytes]:
    """Send ``GET target`` exactly as given; the status and everything after the head."""
    with trio.fail_after(TIMEOUT):
        stream = await client.listener.connect()
        await stream.send_all(
            b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        data = await read_all(stream)
        await stream.aclose()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# --- serving files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/static/a.txt", b"alpha", "text/plain; charset=utf-8"),
        ("/static/style.css", b"body{}", "text/css; charset=utf-8"),
        ("/static/app.js", b"let x;", "text/javascript; charset=utf-8"),
        ("/static/data.json", b"{}", "application/json"),
        ("/static/pixel.png", b"\x89PNG", "image/png"),
        ("/static/index.html", b"<h1>home</h1>", "text/html; charset=utf-8"),
        ("/static/sub/b.txt", b"beta", "text/plain; charset=utf-8"),
        ("/static/with%20space.txt", b"space", "text/plain; charset=utf-8"),
        ("/static/caf%C3%A9.txt", b"coffee", "text/plain; charset=utf-8"),
        ("/static/%61.txt", b"alpha", "text/plain; charset=utf-8"),  # encoded "a"
        ("/static/inside.txt", b"alpha", "text/plain; charset=utf-8"),  # symlink inside
        ("/static/inside-dir/b.txt", b"beta", "text/plain; charset=utf-8"),
    ],
)
async def test_files_are_served_with_their_type(
    root: Path, path: str, body: bytes, content_type: str
) -> None:
    app, _ = static_app(root)
    async with app.test_client() as client:
        r = await client.get(path)
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-type"] == content_type
    assert r.headers["content-length"] == str(len(body))
    assert "accept-ranges" not in r.headers  # ranges are opt-in, as in Sanic
    assert "etag" in r.headers
    assert "last-modified" in r.headers


async def test_a_missing_file_is_404(root: Path) -> None:
    app, _ = static_app(root)
    async with app.test_client() as client:
        assert (await client.get("/static/nope.txt")).status_code == 404
        assert (await client.get("/static/a.txt/more")).status_code == 404


async def test_only_get_and_head_are_routed(root: Path) -> None:
    app, _ = static_app(root)
    async with app.test_client() as client:
        r = await client.post("/static/a.txt")
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, HEAD"
        r = await client.head("/static/a.txt")
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "5")


async def test_static_files_answer_conditional_and_range_requests(root: Path) -> None:
    app, _ = static_app(root, max_age=600, use_content_range=True)
    async with app.test_client() as client:
        r = await client.get("/static/a.txt")
        assert r.headers["cache-control"] == "public, max-age=600"
        assert r.headers["accept-ranges"] == "bytes"
        etag = r.headers["etag"]
        r = await client.get("/static/a.txt", headers={"If-None-Match": etag})
        assert (r.status_code, r.headers["cache-control"]) == (304, "public, max-age=600")
        r = await client.get("/static/a.txt", headers={"Range": "bytes=1-3"})
        assert (r.status_code, r.content, r.headers["content-range"]) == (
            206,
            b"lph",
            "bytes 1-3/5",
        )
        r = await client.get("/static/a.txt", headers={"Range": "bytes=9-"})
        assert (r.status_code, r.headers["content-range"]) == (416, "bytes */5")


async def test_files_are_sent_in_chunk_size_pieces(root: Path) -> None:
    (root / "big.bin").write_bytes(os.urandom(100_000))
    app, _ = static_app(root, chunk_size=1000)
    async with app.test_client() as client:
        r = await client.get("/static/big.bin")
    assert r.content == (root / "big.bin").read_bytes()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
async def test_a_fifo_is_404_not_a_hang(root: Path) -> None:
    os.mkfifo(root / "pipe")
    app, _ = static_app(root)
    async with app.test_client() as client:
        with trio.fail_after(TIMEOUT):
            assert (await client.get("/static/pipe")).status_code == 404


# --- directories and index files ------------------------------------------------------------------


async def test_the_index_is_served_for_the_root_and_sub_directories(root: Path) -> None:
    app, _ = static_app(root, index=["index.html", "index.htm"])
    async with app.test_client() as client:
        for path in ("/static", "/static/"):
            r = await client.get(path)
            assert (r.status_code, r.text) == (200, "<h1>home</h1>")
            assert r.headers["content-type"] == "text/html; charset=utf-8"
        for path in ("/static/sub", "/static/sub/"):
            assert (await client.get(path)).text == "sub index"  # the second name in the list
        assert (await client.get("/static/bare/")).status_code == 404


async def test_a_single_index_name_may_be_a_string(root: Path) -> None:
    app, _ = static_app(root, index="index.htm")
    async with app.test_client() as client:
        assert (await client.get("/static/sub/")).text == "sub index"
        assert (await client.get("/static/")).status_code == 404  # no index.htm at the top


async def test_without_index_a_directory_is_404(root: Path) -> None:
    app, _ = static_app(root)
    async with app.test_client() as client:
        for path in ("/static", "/static/", "/static/sub", "/static/sub/"):
            assert (await client.get(path)).status_code == 404, path


async def test_strict_slashes_still_serve_a_directory_index(root: Path) -> None:
    app, _ = static_app(root, index="index.htm", strict_slashes=True)
    async with app.test_client() as client:
        assert (await client.get("/static/sub/")).text == "sub index"


async def test_an_index_that_is_a_symlink_out_of_the_root_is_404(root: Path) -> None:
    (root / "bare" / "index.html").symlink_to(root.parent / "secret.txt")
    app, _ = static_app(root, index="index.html")
    async with app.test_client() as client:
        r = await client.get("/static/bare/")
    assert r.status_code == 404
    assert SECRET not in r.content


# --- traversal: always 404, never the file --------------------------------------------------------


TRAVERSALS = [
    b"/static/../secret.txt",
    b"/static/sub/../../secret.txt",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E/secret.txt",
    b"/static/.%2e/secret.txt",
    b"/static/..%2fsecret.txt",
    b"/static/..%2Fsecret.txt",
    b"/static/%2e%2e%2fsecret.txt",
    b"/static/sub%2f..%2f..%2fsecret.txt",
    b"/static/..\\secret.txt",
    b"/static/..%5csecret.txt",
    b"/static/..%5Csecret.txt",
    b"/static/%252e%252e/secret.txt",  # double-encoded: a file literally named "%2e%2e"
    b"/static/a.txt%00",
    b"/static/a.txt%00.png",
    b"/static/%00../secret.txt",
    b"/static//etc/passwd",
    b"/static/%2fetc%2fpasswd",
    b"/static/%2Fetc%2Fpasswd",
    b"/static/escape.txt",  # a symlink inside the root to a file outside
    b"/static/escape-dir/key.txt",  # a symlinked directory leading outside
    b"/static/./a.txt/../../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
async def test_traversal_attempts_are_404(root: Path, target: bytes) -> None:
    app, seen = static_app(root, index="index.html")
    async with app.test_client() as client:
        status, body = await raw_get(client, target)
    assert seen == [target.decode()]  # the dangerous bytes reached the server unchanged
    assert status == 404
    assert SECRET not in body
    assert b"root:" not in body


async def test_the_absolute_path_of_a_file_outside_is_404(root: Path) -> None:
    secret = str(root.parent / "secret.txt")
    app, seen = static_app(root)
    async with app.test_client() as client:
        for target in ("/static/" + quote(secret, safe=""), "/static" + secret):
            status, body = await raw_get(client, target.encode())
            assert (status, SECRET in body) == (404, False), target
    assert len(seen) == 2


async def test_httpx_urls_with_raw_paths_are_404_too(root: Path) -> None:
    app, seen = static_app(root)
    async with app.test_client() as client:
        for target in ("/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt"):
            r = await client.get(httpx.URL(target))
            assert r.status_code == 404
    assert seen == ["/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt"]


async def test_a_symlinked_root_is_served_through_its_target(root: Path) -> None:
    link = root.parent / "public-link"
    link.symlink_to(root, target_is_directory=True)
    app, _ = static_app(link)
    async with app.test_client() as client:
        assert (await client.get("/static/a.txt")).text == "alpha"
        status, _ = await raw_get(client, b"/static/escape.txt")
    assert status == 404


@pytest.mark.parametrize(
    "sub_path",
    ["..", "../secret.txt", "/etc/passwd", "a.txt\x00", "..\\secret.txt", "a//b", "./a.txt"],
)
async def test_resolve_static_path_refuses_anything_but_a_plain_relative_path(
    real_root: str, sub_path: str
) -> None:
    with pytest.raises(NotFound):
        await resolve_static_path(real_root, sub_path)


async def test_resolve_static_path_returns_the_real_file(real_root: str) -> None:
    real = real_root
    path, result = await resolve_static_path(real, "inside.txt")
    assert path == os.path.join(real, "a.txt")
    assert result.st_size == 5
    path, _ = await resolve_static_path(real, "", ["missing.html", "index.html"])
    assert path == os.path.join(real, "index.html")


# --- single files, names, blueprints, configuration -----------------------------------------------


async def test_a_single_file_is_served_at_its_uri(root: Path) -> None:
    app = App()
    app.static("/favicon.ico", root / "pixel.png")
    async with app.test_client() as client:
        r = await client.get("/favicon.ico")
        assert (r.status_code, r.content) == (200, b"\x89PNG")
        assert r.headers["content-type"] == "image/png"
        assert (await client.get("/favicon.ico/x")).status_code == 404
        (root / "pixel.png").unlink()  # gone later: 404, not a server error
        assert (await client.get("/favicon.ico")).status_code == 404


async def test_a_single_symlinked_file_keeps_the_type_of_its_name(root: Path) -> None:
    (root / "blob").write_text("x{}")
    (root / "link.css").symlink_to(root / "blob")
    app = App()
    app.static("/site.css", root / "link.css")
    async with app.test_client() as client:
        r = await client.get("/site.css")
    assert (r.text, r.headers["content-type"]) == ("x{}", "text/css; charset=utf-8")


async def test_route_names_and_url_for(root: Path) -> None:
    app = App()
    app.static("/static", root, index="index.html")
    app.static("/assets/img/", root / "sub")
    app.static("/robots.txt", root / "a.txt", name="robots")
    assert app.url_for("static", __file_uri__="sub/b.txt") == "/static/sub/b.txt"
    assert app.url_for("static", __file_uri__="with space.txt") == "/static/with%20space.txt"
    assert app.url_for("static_index") == "/static"
    assert app.url_for("static_assets_img", __file_uri__="b.txt") == "/assets/img/b.txt"
    assert app.url_for("robots") == "/robots.txt"
    async with app.test_client() as client:
        assert (await client.get("/assets/img/b.txt")).text == "beta"
        assert (await client.get("/robots.txt")).text == "alpha"


async def test_blueprint_static_gets_the_prefix_and_name(root: Path) -> None:
    bp = Blueprint("docs", url_prefix="/docs")
    bp.static("/files", root, index="index.html")
    app = App()
    app.blueprint(bp)
    assert app.url_for("docs.static", __file_uri__="a.txt") == "/docs/files/a.txt"
    async with app.test_client() as client:
        assert (await client.get("/docs/files/a.txt")).text == "alpha"
        assert (await client.get("/docs/files/")).text == "<h1>home</h1>"
        assert (await client.get("/files/a.txt")).status_code == 404
        status, body = await raw_get(client, b"/docs/files/%2e%2e/secret.txt")
    assert (status, SECRET in body) == (404, False)


def test_bad_configuration_fails_at_registration(root: Path) -> None:
    app = App()
    with pytest.raises(FileNotFoundError, match="nothing to serve"):
        app.static("/static", root / "missing")
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        app.static("/static", root, chunk_size=0)
    with pytest.raises(ValueError, match="max_age must not be negative"):
        app.static("/static", root, max_age=-5)


# --- Sanic's options ------------------------------------------------------------------------------


async def test_a_range_gets_the_whole_file_unless_use_content_range(root: Path) -> None:
    # Sanic's default: use_content_range=False, so Range is ignored and not advertised.
    app, _ = static_app(root)
    async with app.test_client() as client:
        r = await client.get("/static/a.txt", headers={"Range": "bytes=1-3"})
        assert (r.status_code, r.content) == (200, b"alpha")
        assert "accept-ranges" not in r.headers
        r = await client.get("/static/a.txt", headers={"Range": "bytes=9-"})
        assert (r.status_code, r.content) == (200, b"alpha")  # not even a 416
    app, _ = static_app(root, use_content_range=True)
    async with app.test_client() as client:
        r = await client.get("/static/a.txt", headers={"Range": "bytes=1-3"})
    assert (r.status_code, r.content) == (206, b"lph")


async def test_use_modified_since_false_sends_no_validators_and_never_304(root: Path) -> None:
    app, _ = static_app(root, use_modified_since=False)
    async with app.test_client() as client:
        r = await client.get("/static/a.txt")
        assert "etag" not in r.headers
        assert "last-modified" not in r.headers
        far_future = "Wed, 01 Jan 2059 00:00:00 GMT"
        r = await client.get(
            "/static/a.txt", headers={"If-Modified-Since": far_future, "If-None-Match": "*"}
        )
    assert (r.status_code, r.content) == (200, b"alpha")


async def test_use_modified_since_answers_if_modified_since(root: Path) -> None:
    app, _ = static_app(root)
    async with app.test_client() as client:
        modified = (await client.get("/static/a.txt")).headers["last-modified"]
        r = await client.get("/static/a.txt", headers={"If-Modified-Since": modified})
    assert (r.status_code, r.content) == (304, b"")
    assert "content-type" not in r.headers


async def test_content_type_forces_the_type(root: Path) -> None:
    app, _ = static_app(root, content_type="application/x-custom")
    app.static("/one", root / "style.css", content_type="text/plain")
    async with app.test_client() as client:
        r = await client.get("/static/pixel.png")
        assert (r.headers["content-type"], r.content) == ("application/x-custom", b"\x89PNG")
        assert (await client.get("/one")).headers["content-type"] == "text/plain"


async def test_sanics_positional_order_is_accepted(root: Path) -> None:
    app = App()
    # uri, file_or_directory, pattern, use_modified_since, use_content_range
    app.static("/static", root, r"/?.+", True, True)
    async with app.test_client() as client:
        r = await client.get("/static/a.txt", headers={"Range": "bytes=0-0"})
    assert (r.status_code, r.content) == (206, b"a")


async def test_pattern_limits_what_is_served(root: Path) -> None:
    app, _ = static_app(root, pattern=r"/.*\.txt")
    async with app.test_client() as client:
        assert (await client.get("/static/a.txt")).text == "alpha"
        assert (await client.get("/static/sub/b.txt")).text == "beta"
        assert (await client.get("/static/style.css")).status_code == 404


async def test_stream_large_files_chooses_which_files_are_read_in_pieces(root: Path) -> None:
    (root / "big.bin").write_bytes(b"x" * 200_000)

    async def chunk_sizes(**options: Any) -> dict[str, int | None]:
        app, _ = static_app(root, **options)
        seen: dict[str, int | None] = {}

        @app.on_response
        async def record(request: Request, response: Any) -> None:
            seen[request.path] = response.chunk_size

        async with app.test_client() as client:
            for path in ("/static/a.txt", "/static/big.bin"):
                assert (await client.get(path)).status_code == 200
        return seen

    # False (Sanic's default) still never reads a file larger than one chunk in one go.
    assert await chunk_sizes() == {"/static/a.txt": None, "/static/big.bin": 64 * 1024}
    assert await chunk_sizes(stream_large_files=False, chunk_size=1000) == {
        "/static/a.txt": None,
        "/static/big.bin": 1000,
    }
    # True: from 1 MiB, as in Sanic; an int: from that many bytes.
    assert await chunk_sizes(stream_large_files=True) == {
        "/static/a.txt": None,
        "/static/big.bin": None,
    }
    assert await chunk_sizes(stream_large_files=3, chunk_size=4096) == {
        "/static/a.txt": 4096,
        "/static/big.bin": 4096,
    }
    app, _ = static_app(root, stream_large_files=3, chunk_size=2)
    async with app.test_client() as client:
        assert (await client.get("/static/a.txt")).content == b"alpha"  # in 3 pieces


def test_resource_type_is_checked_at_registration(root: Path) -> None:
    app = App()
    app.static("/d", root, resource_type="dir")
    app.static("/f", root / "a.txt", resource_type="file")
    with pytest.raises(TypeError, match=r"resource_type=.dir., but .* is a file"):
        app.static("/x", root / "a.txt", resource_type="dir")
    with pytest.raises(TypeError, match=r"resource_type=.file., but .* is a directory"):
        app.static("/y", root, resource_type="file")
    with pytest.raises(ValueError, match="resource_type must be 'file', 'dir' or None"):
        app.static("/z", root, resource_type="folder")


def test_bad_sanic_options_fail_at_registration(root: Path) -> None:
    app = App()
    with pytest.raises(ValueError, match="apply=False"):
        app.static("/s", root, apply=False)
    with pytest.raises(ValueError, match="stream_large_files must be"):
        app.static("/s", root, stream_large_files=-1)
    with pytest.raises(ValueError, match="stream_large_files must be"):
        app.static("/s", root, stream_large_files="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a regular expression"):
        app.static("/s", root, pattern="(")
    with pytest.raises(TypeError, match=r"serves a path \(str or os.PathLike\), not int"):
        app.static("/s", 42)  # type: ignore[arg-type]


# --- symlinks leading out of the root -------------------------------------------------------------


@pytest.mark.parametrize(
    ("follow_files", "follow_dirs", "path", "status"),
    [
        (False, False, "/static/escape.txt", 404),
        (True, False, "/static/escape.txt", 200),
        (False, True, "/static/escape.txt", 404),
        (True, True, "/static/escape.txt", 200),
        (False, False, "/static/escape-dir/key.txt", 404),
        (True, False, "/static/escape-dir/key.txt", 404),
        (False, True, "/static/escape-dir/key.txt", 200),
        (True, True, "/static/escape-dir/key.txt", 200),
        (True, True, "/static/inside-dir/b.txt", 200),  # inside: always
        (True, True, "/static/broken", 404),  # broken: never
    ],
)
async def test_external_symlinks_are_served_only_when_allowed(
    root: Path, follow_files: bool, follow_dirs: bool, path: str, status: int
) -> None:
    (root / "broken").symlink_to(root.parent / "nowhere")
    app, _ = static_app(
        root,
        follow_external_symlink_files=follow_files,
        follow_external_symlink_dirs=follow_dirs,
    )
    async with app.test_client() as client:
        r = await client.get(path)
    assert r.status_code == status
    assert (SECRET in r.content) == (status == 200 and "escape" in path)


@pytest.mark.parametrize("target", TRAVERSALS[:-3], ids=[t.decode() for t in TRAVERSALS[:-3]])
async def test_following_external_symlinks_never_opens_traversal(root: Path, target: bytes) -> None:
    app, _ = static_app(root, follow_external_symlink_files=True, follow_external_symlink_dirs=True)
    async with app.test_client() as client:
        status, body = await raw_get(client, target)
    assert (status, SECRET in body) == (404, False)


async def test_a_file_symlink_inside_a_followed_directory_obeys_follow_files(
    root: Path,
) -> None:
    # escape-dir -> tmp/private; inside it, a link to tmp/secret.txt (outside both trees).
    (root.parent / "private" / "further.txt").symlink_to(root.parent / "secret.txt")
    app, _ = static_app(root, follow_external_symlink_dirs=True)
    async with app.test_client() as client:
        assert (await client.get("/static/escape-dir/key.txt")).content == SECRET
        assert (await client.get("/static/escape-dir/further.txt")).status_code == 404


# --- directory listings and handlers --------------------------------------------------------------


def listed_names(page: str) -> list[str]:
    """The link texts of a listing, in order."""
    return re.findall(r'<a href="[^"]*">([^<]*)</a>', page)


async def test_directory_view_lists_a_directory_without_an_index(root: Path) -> None:
    app, _ = static_app(root, directory_view=True)
    async with app.test_client() as client:
        r = await client.get("/static/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        names = listed_names(r.text)
        # Directories first, then files, each sorted; symlinks out of the root are hidden.
        assert names == [
            "bare/",
            "inside-dir/",
            "sub/",
            "a.txt",
            "app.js",
            "café.txt",
            "data.json",
            "index.html",
            "inside.txt",
            "pixel.png",
            "style.css",
            "with space.txt",
        ]
        assert '<a href="./with%20space.txt">' in r.text
        assert '<a href="./caf%C3%A9.txt">' in r.text
        assert "<title>Index of /static/</title>" in r.text
        r = await client.get("/static/sub/")
        assert listed_names(r.text) == ["../", "b.txt", "index.htm"]
        # A file named in the listing is served from the link it gives.
        assert (await client.get("/static/with%20space.txt")).text == "space"


async def test_directory_view_escapes_names(root: Path) -> None:
    (root / "bare" / '<img src=x onerror="alert(1)">&.txt').write_text("x")
    (root / "bare" / "javascript:alert(1)").write_text("x")
    app, _ = static_app(root, directory_view=True)
    async with app.test_client() as client:
        r = await client.get("/static/bare/")
    assert "<img" not in r.text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;.txt" in r.text
    assert 'href="./%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E%26.txt"' in r.text
    assert 'href="./javascript%3Aalert%281%29"' in r.text


async def test_directory_view_redirects_to_the_slashed_url(root: Path) -> None:
    app, _ = static_app(root, directory_view=True)
    async with app.test_client() as client:
        r = await client.get("/static/sub?sort=name")
        assert (r.status_code, r.headers["location"]) == (302, "/static/sub/?sort=name")
        r = await client.get("/static")
        assert (r.status_code, r.headers["location"]) == (302, "/static/")


async def test_directory_view_shows_followed_symlinks_only(root: Path) -> None:
    (root / "broken").symlink_to(root.parent / "nowhere")
    app, _ = static_app(root, directory_view=True)
    async with app.test_client() as client:
        names = listed_names((await client.get("/static/")).text)
    assert not {"escape.txt", "escape-dir/", "broken"} & set(names)
    app, _ = static_app(
        root,
        directory_view=True,
        follow_external_symlink_files=True,
        follow_external_symlink_dirs=True,
    )
    async with app.test_client() as client:
        names = listed_names((await client.get("/static/")).text)
        assert {"escape.txt", "escape-dir/"} <= set(names)
        assert "broken" not in names
        assert listed_names((await client.get("/static/escape-dir/")).text) == [
            "../",
            "key.txt",
        ]


async def test_an_index_wins_over_the_listing(root: Path) -> None:
    app, _ = static_app(root, index="index.htm", directory_view=True)
    async with app.test_client() as client:
        assert (await client.get("/static/sub/")).text == "sub index"
        assert "Index of /static/" in (await client.get("/static/")).text


async def test_a_listing_hides_files_the_pattern_refuses(root: Path) -> None:
    app, _ = static_app(root, directory_view=True, pattern=r".*(\.txt|/sub/?|/)")
    async with app.test_client() as client:
        names = listed_names((await client.get("/static/sub/")).text)
    assert names == ["../", "b.txt"]


class RecordingDirectoryHandler:
    """A Sanic-style directory handler: ``handle(request, path)`` answers directories."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def handle(self, request: Request, path: str) -> BaseHTTPResponse:
        self.paths.append(path)
        return text(f"directory {path}")


async def test_a_directory_handler_answers_directories(root: Path) -> None:
    handler = RecordingDirectoryHandler()
    app, _ = static_app(root, directory_handler=handler)
    async with app.test_client() as client:
        assert (await client.get("/static/sub/")).text == "directory /static/sub/"
        assert (await client.get("/static")).text == "directory /static"
        assert (await client.get("/static/a.txt")).text == "alpha"
        assert (await client.get("/static/escape-dir/")).status_code == 404
    assert handler.paths == ["/static/sub/", "/static"]


def test_a_directory_handler_excludes_index_and_directory_view(root: Path) -> None:
    app = App()
    with pytest.raises(ValueError, match="pass index or directory_view to it"):
        app.static("/s", root, directory_handler=RecordingDirectoryHandler(), index="x")
    with pytest.raises(ValueError, match="pass index or directory_view to it"):
        app.static("/s", root, directory_handler=RecordingDirectoryHandler(), directory_view=True)
    with pytest.raises(TypeError, match=r"async handle\(request, path\)"):
        app.static("/s", root, directory_handler=object())  # type: ignore[arg-type]


async def test_resolve_static_target_reports_directories(real_root: str) -> None:
    target = await resolve_static_target(real_root, "bare")
    assert target.is_dir
    assert target.path == os.path.join(real_root, "bare")
    target = await resolve_static_target(real_root, "sub/", ["index.htm"])
    assert (target.is_dir, target.name) == (False, "index.htm")


@pytest.fixture
def far_future_dir() -> Iterator[Path]:
    """A directory holding ``odd.txt``, modified in the year 36812 (tmpfs keeps such times)."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("needs /dev/shm (tmpfs) for a file time past year 9999")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as name:
        path = Path(name)
        (path / "odd.txt").write_text("odd")
        os.utime(path / "odd.txt", (2**40, 2**40))
        if (path / "odd.txt").stat().st_mtime != 2**40:
            pytest.skip("this file system clamps file times")
        yield path


async def test_a_file_time_past_year_9999_is_not_a_server_error(far_future_dir: Path) -> None:
    app, _ = static_app(far_future_dir, directory_view=True)

    @app.get("/file")
    async def whole(request: Request) -> BaseHTTPResponse:
        return await file(far_future_dir / "odd.txt")

    async with app.test_client() as client:
        for url in ("/static/odd.txt", "/file"):
            r = await client.get(url)
            assert (r.status_code, r.text) == (200, "odd")
            assert "last-modified" not in r.headers  # no date can say it
            assert "etag" in r.headers
        r = await client.get("/static/")
        assert r.status_code == 200
        assert listed_names(r.text) == ["odd.txt"]


# --- through a real socket ------------------------------------------------------------------------


async def test_static_files_and_traversal_over_a_socket(root: Path) -> None:
    app, _ = static_app(root, index="index.html")
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient(base_url=server.url) as client:
                r = await client.get("/static/")
                assert (r.status_code, r.text) == (200, "<h1>home</h1>")
                r = await client.get(httpx.URL("/static/%2e%2e/secret.txt"))
                assert r.status_code == 404
            stream = await trio.open_tcp_stream(server.host, server.port)
            await stream.send_all(
                b"GET /static/../secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            data = await read_all(stream)
            await stream.aclose()
    assert data.startswith(b"HTTP/1.1 404 ")
    assert SECRET not in data
