"""``app.test_client()``: the real connection code over in-memory streams, streaming included."""

from __future__ import annotations

import sys
import typing
from importlib.metadata import entry_points

import pytest
import trio

import trioweb.testing
from trioweb import App
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, json, stream, text
from trioweb.testing import TestClient


async def test_streamed_response_arrives_piece_by_piece() -> None:
    app = App("pieces")
    first_seen = trio.Event()

    @app.get("/pieces")
    async def pieces(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write("first;")
            await first_seen.wait()  # only a client that got "first;" already can set this
            await response.write("second")

        return stream(body)

    with trio.fail_after(5):
        async with app.test_client() as client, client.stream("GET", "/pieces") as response:
            chunks = response.aiter_text()
            assert await chunks.__anext__() == "first;"
            first_seen.set()
            assert [rest async for rest in chunks] == ["second"]


async def test_closing_a_response_early_cancels_the_handler() -> None:
    app = App("early-close")
    cleaned_up = trio.Event()

    @app.get("/endless")
    async def endless(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            try:
                while True:
                    await response.write("tick\n")
                    await trio.lowlevel.checkpoint()
            finally:
                cleaned_up.set()

        return stream(body)

    with trio.fail_after(5):
        async with app.test_client() as client:
            async with client.stream("GET", "/endless") as response:
                async for line in response.aiter_lines():
                    assert line == "tick"
                    break
            await cleaned_up.wait()


async def test_listeners_run_around_the_client_session() -> None:
    app = App("listeners")
    seen: list[str] = []

    @app.before_server_start
    async def before_start(a: App) -> None:
        seen.append("before_start")

    @app.after_server_stop
    async def after_stop(a: App) -> None:
        seen.append("after_stop")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        seen.append("request")
        return text("ok")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert seen == ["before_start", "request", "after_stop"]


async def test_the_client_reuses_one_keep_alive_connection() -> None:
    app = App("reuse")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text(str(id(req.conn_info)))

    async with app.test_client() as client:
        first = (await client.get("/")).text
        second = (await client.get("/")).text
    assert first == second


@pytest.fixture
def app() -> App:
    app = App("fixture")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("from the fixture")

    return app


async def test_the_plugin_fixture_serves_the_app_fixture(trioweb_client: TestClient) -> None:
    assert (await trioweb_client.get("/")).text == "from the fixture"


def test_the_plugin_is_registered_under_its_own_module() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["trioweb"] == "trioweb.pytest_plugin"


# A program that cannot import pytest (as on a machine without it) still tests its app.
WITHOUT_PYTEST = """
import sys

class NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest", "pytest_trio"):
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, NoPytest())
try:
    import pytest
except ImportError:
    pass
else:
    raise SystemExit("the blocker did not block pytest")

import trio
from trioweb import App
from trioweb.response import text

app = App("no-pytest")

@app.get("/")
async def index(request):
    return text("served without pytest")

async def main():
    async with app.test_client() as client:
        print((await client.get("/")).text)

trio.run(main)
assert "pytest" not in sys.modules and "_pytest" not in sys.modules
"""


async def test_the_test_client_works_without_pytest() -> None:
    with trio.fail_after(30):
        done = await trio.run_process(
            [sys.executable, "-c", WITHOUT_PYTEST],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "served without pytest\n"


def test_test_client_is_typed_as_triowebs_client() -> None:
    # What mypy reads: `client.websocket(...)` type-checks in user code.
    hints = typing.get_type_hints(App.test_client, localns=vars(trioweb.testing))
    assert hints["return"] is TestClient
    assert isinstance(App().test_client(), TestClient)


# --- https:// base URLs ------------------------------------------------------------------------


def scheme_app() -> App:
    app = App("https")

    @app.get("/where")
    async def where(req: Request) -> HTTPResponse:
        return json({"scheme": req.scheme, "url": req.url})

    @app.post("/login")
    async def login(req: Request) -> HTTPResponse:
        response = text("welcome")
        response.add_cookie("session", "s3cret", httponly=True)  # Secure, as by default
        return response

    @app.get("/me")
    async def me(req: Request) -> HTTPResponse:
        return text(req.cookies.get("session") or "nobody")

    return app


async def test_an_https_base_url_is_served_as_https() -> None:
    async with scheme_app().test_client(base_url="https://testserver") as client:
        r = await client.get("/where", params={"q": "1"})
    assert r.status_code == 200
    assert r.json() == {"scheme": "https", "url": "https://testserver/where?q=1"}
    assert client.server is not None
    assert client.server.scheme == "https"


async def test_the_default_base_url_is_plain_http() -> None:
    async with scheme_app().test_client() as client:
        r = await client.get("/where")
    assert r.json() == {"scheme": "http", "url": "http://testserver/where"}


async def test_secure_cookies_come_back_over_https() -> None:
    async with scheme_app().test_client(base_url="https://testserver") as client:
        login = await client.post("/login")
        assert "Secure" in login.headers["set-cookie"]
        assert (await client.get("/me")).text == "s3cret"


async def test_secure_cookies_do_not_come_back_over_http() -> None:
    # What a browser does too, and why a test of a login needs the https base URL.
    async with scheme_app().test_client() as client:
        await client.post("/login")
        assert (await client.get("/me")).text == "nobody"


async def test_websockets_over_an_https_client() -> None:
    app = App("wss")

    @app.websocket("/ws")
    async def ws_handler(req: Request, ws: typing.Any) -> None:
        await ws.send_message(req.scheme)

    async with (
        app.test_client(base_url="https://testserver") as client,
        client.websocket("/ws") as ws,
    ):
        # The secure scheme reaches the handler (Sanic spells it "wss" for an upgrade).
        assert await ws.get_message() in {"https", "wss"}
