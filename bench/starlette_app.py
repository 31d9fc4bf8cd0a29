"""The benchmark endpoints as a Starlette app: the peers' side of the comparison.

Served two ways by bench/run.py:

    python -m hypercorn --worker-class trio --bind 127.0.0.1:8003 bench.starlette_app:app
    python -m uvicorn --http h11 --loop asyncio --port 8004 --no-access-log \
        bench.starlette_app:app

Endpoints as in bench/floor.py and bench/trioweb_app.py (``/slow-echo`` is only measured on
trioweb and the floor, but is here too so every server answers the same set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

STREAM_CHUNK = b"x" * (64 * 1024)
STREAM_CHUNKS = 1600  # 100 MiB
STREAM_SIZE = str(len(STREAM_CHUNK) * STREAM_CHUNKS)
SLOW_SLEEP = 0.001


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello, world")


async def hello_json(request: Request) -> Response:
    return JSONResponse({"message": "Hello, world"})


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['user_id']}")


async def echo(request: Request) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return PlainTextResponse(str(size))


async def slow_echo(request: Request) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        await anyio.sleep(SLOW_SLEEP)
    return PlainTextResponse(str(size))


async def chunks() -> AsyncIterator[bytes]:
    for _ in range(STREAM_CHUNKS):
        yield STREAM_CHUNK


async def download(request: Request) -> Response:
    return StreamingResponse(
        chunks(), media_type="application/octet-stream", headers={"Content-Length": STREAM_SIZE}
    )


app = Starlette(
    routes=[
        Route("/", hello),
        Route("/json", hello_json),
        Route("/user/{user_id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/slow-echo", slow_echo, methods=["POST"]),
        Route("/stream", download),
    ]
)
