"""The examples a newcomer reaches for first, run end to end as their docstrings say.

``json_api`` goes through the test client (the real h11 path over memory streams);
``embedding`` runs as a program of its own and inside this test's trio run, stopped by a
signal either way; ``reverse_proxy`` forwards to a second trioweb app on real sockets.
Network rules: see ``tests/netutil.py`` (port 0, every network wait under
``trio.fail_after``).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
import trio.testing

from examples import embedding, json_api, reverse_proxy
from trioweb import App, Request, Server, StreamingRequest
from trioweb.response import HTTPResponse, json, text

from .netutil import ROOT, TIMEOUT, running

# --- a JSON API with validation errors answered as 422 ---------------------------------------


async def test_json_api_creates_reads_updates_lists_and_deletes() -> None:
    async with json_api.app.test_client() as client:
        r = await client.post("/todos", json={"title": " buy milk ", "tags": ["shop", "shop"]})
        assert r.status_code == 201
        assert r.json() == {"id": 1, "title": "buy milk", "done": False, "tags": ["shop"]}
        assert r.headers["location"] == "/todos/1"
        # curl -d sends a form content type; the body is still read as JSON.
        r = await client.post(
            "/todos",
            content=b'{"title": "write tests"}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert (r.status_code, r.json()["id"]) == (201, 2)

        r = await client.patch("/todos/1", json={"done": True})
        assert r.json() == {"id": 1, "title": "buy milk", "done": True, "tags": ["shop"]}
        assert (await client.get("/todos/1")).json()["done"] is True
        assert [todo["id"] for todo in (await client.get("/todos")).json()] == [1, 2]
        assert [todo["id"] for todo in (await client.get("/todos?done=false")).json()] == [2]

        r = await client.delete("/todos/1")
        assert (r.status_code, r.content) == (204, b"")
        r = await client.get("/todos/1")
        assert r.status_code == 404
        assert r.json()["message"] == "no to-do 1"


async def test_json_api_answers_422_naming_every_bad_field() -> None:
    async with json_api.app.test_client() as client:
        r = await client.post("/todos", json={"title": "", "done": "yes", "tags": [1], "due": 3})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/json"
        assert r.json()["message"] == "the to-do is not valid"
        assert r.json()["context"] == {
            "errors": {
                "title": "must be a non-empty string",
                "done": "must be true or false",
                "tags": "must be a list of non-empty strings",
                "due": "is not a field of a to-do",
            }
        }
        r = await client.post("/todos", json={"title": "x" * 201})
        assert r.json()["context"]["errors"] == {"title": "must be at most 200 characters"}
        r = await client.post("/todos", json={})
        assert r.json()["context"]["errors"] == {"title": "is required"}
        r = await client.post("/todos", json=["a list"])
        assert (r.status_code, r.json()["context"]["errors"]) == (
            422,
            {"body": "expected a JSON object"},
        )
        await client.post("/todos", json={"title": "kept"})
        r = await client.patch("/todos/1", json={})
        assert r.json()["context"]["errors"] == {"body": "give at least one of title, done, tags"}
        assert (await client.get("/todos/1")).json()["title"] == "kept"


async def test_json_api_errors_are_json_whatever_the_client_accepts() -> None:
    async with json_api.app.test_client() as client:
        r = await client.post("/todos", content=b"{not json", headers={"accept": "*/*"})
        assert r.status_code == 400
        assert r.json()["message"].startswith("the request body is not valid JSON")
        r = await client.put("/todos/1")
        assert (r.status_code, r.headers["allow"]) == (405, "DELETE, GET, HEAD, PATCH")
        assert r.json()["status"] == 405
        r = await client.get("/todos?done=maybe")
        assert (r.status_code, r.json()["message"]) == (400, "done must be true or false")
        assert (await client.get("/todos/abc")).json()["status"] == 404


async def test_json_api_starts_empty_each_time_it_is_served() -> None:
    async with json_api.app.test_client() as client:
        await client.post("/todos", json={"title": "one"})
    async with json_api.app.test_client() as client:
        assert (await client.get("/todos")).json() == []


# --- embedding: the server next to other trio work, one signal stops both ----------------------


async def test_embedding_long_polls_the_sampler_and_stops_cleanly_on_sigterm() -> None:
    process = await trio.lowlevel.open_process(
        [sys.executable, "examples/embedding.py", "--port", "0", "--interval", "0.05"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    output = b""
    try:
        with trio.fail_after(TIMEOUT):
            while not (found := re.search(rb"listening on (http://\S+)\n", output)):
                chunk = await process.stdout.receive_some(4096)
                assert chunk, output
                output += chunk
            async with httpx.AsyncClient(base_url=found[1].decode()) as client:
                latest = (await client.get("/load")).json()
                assert latest["n"] >= 1
                assert len(latest["load"]) == 3
                r = await client.get("/load", params={"after": latest["n"]})
                assert r.json()["n"] == latest["n"] + 1  # answered by the next sample
                assert (await client.get("/load?after=-1")).status_code == 400
            process.send_signal(signal.SIGTERM)
            while chunk := await process.stdout.receive_some(4096):
                output += chunk
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert output.endswith(b"SIGTERM: stopping\nstopped\n"), output


async def test_embedding_answers_a_request_in_flight_before_it_stops() -> None:
    answers: list[int] = []
    async with httpx.AsyncClient() as client, trio.open_nursery() as nursery:
        # A sample a second: the long poll below is still waiting when the signal comes.
        server: Server = await nursery.start(embedding.main, "127.0.0.1", 0, 1.0)
        with trio.fail_after(TIMEOUT):
            first = (await client.get(f"{server.url}/load")).json()["n"]

            async def long_poll() -> None:
                r = await client.get(f"{server.url}/load", params={"after": first})
                answers.append(r.json()["n"])

            nursery.start_soon(long_poll)
            await trio.testing.wait_all_tasks_blocked(cushion=0.01)  # it waits in the handler
            os.kill(os.getpid(), signal.SIGINT)  # main() turns it into a clean stop
    assert answers == [first + 1]


# --- a reverse proxy streaming both ways -------------------------------------------------------

upstream = App("upstream")


@upstream.post("/echo", stream=True)
async def echo(request: StreamingRequest) -> None:
    response = await request.respond(content_type="application/octet-stream")
    async for chunk in request.stream:
        await response.send(chunk)


@upstream.get("/")
async def root(request: Request) -> HTTPResponse:
    response = text(f"root {request.query_string}", headers={"X-Upstream": "yes"})
    response.headers.add("Set-Cookie", "a=1")
    response.headers.add("Set-Cookie", "b=2")
    return response


@upstream.route("/seen", methods=["GET", "DELETE"])
async def seen(request: Request) -> HTTPResponse:
    return json(
        {name: request.headers.getall(name) for name in request.headers},
        status=202 if request.method == "DELETE" else 200,
        headers={"Connection": "X-Private", "X-Private": "hop", "Keep-Alive": "timeout=5"},
    )


@upstream.post("/slow", stream=True)
async def slow(request: StreamingRequest) -> HTTPResponse:
    upstream.ctx.reading.set()
    try:
        async for _ in request.stream:
            pass
    finally:
        upstream.ctx.ended.set()
    return text("done")


@pytest.fixture
async def proxied() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the reverse proxy, which forwards to ``upstream``; both on real sockets."""
    saved = reverse_proxy.app.config.UPSTREAM
    async with running(upstream) as up:
        reverse_proxy.app.config.UPSTREAM = up.url
        try:
            async with (
                running(reverse_proxy.app) as proxy,
                httpx.AsyncClient(base_url=proxy.url) as client,
            ):
                yield client
        finally:
            reverse_proxy.app.config.UPSTREAM = saved


BODY_SIZE = 50 * 1024 * 1024


async def large_body() -> AsyncIterator[bytes]:
    block = bytes(range(256)) * 256  # 64 KiB
    for _ in range(BODY_SIZE // len(block)):
        yield block


async def test_reverse_proxy_streams_50_mb_both_ways_in_flat_memory(
    proxied: httpx.AsyncClient,
) -> None:
    sent = hashlib.sha256()
    async for block in large_body():
        sent.update(block)
    received = hashlib.sha256()
    size = 0
    tracemalloc.start()
    try:
        with trio.fail_after(60):
            async with proxied.stream("POST", "/echo", content=large_body()) as r:
                assert r.status_code == 200
                assert r.headers["transfer-encoding"] == "chunked"
                async for chunk in r.aiter_raw():
                    received.update(chunk)
                    size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (size, received.hexdigest()) == (BODY_SIZE, sent.hexdigest())
    # Client, proxy and upstream share this process: none of them held the body whole.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB of traced memory"


async def test_reverse_proxy_forwards_paths_queries_statuses_and_headers(
    proxied: httpx.AsyncClient,
) -> None:
    with trio.fail_after(TIMEOUT):
        r = await proxied.get("/?q=1&q=2")
        assert (r.status_code, r.text) == (200, "root q=1&q=2")
        assert r.headers["x-upstream"] == "yes"
        assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
        r = await proxied.head("/")
        assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "5")
        r = await proxied.get("/nothing/here")
        assert r.status_code == 404

        r = await proxied.request(
            "DELETE",
            "/seen",
            headers={
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Host": "spoofed.example",
                "Connection": "X-Trace",
                "X-Trace": "for this hop only",
                "Cookie": "k=v",
            },
        )
        assert r.status_code == 202
        seen = r.json()
        assert seen["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
        assert seen["x-forwarded-proto"] == ["http"]
        assert seen["x-forwarded-host"] == [proxied.base_url.netloc.decode()]
        assert seen["cookie"] == ["k=v"]
        assert "x-trace" not in seen
        # The upstream's own hop-by-hop headers stay between it and the proxy.
        assert "x-private" not in r.headers
        assert "keep-alive" not in r.headers
        # httpx's default headers are not added to a request that did not send them.
        del proxied.headers["accept"], proxied.headers["user-agent"]
        seen = (await proxied.get("/seen")).json()
        assert "accept" not in seen
        assert "user-agent" not in seen


async def test_reverse_proxy_answers_502_when_the_upstream_is_down() -> None:
    with trio.socket.socket() as probe:  # a port that nothing listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = reverse_proxy.app.config.UPSTREAM
    reverse_proxy.app.config.UPSTREAM = f"http://127.0.0.1:{port}"
    try:
        async with (
            running(reverse_proxy.app) as proxy,
            httpx.AsyncClient(base_url=proxy.url) as client,
        ):
            with trio.fail_after(TIMEOUT):
                r = await client.get("/anything")
    finally:
        reverse_proxy.app.config.UPSTREAM = saved
    assert r.status_code == 502
    assert r.text == f"502 http://127.0.0.1:{port} cannot be reached\n"


async def test_reverse_proxy_a_client_that_leaves_ends_the_upstream_request(
    proxied: httpx.AsyncClient,
) -> None:
    upstream.ctx.reading = trio.Event()
    upstream.ctx.ended = trio.Event()
    host, port = proxied.base_url.host, proxied.base_url.port
    assert port is not None
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_tcp_stream(host, port)
        await stream.send_all(
            b"POST /slow HTTP/1.1\r\nHost: proxy\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000
        )
        await upstream.ctx.reading.wait()  # the upload reached the upstream
        await stream.aclose()  # the client goes away mid-upload
        await upstream.ctx.ended.wait()  # ... and the upstream's request ends too


# --- the README's quick start ---------------------------------------------------------------


def test_the_readme_app_is_examples_hello() -> None:
    readme = (ROOT / "README.md").read_text()
    app = re.search(r"^```python\n(.*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert app is not None
    assert (ROOT / "examples" / "hello.py").read_text().endswith("\n\n" + app[1])


def test_ci_runs_the_readme_commands_as_written() -> None:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    commands = re.findall(r"^```sh\n(python3 -m venv .*)\n```$", quick_start, re.MULTILINE)
    serve, test = commands
    assert serve.endswith(" && .venv/bin/python examples/hello.py")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"{test} || exit $?" in ci  # set -e alone would miss a failed install
