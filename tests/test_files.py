"""``file`` and ``file_stream`` responses as the client sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from trioweb import App
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, file, file_stream

CONTENT = b"line\n" * 50_000


def file_app(path: Path) -> App:
    app = App("files")

    @app.get("/whole")
    async def whole(req: Request) -> HTTPResponse:
        return await file(path)

    @app.get("/download")
    async def download(req: Request) -> HTTPResponse:
        return await file(path, filename="résumé.txt")

    @app.get("/streamed")
    async def streamed(req: Request) -> StreamingHTTPResponse:
        return await file_stream(path, chunk_size=4096)

    @app.get("/missing")
    async def missing(req: Request) -> HTTPResponse:
        return await file(path.with_name("nope.txt"))

    return app


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(CONTENT)
    return path


async def test_file_sends_the_whole_file_with_a_guessed_type(text_file: Path) -> None:
    async with file_app(text_file).test_client() as client:
        r = await client.get("/whole")
    assert r.status_code == 200
    assert r.content == CONTENT
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-length"] == str(len(CONTENT))


async def test_filename_makes_it_an_attachment(text_file: Path) -> None:
    async with file_app(text_file).test_client() as client:
        r = await client.get("/download")
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"


async def test_file_stream_sends_the_file_in_pieces_with_its_length(text_file: Path) -> None:
    async with file_app(text_file).test_client() as client:
        r = await client.get("/streamed")
    assert r.content == CONTENT
    assert r.headers["content-length"] == str(len(CONTENT))
    assert "transfer-encoding" not in r.headers


async def test_head_on_a_streamed_file_sends_only_the_length(text_file: Path) -> None:
    async with file_app(text_file).test_client() as client:
        r = await client.head("/streamed")
    assert r.content == b""
    assert r.headers["content-length"] == str(len(CONTENT))


async def test_a_missing_file_is_a_server_error(text_file: Path) -> None:
    async with file_app(text_file).test_client() as client:
        r = await client.get("/missing")
    assert r.status_code == 500
    assert "nope.txt" not in r.text


async def test_file_stream_rejects_a_non_positive_chunk_size(text_file: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        await file_stream(text_file, chunk_size=0)
