"""Server-sent events: a clock, and a message feed that a reconnecting client resumes.

    python examples/sse.py
    # open http://127.0.0.1:8000/ in two browser windows and post messages; or
    curl -N http://127.0.0.1:8000/events
    curl -d 'hello' http://127.0.0.1:8000/messages
    curl -N -H 'Last-Event-ID: 1' http://127.0.0.1:8000/events   # what came after message 1

Message n has the event id n. A browser's EventSource sends the last id it saw as the
``Last-Event-ID`` header when it reconnects, and ``/events`` replays what came after it
before it waits for new messages.
"""

from __future__ import annotations

import time

import trio

from trioweb import App, Request, event_stream
from trioweb.response import HTTPResponse, StreamingHTTPResponse, html, json
from trioweb.sse import EventSender

app = App("sse")

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>trioweb server-sent events</title>
<p>Time: <output id="clock"></output></p>
<form id="form"><input id="text" autofocus> <button>Post</button></form>
<ul id="log"></ul>
<script>
const log = document.getElementById("log");
const feed = new EventSource("/events");
feed.onmessage = (e) => {
  const item = document.createElement("li");
  item.textContent = `${e.lastEventId}: ${e.data}`;
  log.append(item);
};
new EventSource("/clock").addEventListener("tick", (e) => {
  document.getElementById("clock").value = e.data;
});
document.getElementById("form").onsubmit = async (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  await fetch("/messages", {method: "POST", body: text.value});
  text.value = "";
};
</script>
"""


class Feed:
    """Messages in the order they were posted; message n (from 1) is ``messages[n - 1]``.

    A real app keeps a bounded history, or reads it from its database.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._grown = trio.Event()

    def publish(self, text: str) -> int:
        """Add a message and wake every follower; returns its id."""
        self.messages.append(text)
        self._grown.set()
        self._grown = trio.Event()
        return len(self.messages)

    async def wait_for_more(self, seen: int) -> None:
        """Return once there are more than ``seen`` messages."""
        while len(self.messages) <= seen:
            await self._grown.wait()


@app.before_server_start
async def open_feed(app: App) -> None:
    app.ctx.feed = Feed()


def resume_after(last_event_id: str | None) -> int:
    """The id to resume after: 0 (the whole history) for a missing or unknown id."""
    try:
        return max(0, int(last_event_id or 0))
    except ValueError:
        return 0


@app.get("/")
async def page(request: Request) -> HTTPResponse:
    return html(PAGE)


@app.post("/messages")
async def post_message(request: Request) -> HTTPResponse:
    message_id = request.app.ctx.feed.publish(request.body.decode("utf-8", "replace"))
    return json({"id": message_id}, status=201)


@app.get("/events")
async def events(request: Request) -> StreamingHTTPResponse:
    feed: Feed = request.app.ctx.feed
    seen = resume_after(request.headers.get("last-event-id"))

    async def follow(send: EventSender) -> None:
        nonlocal seen
        while True:
            while seen < len(feed.messages):
                seen += 1
                await send(feed.messages[seen - 1], id=seen)  # one data line per line
            await feed.wait_for_more(seen)

    # retry: a client that lost the stream tries again after one second.
    return event_stream(follow, retry=1000)


@app.get("/clock")
async def clock(request: Request) -> StreamingHTTPResponse:
    async def tick(send: EventSender) -> None:
        while True:
            await send(time.strftime("%H:%M:%S"), event="tick")
            await trio.sleep(1)

    return event_stream(tick)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
