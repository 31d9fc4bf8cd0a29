"""The floor for this stack: a minimal hand-written trio + h11 server with no framework.

Serves ``GET /`` -> ``Hello, world`` with keep-alive. Nothing else: no routing, no request
object, no timeouts. Anything trioweb costs above this is framework overhead.

    python bench/floor.py 8001
"""

from __future__ import annotations

import sys

import h11
import trio

BODY = b"Hello, world"
HEADERS = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(BODY)))]


async def handle(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Request):
                pass
            elif isinstance(event, h11.EndOfMessage):
                await stream.send_all(
                    conn.send(h11.Response(status_code=200, headers=HEADERS))
                    + conn.send(h11.Data(data=BODY))
                    + conn.send(h11.EndOfMessage())
                )
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
    trio.run(trio.serve_tcp, handle, int(sys.argv[1]) if len(sys.argv) > 1 else 8001)
