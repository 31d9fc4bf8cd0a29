"""Compressed answers, ETags and precompressed static files (docs/compression.md).

Run it with ``python examples/compression.py``: it first writes ``.gz`` (and ``.br``/``.zst``
when brotli/zstandard are installed) next to the files in ``examples/assets``, as a build step
would, then serves on port 8000. Try::

    curl -si -H 'Accept-Encoding: gzip' http://127.0.0.1:8000/api/items | head -8
    curl -si -H 'If-None-Match: W/"<the tag it sent>"' http://127.0.0.1:8000/api/items
    curl -s --compressed -N http://127.0.0.1:8000/ticks          # one line a second
    curl -sI -H 'Accept-Encoding: br, gzip' http://127.0.0.1:8000/assets/app.js
"""

from __future__ import annotations

import gzip
from pathlib import Path

import trio

from trioweb import App
from trioweb.compression import compress
from trioweb.response import html, json, stream

ASSETS = Path(__file__).with_name("assets")
# What a build step precompresses: text that browsers ask for again and again.
TEXT_SUFFIXES = (".js", ".css", ".html", ".svg", ".json", ".txt")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Items</title>
<script src="/assets/app.js" defer></script></head>
<body><h1>Items</h1><ul id="items"></ul><pre id="ticks"></pre></body></html>
"""


def precompress(directory: Path) -> list[Path]:
    """Write the best-compressed siblings of the text files in ``directory`` (a build step).

    gzip always; brotli and zstd when their packages are installed. Each sibling is
    compressed once, at the slowest, smallest level, and served as it is ever after.

    Returns:
        The files written.
    """
    written: list[Path] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        data = path.read_bytes()
        siblings = {".gz": gzip.compress(data, compresslevel=9, mtime=0)}
        try:
            import brotli

            siblings[".br"] = brotli.compress(data, quality=11)
        except ImportError:
            pass
        try:
            import zstandard

            siblings[".zst"] = zstandard.ZstdCompressor(level=19).compress(data)
        except ImportError:
            pass
        for suffix, compressed in siblings.items():
            target = path.with_name(path.name + suffix)
            target.write_bytes(compressed)
            written.append(target)
    return written


def create_app(assets: Path = ASSETS) -> App:
    """The example app, serving the static files in ``assets``."""
    app = App("compression_example")
    # zstd, br (when installed) and gzip, as each client's Accept-Encoding asks.
    compress(app)

    @app.get("/")
    async def page(request):
        return html(PAGE)

    # etag=True: a hash of the body as ETag; a client that sends it back gets a 304.
    @app.get("/api/items", etag=True)
    async def items(request):
        return json(
            {"items": [{"id": i, "name": f"item {i}", "tags": ["new", "blue"]} for i in range(200)]}
        )

    # A stream is compressed write by write: every tick reaches the client when written.
    @app.get("/ticks")
    async def ticks(request):
        count = int(request.args.get("count", "5"))
        every = float(request.args.get("every", "1"))

        async def tick(response):
            for number in range(count):
                await response.write(f"tick {number}\n")
                if number + 1 < count:
                    await trio.sleep(every)

        return stream(tick, content_type="text/plain; charset=utf-8")

    # A request for app.js that accepts br gets app.js.br, if the build step wrote it.
    app.static("/assets", assets)
    return app


app = create_app()

if __name__ == "__main__":
    precompress(ASSETS)
    app.run(host="127.0.0.1", port=8000)
