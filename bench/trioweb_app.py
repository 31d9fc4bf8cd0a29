"""trioweb serving the benchmark endpoints (the same as bench/floor.py and bench/starlette_app.py).

GET  /            Hello, world
GET  /json        {"message":"Hello, world"}
GET  /user/<id>   user <id>
POST /echo        the body's length, read as it streams in (a streaming route)
POST /slow-echo   the same, sleeping SLOW_SLEEP between chunks: a slow consumer, for the
                  memory measurement of a 1 GB upload
GET  /stream      100 MiB in 64 KiB chunks through stream(), with Content-Length

python bench/trioweb_app.py 8002
"""

from __future__ import annotations

import sys

import trio

from trioweb import App, Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, json, stream, text

app = App("bench", env_prefix=None)
app.config.ACCESS_LOG = False
# The idle keep-alive measurement holds 1,000 connections open for a few seconds; the 5 s
# default could close some of them mid-measurement. It costs nothing on the request path.
app.config.KEEP_ALIVE_TIMEOUT = 60.0

STREAM_CHUNK = b"x" * (64 * 1024)
STREAM_CHUNKS = 1600  # 100 MiB
STREAM_SIZE = str(len(STREAM_CHUNK) * STREAM_CHUNKS)
SLOW_SLEEP = 0.001  # seconds between chunks on /slow-echo; the same as bench/floor.py


@app.get("/")
async def hello(request: Request) -> HTTPResponse:
    return text("Hello, world")


@app.get("/json")
async def hello_json(request: Request) -> HTTPResponse:
    return json({"message": "Hello, world"})


@app.get("/user/<user_id:int>")
async def user(request: Request, user_id: int) -> HTTPResponse:
    return text(f"user {user_id}")


@app.post("/echo", stream=True)
async def echo(request: Request) -> HTTPResponse:
    assert request.stream is not None
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
    return text(str(size))


@app.post("/slow-echo", stream=True)
async def slow_echo(request: Request) -> HTTPResponse:
    assert request.stream is not None
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
        await trio.sleep(SLOW_SLEEP)
    return text(str(size))


@app.get("/stream")
async def download(request: Request) -> StreamingHTTPResponse:
    async def body(response: StreamingHTTPResponse) -> None:
        for _ in range(STREAM_CHUNKS):
            await response.write(STREAM_CHUNK)

    return stream(
        body, headers={"Content-Length": STREAM_SIZE}, content_type="application/octet-stream"
    )


if __name__ == "__main__":
    app.run(
        host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8002, access_log=False
    )
