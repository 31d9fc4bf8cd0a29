"""The app the soak test serves: plain, uploading, downloading and slow routes."""

from __future__ import annotations

import trio

from trioweb import App, Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text

app = App("soak", env_prefix=None)
app.config.ACCESS_LOG = False
# Short enough that slowloris clients are cut off several times within a soak run.
app.config.REQUEST_TIMEOUT = 3
app.config.REQUEST_BODY_IDLE_TIMEOUT = 3
app.config.WRITE_IDLE_TIMEOUT = 5
app.config.KEEP_ALIVE_TIMEOUT = 3
MiB = 1024 * 1024


@app.get("/")
async def hello(request: Request) -> HTTPResponse:
    return text("Hello, world")


@app.post("/upload", stream=True)
async def upload(request: Request) -> HTTPResponse:
    assert request.stream is not None
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
    return text(str(size))


@app.get("/download/<mib:int>")
async def download(request: Request, mib: int) -> StreamingHTTPResponse:
    block = b"d" * (64 * 1024)

    async def body(response: StreamingHTTPResponse) -> None:
        for _ in range(mib * 16):
            await response.write(block)

    return stream(
        body, headers={"Content-Length": str(mib * MiB)}, content_type="application/octet-stream"
    )


@app.get("/slow")
async def slow(request: Request) -> HTTPResponse:
    await trio.sleep(0.05)
    return text("slow")
