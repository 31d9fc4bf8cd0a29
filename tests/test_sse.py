"""Server-sent events (`trioweb.sse`), read as a browser's EventSource reads them.

`EventSourceParser` follows the WHATWG "interpret an event stream" algorithm, so what the
tests see is what a browser would dispatch. Keep-alive timing runs under the autojump clock
through ``app.test_client()``; reconnection, disconnects, backpressure and concurrent
writers go through real sockets. Network rules: see ``tests/netutil.py`` ("blocked" is
observed with ``trio.testing.wait_all_tasks_blocked``, never with sleeps).
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

import trioweb
from examples import sse as example
from trioweb import App, Request, ServerSentEvent, event_stream
from trioweb.response import HTTPResponse, StreamingHTTPResponse, text
from trioweb.sse import EventSender

from .netutil import ROOT, TIMEOUT, running
from .test_nginx import NGINX, NGINX_CONF, free_port, wait_for


@dataclass(frozen=True)
class Dispatched:
    """What an EventSource hands its listeners: ``type``, ``data`` and ``lastEventId``."""

    type: str
    data: str
    last_event_id: str


@dataclass
class EventSourceParser:
    """The WHATWG event stream parser, fed bytes as they arrive."""

    last_event_id: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)
    _decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    _pending: str = ""
    _started: bool = False
    _data: str = ""
    _type: str = ""

    def feed(self, chunk: bytes) -> list[Dispatched]:
        text = self._pending + self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        lines = re.split(r"\r\n|\r|\n", text)
        # The last piece is unfinished; so is a CR at the end, which an LF may follow.
        self._pending = lines.pop()
        if text.endswith("\r"):
            lines.pop()
            self._pending = "\r"
        dispatched: list[Dispatched] = []
        for line in lines:
            if line == "":
                if self._data:
                    dispatched.append(
                        Dispatched(self._type or "message", self._data[:-1], self.last_event_id)
                    )
                self._data = self._type = ""
            elif line.startswith(":"):
                self.comments.append(line[1:].removeprefix(" "))
            else:
                name, _, value = line.partition(":")
                self._field(name, value.removeprefix(" "))
        return dispatched

    def _field(self, name: str, value: str) -> None:
        if name == "event":
            self._type = value
        elif name == "data":
            self._data += value + "\n"
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)


def parse(payload: bytes) -> tuple[list[Dispatched], EventSourceParser]:
    parser = EventSourceParser()
    return parser.feed(payload), parser


class EventSource:
    """An EventSource-style client over httpx: reads events, remembers the last id."""

    def __init__(self, client: httpx.AsyncClient, path: str) -> None:
        self.client = client
        self.path = path
        self.parser = EventSourceParser()
        self.response: httpx.Response | None = None
        self.times: list[tuple[float, str]] = []  # (trio time, "event" or "comment")
        self._chunks: AsyncIterator[bytes] | None = None
        self._ready: list[Dispatched] = []

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[httpx.Response]:
        headers = {"Accept": "text/event-stream"}
        if self.parser.last_event_id:
            headers["Last-Event-ID"] = self.parser.last_event_id
        async with self.client.stream("GET", self.path, headers=headers) as response:
            self.response = response
            self._chunks = response.aiter_raw()
            self._ready = []
            try:
                yield response
            finally:
                self._chunks = None

    async def next_event(self) -> Dispatched:
        assert self._chunks is not None
        while not self._ready:
            seen = len(self.parser.comments)
            events = self.parser.feed(await self._chunks.__anext__())
            now = trio.current_time()
            self.times.extend((now, "comment") for _ in self.parser.comments[seen:])
            self.times.extend((now, "event") for _ in events)
            self._ready.extend(events)
        return self._ready.pop(0)

    async def events(self, count: int) -> list[Dispatched]:
        return [await self.next_event() for _ in range(count)]


# --- the wire format, checked by a spec-following parser ------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "wire"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": "a\nb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\r\nb\rc"}, b"data: a\ndata: b\ndata: c\n\n"),
        ({"data": "line\n"}, b"data: line\ndata: \n\n"),
        ({"data": " padded"}, b"data:  padded\n\n"),
        ({"data": {"n": 1, "é": [True, None]}}, b'data: {"n":1,"\xc3\xa9":[true,null]}\n\n'),
        ({"data": b"bytes \xc3\xa9"}, b"data: bytes \xc3\xa9\n\n"),
        ({"data": 42}, b"data: 42\n\n"),
        (
            {"data": "x", "event": "update", "id": 7, "retry": 2500},
            b"id: 7\nevent: update\nretry: 2500\ndata: x\n\n",
        ),
        ({"comment": "two\nlines"}, b": two\n: lines\n\n"),
        ({"id": ""}, b"id: \n\n"),
        ({"retry": 0}, b"retry: 0\n\n"),
    ],
)
def test_events_encode_as_the_standard_frames_them(kwargs: dict[str, Any], wire: bytes) -> None:
    assert ServerSentEvent(**kwargs).encode() == wire


@pytest.mark.parametrize(
    "data",
    ["", "one line", "two\nlines", "crlf\r\nand\rcr", "trailing\n", "\n\nleading", " space", "é ☃"],
)
def test_data_reaches_an_eventsource_whole_or_a_byte_at_a_time(data: str) -> None:
    payload = ServerSentEvent(data, event="note", id="n-1").encode()
    expected = Dispatched("note", re.sub(r"\r\n|\r", "\n", data), "n-1")
    assert parse(payload)[0] == [expected]
    parser = EventSourceParser()
    events = [event for byte in payload for event in parser.feed(bytes([byte]))]
    assert events == [expected]


def test_an_event_is_a_frozen_validated_value() -> None:
    event = ServerSentEvent({"a": 1}, id=3)
    assert (event.data, event.id, event.event, event.retry) == ('{"a":1}', "3", None, None)
    assert event == ServerSentEvent('{"a":1}', id="3")
    with pytest.raises(AttributeError):
        event.data = "other"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"data": "x", "event": "a\nb"}, ValueError, r"event event must not contain '\\n'"),
        ({"data": "x", "event": "a\rb"}, ValueError, r"event event must not contain '\\r'"),
        ({"data": "x", "id": "1\n2"}, ValueError, r"event id must not contain '\\n'"),
        ({"data": "x", "id": "1\x002"}, ValueError, r"event id must not contain '\\x00'"),
        ({"data": "x", "retry": -1}, ValueError, "event retry must not be negative, got -1"),
        ({"data": "x", "retry": 1.5}, TypeError, r"event retry must be an int \(milliseconds\)"),
        ({"data": "x", "retry": True}, TypeError, "event retry must be an int"),
        ({"data": "x", "id": 1.5}, TypeError, "event id must be a str or an int, not float"),
        ({"data": "x", "event": 3}, TypeError, "event event must be a str, not int"),
        ({"comment": b"x"}, TypeError, "event comment must be a str, not bytes"),
        ({"data": object()}, TypeError, "event data must be str, bytes or JSON-serialisable"),
        ({"data": b"\xff"}, ValueError, "event data bytes must be UTF-8 text"),
        ({}, ValueError, "an event needs data, an event type, an id, a retry or a comment"),
    ],
)
def test_bad_events_are_refused_when_made(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ServerSentEvent(**kwargs)


async def noop(send: EventSender) -> None:
    pass


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ping": 0}, ValueError, "ping must be positive"),
        ({"ping": -1.0}, ValueError, "ping must be positive"),
        ({"ping": float("nan")}, ValueError, "ping must be positive"),
        ({"ping": "15"}, TypeError, "ping must be a number of seconds or None"),
        ({"ping": True}, TypeError, "ping must be a number of seconds or None"),
        ({"retry": -5}, ValueError, "event retry must not be negative"),
        ({"headers": {"content-type": "text/plain"}}, ValueError, "sets no content-type header"),
        ({"headers": {"Content-Length": "5"}}, ValueError, "sets no Content-Length header"),
    ],
)
def test_bad_event_stream_arguments_are_refused_at_once(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        event_stream(noop, **kwargs)


def test_event_stream_needs_a_function() -> None:
    with pytest.raises(TypeError, match="event_stream\\(\\) takes an async function, not str"):
        event_stream("events")  # type: ignore[arg-type]


def test_the_helpers_are_exported() -> None:
    assert trioweb.event_stream is event_stream
    assert trioweb.ServerSentEvent is ServerSentEvent


# --- through the test client --------------------------------------------------------------


async def test_an_event_stream_response_head_and_events() -> None:
    app = App("sse-head")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            await send("plain")
            await send({"n": 1}, event="update", id=1)
            await send("first\nsecond", id="2")
            await send(ServerSentEvent("built", event="prebuilt", id=3))
            await send(comment="just a comment")

        return event_stream(fn, retry=3000, headers={"X-Extra": "1"})

    async with app.test_client() as client:
        r = await client.get("/events")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["x-extra"] == "1"
    assert r.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.headers
    assert r.content.startswith(b"retry: 3000\n\n")
    events, parser = parse(r.content)
    assert events == [
        Dispatched("message", "plain", ""),
        Dispatched("update", '{"n":1}', "1"),
        Dispatched("message", "first\nsecond", "2"),
        Dispatched("prebuilt", "built", "3"),
    ]
    assert parser.retry == 3000
    assert parser.comments == ["just a comment"]


async def test_headers_replace_the_caching_defaults() -> None:
    app = App("sse-headers")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        return event_stream(noop, headers={"cache-control": "no-store"})

    async with app.test_client() as client:
        r = await client.get("/events")
    assert r.headers.get_list("cache-control") == ["no-store"]
    assert r.content == b""


async def test_send_refuses_an_event_with_more_arguments() -> None:
    app = App("sse-send-args")
    errors: list[str] = []

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            try:
                await send(ServerSentEvent("x"), event="y")
            except TypeError as exc:
                errors.append(str(exc))
            try:
                await send("x", id="a\nb")
            except ValueError as exc:
                errors.append(str(exc))
            await send("still open")

        return event_stream(fn)

    async with app.test_client() as client:
        r = await client.get("/events")
    assert errors == [
        "send() takes a ServerSentEvent alone, without other arguments",
        "event id must not contain '\\n': 'a\\nb'",
    ]
    assert parse(r.content)[0] == [Dispatched("message", "still open", "")]


async def test_keep_alive_comments_fill_the_silences(autojump_clock: trio.abc.Clock) -> None:
    app = App("sse-ping")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            await send("first")
            await trio.sleep(40)  # pings at 15 s and 30 s
            await send("second")
            await trio.sleep(10)  # shorter than the interval: no ping
            await send("third")

        return event_stream(fn)

    async with app.test_client(timeout=None) as client:
        source = EventSource(client, "/events")
        async with source.connect():
            start = trio.current_time()
            assert [e.data for e in await source.events(3)] == ["first", "second", "third"]
    timeline = [(round(t - start, 3), kind) for t, kind in source.times]
    assert timeline == [
        (0, "event"),
        (15, "comment"),
        (30, "comment"),
        (40, "event"),
        (50, "event"),
    ]
    assert source.parser.comments == ["ping", "ping"]


async def test_a_busy_stream_is_never_pinged(autojump_clock: trio.abc.Clock) -> None:
    app = App("sse-busy")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            for n in range(10):
                await send(str(n))
                await trio.sleep(4.9)

        return event_stream(fn, ping=5)

    async with app.test_client(timeout=None) as client:
        r = await client.get("/events")
    events, parser = parse(r.content)
    assert [e.data for e in events] == [str(n) for n in range(10)]
    assert parser.comments == []


async def test_ping_none_sends_no_comments(autojump_clock: trio.abc.Clock) -> None:
    app = App("sse-no-ping")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            await send("before")
            await trio.sleep(3600)
            await send("after")

        return event_stream(fn, ping=None)

    async with app.test_client(timeout=None) as client:
        r = await client.get("/events")
    events, parser = parse(r.content)
    assert [e.data for e in events] == ["before", "after"]
    assert parser.comments == []


async def test_an_error_in_the_function_is_logged_as_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App("sse-error")

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            await send("one")
            raise ValueError("the feed broke")

        return event_stream(fn)

    async with app.test_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/events")  # cut off: no final chunk
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], ValueError)


async def test_head_gets_the_head_alone_and_the_connection_goes_on() -> None:
    app = App("sse-head-method")
    ran = False

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            nonlocal ran
            ran = True
            await trio.sleep_forever()

        return event_stream(fn)

    @app.get("/next")
    async def after(request: Request) -> HTTPResponse:
        return text("next")

    async with app.test_client() as client:
        with trio.fail_after(TIMEOUT):
            r = await client.head("/events")
            assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
            # The same keep-alive connection serves the next request.
            assert (await client.get("/next")).text == "next"
    assert (r.status_code, r.content, ran) == (200, b"", False)


async def test_frames_written_by_hand_through_respond_work_as_in_sanic() -> None:
    app = App("sse-by-hand")

    @app.get("/raw-events")
    async def raw_events(request: Request) -> None:
        response = await request.respond(
            headers={"Cache-Control": "no-cache"}, content_type="text/event-stream"
        )
        await response.send("data: hello\n\n")

    async with app.test_client() as client:
        r = await client.get("/raw-events")
    assert r.headers["content-type"] == "text/event-stream"
    assert parse(r.content)[0] == [Dispatched("message", "hello", "")]


# --- the example ----------------------------------------------------------------------------


async def test_example_clock_ticks_every_second(autojump_clock: trio.abc.Clock) -> None:
    async with example.app.test_client(timeout=None) as client:
        source = EventSource(client, "/clock")
        async with source.connect():
            start = trio.current_time()
            ticks = await source.events(3)
    assert {tick.type for tick in ticks} == {"tick"}
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", tick.data) for tick in ticks)
    assert [round(t - start, 3) for t, _ in source.times] == [0, 1, 2]


async def test_example_page_opens_the_event_sources() -> None:
    async with example.app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert 'new EventSource("/events")' in r.text
    assert 'new EventSource("/clock")' in r.text


@pytest.mark.parametrize("last_event_id", ["", "nonsense", "-4"])
async def test_example_replays_everything_for_an_unknown_last_event_id(
    last_event_id: str,
) -> None:
    async with example.app.test_client() as client:
        for text in ("a", "b"):
            assert (await client.post("/messages", content=text)).status_code == 201
        source = EventSource(client, "/events")
        source.parser.last_event_id = last_event_id
        async with source.connect():
            events = await source.events(2)
    assert [(e.data, e.last_event_id) for e in events] == [("a", "1"), ("b", "2")]


# --- through real sockets -------------------------------------------------------------------


async def test_an_eventsource_reconnects_with_last_event_id_and_resumes() -> None:
    async with (
        running(example.app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client,
    ):
        with trio.fail_after(TIMEOUT):
            for text in ("one", "two\nlines", "three"):
                await client.post("/messages", content=text)
            source = EventSource(client, "/events")
            async with source.connect() as response:
                assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
                first = await source.events(2)
            # The client left after event 2; it comes back with the id it saw last.
            assert source.parser.last_event_id == "2"
            assert source.parser.retry == 1000
            async with source.connect() as response:
                assert response.request.headers["last-event-id"] == "2"
                resumed = await source.next_event()
                # Live: a message posted while the client listens arrives at once.
                r = await client.post("/messages", content="four")
                assert r.json() == {"id": 4}
                live = await source.next_event()
    assert [(e.data, e.last_event_id) for e in first] == [("one", "1"), ("two\nlines", "2")]
    assert (resumed.data, resumed.last_event_id) == ("three", "3")
    assert (live.data, live.last_event_id) == ("four", "4")


@pytest.mark.parametrize(
    ("busy", "ping"),
    [(True, None), (False, None), (False, 0.01)],
    ids=["sending", "idle", "idle-pinged"],
)
async def test_a_client_that_leaves_ends_the_handler_and_its_finally_runs(
    busy: bool, ping: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    app = App("sse-leave")
    started = trio.Event()
    cleaned_up = trio.Event()
    sent = 0

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            nonlocal sent
            try:
                await send("hello")
                started.set()
                while busy:
                    await send(str(sent))
                    sent += 1
                    await trio.sleep(0.01)
                await trio.sleep_forever()
            finally:
                cleaned_up.set()

        return event_stream(fn, ping=ping)

    async with running(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            source = EventSource(client, "/events")
            async with source.connect():
                assert (await source.next_event()).data == "hello"
                await started.wait()
            await cleaned_up.wait()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_send_waits_for_a_slow_reader() -> None:
    app = App("sse-backpressure")
    count, size = 200, 256 * 1024  # 50 MiB in all: far more than socket buffers hold
    sent = 0

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            nonlocal sent
            for n in range(count):
                await send(str(n % 10) * size, id=n)
                sent += 1

        return event_stream(fn, ping=None)

    async with running(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            source = EventSource(client, "/events")
            async with source.connect():
                await source.next_event()
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                stalled_at = sent
                assert stalled_at < count // 2  # the producer waits for the reader
                events = [await source.next_event() for _ in range(count - 1)]
    assert [e.last_event_id for e in events] == [str(n) for n in range(1, count)]
    assert sent == count


async def test_concurrent_senders_and_pings_never_interleave() -> None:
    app = App("sse-one-writer")
    size = 300 * 1024  # over the writer's 64 KiB pieces: each event leaves in several writes

    @app.get("/events")
    async def handler(request: Request) -> StreamingHTTPResponse:
        async def fn(send: EventSender) -> None:
            async def sender(letter: str) -> None:
                for n in range(8):
                    await send(letter * size, event=letter, id=f"{letter}{n}")

            async with trio.open_nursery() as nursery:
                for letter in "abc":
                    nursery.start_soon(sender, letter)

        # A ping due almost all the time, trying to write between any two pieces.
        return event_stream(fn, ping=0.0001)

    async with running(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        with trio.fail_after(TIMEOUT):
            r = await client.get("/events")
    events, parser = parse(r.content)
    assert sorted(e.type for e in events) == sorted("abc" * 8)
    assert all(e.data == e.type * size for e in events)
    assert set(parser.comments) <= {"ping"}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (nox -s nginx)")
async def test_behind_nginx_each_event_arrives_at_once(tmp_path: Path) -> None:
    # nginx as docs/deployment.md sets it up (HTTP/1.1 to a Unix socket, buffering on): an
    # event reaches the client while the stream is still open, and the head comes through.
    sock, port = tmp_path / "app.sock", free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    conf = NGINX_CONF.format(user=user, tmp=tmp_path, sock=sock, port=port)
    (tmp_path / "nginx.conf").write_text(conf)
    server = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trioweb", "examples.sse:app", "--unix", str(sock)],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    nginx = await trio.lowlevel.open_process(
        [str(NGINX), "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(sock)
        await wait_for(tmp_path / "nginx.pid")
        transport = httpx.AsyncHTTPTransport(retries=3)
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            with trio.fail_after(TIMEOUT):
                source = EventSource(client, "/events")
                async with source.connect() as response:
                    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
                    assert response.headers["cache-control"] == "no-cache"
                    await client.post("/messages", content="through nginx")
                    event = await source.next_event()
    finally:
        nginx.send_signal(signal.SIGQUIT)
        server.send_signal(signal.SIGTERM)
        with trio.fail_after(TIMEOUT):
            await nginx.wait()
            await server.wait()
    assert (event.data, event.last_event_id) == ("through nginx", "1")
    assert source.parser.retry == 1000
