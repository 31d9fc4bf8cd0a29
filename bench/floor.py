"""The floor for this stack: a minimal hand-written trio + h11 server with no framework.

One task per connection, one `h11.Connection` each, keep-alive, and the benchmark endpoints
matched by hand: no router, no request object, no timeouts, no limits. Anything trioweb costs
above this is framework overhead.

    GET  /            Hello, world                    (text/plain)
    GET  /json        {"message":"Hello, world"}      (application/json)
    GET  /user/<id>   user <id>   (digits only)       (text/plain)
    POST /echo        the body's length, read as it streams in
    POST /slow-echo   the same, sleeping SLOW_SLEEP between chunks (a slow consumer)
    GET  /stream      100 MiB in 64 KiB chunks, with Content-Length (as trioweb's stream()
                      sends it when the header is set)

    python bench/floor.py 8001
"""

from __future__ import annotations

import sys
from functools import partial

import h11
import trio

HELLO = b"Hello, world"
JSON = b'{"message":"Hello, world"}'
TEXT = "text/plain; charset=utf-8"
STREAM_CHUNK = b"x" * (64 * 1024)
STREAM_CHUNKS = 1600  # 100 MiB
SLOW_SLEEP = 0.001  # seconds between chunks on /slow-echo; the same as bench/trioweb_app.py


def headers(content_type: str, length: int) -> list[tuple[str, str]]:
    return [("content-type", content_type), ("content-length", str(length))]


async def respond(
    stream: trio.SocketStream, conn: h11.Connection, status: int, content_type: str, body: bytes
) -> None:
    await stream.send_all(
        conn.send(h11.Response(status_code=status, headers=headers(content_type, len(body))))
        + conn.send(h11.Data(data=body))
        + conn.send(h11.EndOfMessage())
    )


async def send_stream(stream: trio.SocketStream, conn: h11.Connection) -> None:
    size = len(STREAM_CHUNK) * STREAM_CHUNKS
    head = h11.Response(status_code=200, headers=headers("application/octet-stream", size))
    await stream.send_all(conn.send(head))
    for _ in range(STREAM_CHUNKS):
        await stream.send_all(conn.send(h11.Data(data=STREAM_CHUNK)))
    await stream.send_all(conn.send(h11.EndOfMessage()))


async def handle(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    method, target, received = b"", b"", 0
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Request):
                method, target, received = event.method, event.target, 0
            elif isinstance(event, h11.Data):
                received += len(event.data)
                if target == b"/slow-echo":
                    await trio.sleep(SLOW_SLEEP)
            elif isinstance(event, h11.EndOfMessage):
                if method == b"GET" and target == b"/":
                    await respond(stream, conn, 200, TEXT, HELLO)
                elif method == b"GET" and target == b"/json":
                    await respond(stream, conn, 200, "application/json", JSON)
                elif method == b"GET" and target.startswith(b"/user/") and target[6:].isdigit():
                    await respond(stream, conn, 200, TEXT, b"user " + target[6:])
                elif method == b"POST" and target in (b"/echo", b"/slow-echo"):
                    await respond(stream, conn, 200, TEXT, str(received).encode())
                elif method == b"GET" and target == b"/stream":
                    await send_stream(stream, conn)
                else:
                    await respond(stream, conn, 404, TEXT, b"Not Found")
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return
    except (trio.BrokenResourceError, h11.RemoteProtocolError):
        return
    finally:
        await trio.aclose_forcefully(stream)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    trio.run(partial(trio.serve_tcp, handle, port, host="127.0.0.1"))
