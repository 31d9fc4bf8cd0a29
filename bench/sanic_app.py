"""The benchmark endpoints as a Sanic app: Sanic's own server as a peer.

Same endpoints, bodies and transfer semantics as bench/floor.py, bench/trioweb_app.py and
bench/starlette_app.py:

    GET  /            Hello, world
    GET  /json        {"message":"Hello, world"}
    GET  /user/<id>   user <id>
    POST /echo        the body's length, read as it streams in (a streaming route)
    POST /slow-echo   the same, sleeping SLOW_SLEEP between chunks (a slow consumer)
    GET  /stream      100 MiB in 64 KiB chunks, with Content-Length

One worker in a single process (no worker manager forked, so the process bench/run.py starts
is the server whose memory it reads), access log and banner off; Sanic runs on uvloop when it
is installed (its default) and otherwise on asyncio. Its other settings are its defaults: a
streaming route has no body size limit, and the keep-alive timeout (120 s) outlasts the idle
connection measurement.

    python bench/sanic_app.py 8005
"""

from __future__ import annotations

import asyncio
import sys

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, text

app = Sanic("bench")

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
        await asyncio.sleep(SLOW_SLEEP)
    return text(str(size))


@app.get("/stream")
async def download(request: Request) -> None:
    response = await request.respond(
        headers={"Content-Length": STREAM_SIZE}, content_type="application/octet-stream"
    )
    for _ in range(STREAM_CHUNKS):
        await response.send(STREAM_CHUNK)
    await response.eof()


if __name__ == "__main__":
    app.run(
        host="127.0.0.1",
        port=int(sys.argv[1]) if len(sys.argv) > 1 else 8005,
        workers=1,
        single_process=True,
        access_log=False,
        motd=False,
    )
