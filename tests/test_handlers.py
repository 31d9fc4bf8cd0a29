"""What a handler may be: plain ``def`` handlers in worker threads, results middleware shapes.

Everything goes through ``app.test_client()`` (the real h11 connection code in memory).
Threads are synchronised with `threading.Event` and trio's `wait_all_tasks_blocked`, never
with sleeps.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import trio
import trio.testing

from trioweb import App, CompositionView, HTTPMethodView, Request
from trioweb.response import HTTPResponse, json, text

from .netutil import TIMEOUT


async def test_a_plain_def_handler_runs_in_a_worker_thread() -> None:
    app = App("sync")

    @app.get("/where")
    def where(request: Request) -> HTTPResponse:
        return text("main" if threading.current_thread() is threading.main_thread() else "worker")

    async with app.test_client() as client:
        response = await client.get("/where")
    assert (response.status_code, response.text) == (200, "worker")


async def test_a_blocked_sync_handler_does_not_stall_other_requests() -> None:
    app = App("not-stalled")
    release = threading.Event()

    @app.get("/slow")
    def slow(request: Request) -> HTTPResponse:
        release.wait(TIMEOUT)
        return text("slow done")

    @app.get("/fast")
    async def fast(request: Request) -> HTTPResponse:
        return text("fast")

    results: dict[str, str] = {}
    async with app.test_client() as client:

        async def get(path: str) -> None:
            results[path] = (await client.get(path)).text

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(get, "/slow")
                await trio.testing.wait_all_tasks_blocked()
                await get("/fast")  # served while /slow holds its thread
                assert results == {"/fast": "fast"}
                release.set()
    assert results == {"/fast": "fast", "/slow": "slow done"}


async def test_sync_handlers_share_a_bounded_number_of_threads() -> None:
    app = App("limited")
    app.config.SYNC_HANDLER_THREADS = 1
    release, first_running = threading.Event(), threading.Event()
    running: list[str] = []

    @app.get("/<name>")
    def hold(request: Request, name: str) -> HTTPResponse:
        running.append(name)
        first_running.set()
        release.wait(TIMEOUT)
        return text(name)

    async with app.test_client() as client:
        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.get, "/first")
                nursery.start_soon(client.get, "/second")
                await trio.to_thread.run_sync(first_running.wait, TIMEOUT)
                await trio.testing.wait_all_tasks_blocked()
                assert app.thread_limiter.statistics().tasks_waiting == 1
                assert len(running) == 1
                release.set()
    assert sorted(running) == ["first", "second"]


async def test_a_plain_function_returning_a_coroutine_is_awaited() -> None:
    app = App("wrapped")

    async def real(request: Request) -> HTTPResponse:
        return text("awaited")

    def wrapper(request: Request) -> Any:  # a decorator written without async def
        return real(request)

    app.add_route(wrapper, "/")
    async with app.test_client() as client:
        assert (await client.get("/")).text == "awaited"


async def test_sync_view_methods_and_composition_handlers() -> None:
    class Items(HTTPMethodView):
        def get(self, request: Request) -> HTTPResponse:
            return text("sync view")

        async def post(self, request: Request) -> HTTPResponse:
            return text("async view")

    def listing(request: Request) -> HTTPResponse:
        return text("sync composed")

    composed = CompositionView()
    composed.add(["GET"], listing)
    app = App("views")
    app.add_route(Items.as_view(), "/items")
    app.add_route(composed, "/composed")
    async with app.test_client() as client:
        assert (await client.get("/items")).text == "sync view"
        assert (await client.post("/items")).text == "async view"
        assert (await client.get("/composed")).text == "sync composed"


async def test_a_dict_result_is_turned_into_a_response_by_response_middleware() -> None:
    app = App("dicts")

    @app.get("/data")
    async def data(request: Request) -> dict[str, int]:
        return {"answer": 42}

    @app.on_response
    async def to_json(request: Request, response: Any) -> HTTPResponse | None:
        return json(response) if isinstance(response, dict) else None

    async with app.test_client() as client:
        response = await client.get("/data")
    assert response.json() == {"answer": 42}


async def test_a_result_nothing_turns_into_a_response_is_a_500() -> None:
    app = App("no-conversion")

    @app.get("/data")
    async def data(request: Request) -> dict[str, int]:
        return {"answer": 42}

    @app.on_response
    async def leave_it(request: Request, response: Any) -> None:
        return None

    async with app.test_client() as client:
        response = await client.get("/data")
    assert response.status_code == 500
    assert "answer" not in response.text


async def test_a_sync_handler_past_the_response_timeout_still_gets_its_503(
    mock_clock: trio.testing.MockClock,
) -> None:
    # The clock moves only when the test says: a thread and an autojumping clock would race.
    app = App("sync-timeout")
    app.config.RESPONSE_TIMEOUT = 3
    entered, release = threading.Event(), threading.Event()

    @app.get("/slow")
    def slow(request: Request) -> HTTPResponse:
        entered.set()
        release.wait(TIMEOUT)
        return text("too late")

    responses: list[httpx.Response] = []
    async with app.test_client() as client:

        async def get() -> None:
            responses.append(await client.get("/slow"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(get)
            await trio.to_thread.run_sync(entered.wait, TIMEOUT)
            mock_clock.jump(4)  # past RESPONSE_TIMEOUT while the thread still runs
            await trio.testing.wait_all_tasks_blocked()
            release.set()
    assert responses[0].status_code == 503
