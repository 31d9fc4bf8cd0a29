"""Embedding and shutdown: ``nursery.start(app.serve, ...)``, the Server, graceful stop.

Network rules: see ``tests/netutil.py``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import h11
import httpx
import pytest
import trio
import trio.testing

from trioweb import App, Server
from trioweb.request import Request
from trioweb.response import HTTPResponse, text

from .netutil import ROOT, TIMEOUT, RawClient, request


def gated_app() -> tuple[App, trio.Event, trio.Event]:
    app = App("gated")
    entered = trio.Event()
    release = trio.Event()

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("hi")

    @app.get("/slow")
    async def slow(req: Request) -> HTTPResponse:
        entered.set()
        await release.wait()
        return text("finished")

    return app, entered, release


async def test_serve_reports_the_real_port_and_url() -> None:
    app, _, _ = gated_app()
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient() as client:
            assert (await client.get(server.url + "/")).text == "hi"
        await server.shutdown()


async def test_shutdown_finishes_in_flight_requests_and_refuses_new_ones() -> None:
    app, entered, release = gated_app()
    serve_returned = trio.Event()

    async def serve(task_status: trio.TaskStatus[Server]) -> None:
        await app.serve("127.0.0.1", 0, task_status=task_status)
        serve_returned.set()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(serve)
            client = await RawClient.connect(server)
            await client.send(request("GET", "/slow"), h11.EndOfMessage())
            await entered.wait()
            nursery.start_soon(server.shutdown)
            await trio.testing.wait_all_tasks_blocked()
            assert server.draining
            with pytest.raises(OSError, match="connect"):
                await trio.open_tcp_stream(server.host, server.port)
            assert not serve_returned.is_set()
            release.set()
            head, body = await client.response()
            assert (head.status_code, body) == (200, b"finished")
            assert (b"connection", b"close") in head.headers
            await serve_returned.wait()
            await client.aclose()


async def test_shutdown_closes_idle_keep_alive_connections_at_once() -> None:
    app, _, _ = gated_app()
    app.config.KEEP_ALIVE_TIMEOUT = 60
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            client = await RawClient.connect(server)
            await client.send(request("GET", "/"), h11.EndOfMessage())
            head, _ = await client.response()
            assert head.status_code == 200
            with trio.fail_after(1):
                await server.shutdown()
                assert await client.stream.receive_some(100) == b""
            await client.aclose()


async def test_requests_still_running_at_the_deadline_are_cancelled(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = App("stuck")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 3
    cancelled = trio.Event()
    entered = trio.Event()

    @app.get("/stuck")
    async def stuck(req: Request) -> HTTPResponse:
        entered.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()
        return text("unreachable")  # pragma: no cover

    async with app.test_client() as client, trio.open_nursery() as nursery:

        async def fetch() -> None:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/stuck")

        nursery.start_soon(fetch)
        await entered.wait()
        assert client.server is not None
        start = trio.current_time()
        await client.server.shutdown()
        assert 3 <= trio.current_time() - start < 4
        assert cancelled.is_set()


async def test_cancelling_serve_stops_everything_at_once() -> None:
    app, entered, _ = gated_app()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            client = await RawClient.connect(server)
            await client.send(request("GET", "/slow"), h11.EndOfMessage())
            await entered.wait()
            nursery.cancel_scope.cancel()
        assert await client.stream.receive_some(100) == b""
        await client.aclose()


async def test_add_task_while_serving_starts_at_once_and_is_cancelled_at_shutdown() -> None:
    app, _, _ = gated_app()
    started = trio.Event()
    cancelled = trio.Event()

    async def background(flag: trio.Event) -> None:
        flag.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            app.add_task(background, started)
            await started.wait()
            await server.shutdown()
            assert cancelled.is_set()


async def test_a_task_added_while_serving_belongs_to_that_run_only() -> None:
    app, _, _ = gated_app()
    runs: list[str] = []

    async def once() -> None:
        runs.append("ran")

    async with app.test_client():
        app.add_task(once)
    async with app.test_client():
        pass
    assert runs == ["ran"]


async def test_shutdown_under_load_answers_every_accepted_request() -> None:
    app = App("load")
    in_flight = 50
    started = 0
    all_started = trio.Event()
    release = trio.Event()

    @app.post("/work", stream=True)
    async def work(req: Request) -> HTTPResponse:
        nonlocal started
        started += 1
        if started == in_flight:
            all_started.set()
        await release.wait()
        return text(str(len(await req.receive_body())))

    replies: list[tuple[int, bytes, bool]] = []

    async def client_task(server: Server, body: bytes) -> None:
        client = await RawClient.connect(server)
        await client.send(request("POST", "/work", [("Content-Length", str(len(body)))]))
        await client.send(h11.Data(data=body), h11.EndOfMessage())
        head, reply = await client.response()
        replies.append((head.status_code, reply, (b"connection", b"close") in head.headers))
        await client.aclose()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            async with trio.open_nursery() as clients:
                for i in range(in_flight):
                    clients.start_soon(client_task, server, b"x" * (i * 1000))
                await all_started.wait()
                nursery.start_soon(server.shutdown)
                await trio.testing.wait_all_tasks_blocked()
                with pytest.raises(OSError, match="connect"):
                    await trio.open_tcp_stream(server.host, server.port)
                release.set()
    assert sorted(replies) == sorted((200, str(i * 1000).encode(), True) for i in range(in_flight))


async def test_shutdown_under_keep_alive_load_answers_every_request_sent_before_it() -> None:
    """64 keep-alive clients that always have a request in flight: none is lost.

    A request sent while the server is not yet draining must be answered (the last one with
    ``Connection: close``); after that the client stops, as a real client would.
    """
    app = App("busy")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("ok")

    answered = 0
    lost: list[BaseException] = []
    warmed_up = trio.Event()

    async def keep_asking(server: Server) -> None:
        nonlocal answered
        client = await RawClient.connect(server)
        try:
            while not server.draining:
                await client.send(request("GET", "/"), h11.EndOfMessage())
                try:
                    head, body = await client.response()
                except (h11.RemoteProtocolError, trio.BrokenResourceError, OSError) as exc:
                    lost.append(exc)
                    return
                assert (head.status_code, body) == (200, b"ok")
                answered += 1
                if answered >= 64 * 20:
                    warmed_up.set()
                if (b"connection", b"close") in head.headers:
                    return
                client.h11.start_next_cycle()
        finally:
            await client.aclose()

    with trio.fail_after(TIMEOUT * 3):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            async with trio.open_nursery() as clients:
                for _ in range(64):
                    clients.start_soon(keep_asking, server)
                await warmed_up.wait()
                await server.shutdown()
    assert lost == []


# --- app.run(): refusals come before anything starts, Sanic's keywords by name -----------------


def never_started_app() -> App:
    """An app whose start fails the test, so a refused ``app.run()`` cannot hang it."""
    app = App("never-started")

    @app.before_server_start
    async def refuse(a: App) -> None:
        raise AssertionError("app.run() started serving")

    return app


async def test_app_run_inside_a_trio_program_says_to_use_app_serve() -> None:
    app = never_started_app()
    with pytest.raises(RuntimeError) as refused:
        app.run("127.0.0.1", 0, debug=True)
    assert str(refused.value) == (
        "app.run() starts its own trio.run(), so it cannot be called inside a running trio "
        "program; there, serve the app in a nursery: "
        "server = await nursery.start(app.serve, host, port)"
    )
    assert app.config.DEBUG is False  # refused before it changed anything


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"fast": True, "workers": 2},
            "fast=True decides the number of workers; do not pass workers=2",
        ),
        (
            {"single_process": True, "workers": 3},
            "single_process=True decides the number of workers; do not pass workers=3",
        ),
        (
            {"fast": True, "single_process": True},
            "fast=True starts a worker per CPU; single_process=True asks for one",
        ),
        ({"workers": 0}, "workers must be at least 1, got 0"),
        ({"backlog": 0}, "backlog must be at least 1, got 0"),
    ],
)
def test_app_run_refuses_contradictory_process_options(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        never_started_app().run("127.0.0.1", 0, **options)


def test_app_run_refuses_an_ssl_of_no_known_kind() -> None:
    with pytest.raises(TypeError, match=r"ssl= takes an ssl.SSLContext, a dict of cert/key"):
        never_started_app().run(ssl=42)  # type: ignore[arg-type]


def test_app_run_rejects_unknown_keywords() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'loop'"):
        never_started_app().run(loop=None)  # type: ignore[call-arg]


RUN_SCRIPT = """
from trioweb import App
from trioweb.response import json

app = App("run-keywords")

@app.get("/")
async def settings(request):
    c = request.app.config
    return json({"debug": c.DEBUG, "access_log": c.ACCESS_LOG, "backlog": c.BACKLOG})

app.run("127.0.0.1", 0, single_process=True, motd=False, debug=True, access_log=False,
        backlog=7, auto_reload=False)
"""


async def test_app_run_takes_sanics_keywords_and_serves_in_this_process() -> None:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", RUN_SCRIPT],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    try:
        with trio.fail_after(TIMEOUT):
            log = b""
            while not (found := re.search(rb"serving 'run-keywords' on (http://\S+)", log)):
                chunk = await process.stderr.receive_some(4096)
                assert chunk, log
                log += chunk
            assert b"workers" not in log  # no worker processes: this process serves
            async with httpx.AsyncClient() as client:
                r = await client.get(found.group(1).decode() + "/")
            assert r.json() == {"debug": True, "access_log": False, "backlog": 7}
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
