"""A chat room over WebSockets: every message goes to every connected client.

Each client gets a bounded trio memory channel; one task per client reads its socket and
broadcasts, another drains its channel into its socket. A client too slow to keep up (its
channel full) is disconnected rather than allowed to hold the room back or grow memory.

    python examples/chat.py
    # then connect any WebSocket client to ws://127.0.0.1:8000/chat/<your name>
"""

from __future__ import annotations

import trio
from trio_websocket import WebSocketConnection

from trioweb import App, Request
from trioweb.response import HTTPResponse, json

app = App("chat")

# Messages a member may have waiting before it counts as too slow.
MEMBER_BACKLOG = 64


class Room:
    """Members and the fan-out between them."""

    def __init__(self) -> None:
        self.members: dict[str, trio.MemorySendChannel[str]] = {}

    def join(self, name: str) -> trio.MemoryReceiveChannel[str]:
        send: trio.MemorySendChannel[str]
        receive: trio.MemoryReceiveChannel[str]
        send, receive = trio.open_memory_channel(MEMBER_BACKLOG)
        self.members[name] = send
        return receive

    def leave(self, name: str) -> None:
        channel = self.members.pop(name, None)
        if channel is not None:
            channel.close()

    def broadcast(self, text: str) -> None:
        for name, channel in list(self.members.items()):
            try:
                channel.send_nowait(text)
            except trio.WouldBlock:
                self.leave(name)  # too slow: its writer sees the channel end and hangs up


app.ctx.room = Room()


@app.websocket("/chat/<name>")
async def chat(request: Request, ws: WebSocketConnection, name: str) -> None:
    room: Room = request.app.ctx.room
    if name in room.members:
        await ws.aclose(4000, "that name is taken")
        return
    inbox = room.join(name)
    room.broadcast(f"* {name} joined")
    try:
        # When the client leaves, get_message() raises ConnectionClosed, which ends the
        # handler; trioweb treats that as a normal end.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_deliver, ws, inbox, nursery.cancel_scope)
            while True:
                message = await ws.get_message()
                if isinstance(message, bytes):  # a binary frame: shown as text, as best it can be
                    message = message.decode("utf-8", "replace")
                room.broadcast(f"{name}: {message}")
    finally:
        room.leave(name)
        room.broadcast(f"* {name} left")


async def _deliver(
    ws: WebSocketConnection, inbox: trio.MemoryReceiveChannel[str], done: trio.CancelScope
) -> None:
    async with inbox:
        async for text in inbox:
            await ws.send_message(text)
    done.cancel()  # removed from the room: stop reading too


@app.get("/members")
async def members(request: Request) -> HTTPResponse:
    return json(sorted(request.app.ctx.room.members))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
