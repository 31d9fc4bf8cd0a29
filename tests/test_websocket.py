"""WebSockets on the HTTP port, with real trio-websocket clients (and a raw wsproto peer
where a client must misbehave). Network rules: see ``tests/netutil.py``.
"""

from __future__ import annotations

import asyncio

import pytest
import trio
import trio.testing
import trio_websocket
import wsproto
import wsproto.events
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection

from examples import chat
from trioweb import App, Blueprint, Request
from trioweb.exceptions import Forbidden
from trioweb.response import HTTPResponse, text

from .netutil import TIMEOUT, read_all, running


def ws_app() -> App:
    app = App("ws")
    app.ctx.events = []

    @app.websocket("/echo")
    async def echo(request: Request, ws: WebSocketConnection) -> None:
        while True:
            await ws.send_message(await ws.get_message())

    @app.websocket("/room/<room:int>/<who>")
    async def room(request: Request, ws: WebSocketConnection, room: int, who: str) -> None:
        await ws.send_message(f"{who} in room {room + 1}")

    @app.websocket("/proto", subprotocols=["v2", "v1"])
    async def proto(request: Request, ws: WebSocketConnection) -> None:
        await ws.send_message(str(ws.subprotocol))

    @app.websocket("/fail")
    async def fail(request: Request, ws: WebSocketConnection) -> None:
        raise RuntimeError("handler bug")

    @app.websocket("/foreign")
    async def foreign(request: Request, ws: WebSocketConnection) -> None:
        raise asyncio.CancelledError("from an asyncio library")

    @app.websocket("/wait")
    async def wait(request: Request, ws: WebSocketConnection) -> None:
        try:
            await ws.send_message("ready")
            await ws.get_message()
        except ConnectionClosed as exc:
            app.ctx.events.append(("closed", exc.reason.code))
            raise
        finally:
            app.ctx.events.append(("finished", None))

    @app.websocket("/quiet")
    async def quiet(request: Request, ws: WebSocketConnection) -> None:
        try:
            await trio.sleep_forever()
        finally:
            app.ctx.events.append(("quiet cancelled", None))

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("http too")

    return app


async def test_text_binary_and_a_500_kb_message_echo() -> None:
    async with ws_app().test_client() as client, client.websocket("/echo") as ws:
        await ws.send_message("hello")
        assert await ws.get_message() == "hello"
        await ws.send_message(b"\x00\xffbinary")
        assert await ws.get_message() == b"\x00\xffbinary"
        big = bytes(range(256)) * 2000
        await ws.send_message(big)
        assert await ws.get_message() == big


async def test_websocket_and_http_share_one_real_port() -> None:
    import httpx

    async with running(ws_app()) as server:
        with trio.fail_after(TIMEOUT):
            async with trio_websocket.open_websocket_url(
                f"ws://127.0.0.1:{server.port}/echo"
            ) as ws:
                await ws.send_message("over tcp")
                assert await ws.get_message() == "over tcp"
            async with httpx.AsyncClient() as http:
                assert (await http.get(server.url + "/")).text == "http too"


async def test_path_params_reach_the_handler() -> None:
    async with ws_app().test_client() as client, client.websocket("/room/41/ann") as ws:
        assert await ws.get_message() == "ann in room 42"


async def test_the_servers_preference_picks_the_subprotocol() -> None:
    async with ws_app().test_client() as client:
        async with client.websocket("/proto", subprotocols=["v1", "v2"]) as ws:
            assert ws.subprotocol == "v2"
            assert await ws.get_message() == "v2"
        async with client.websocket("/proto", subprotocols=["v1"]) as ws:
            assert await ws.get_message() == "v1"
        async with client.websocket("/proto", subprotocols=["v9"]) as ws:
            assert ws.subprotocol is None
            assert await ws.get_message() == "None"


async def test_middleware_can_refuse_the_upgrade_with_a_response_or_an_exception() -> None:
    app = ws_app()
    bp = Blueprint("private", url_prefix="/private")

    @bp.websocket("/feed")
    async def feed(request: Request, ws: WebSocketConnection) -> None:
        await ws.send_message("secret")  # pragma: no cover - always refused

    @bp.on_request
    async def members_only(request: Request) -> HTTPResponse | None:
        if request.headers.get("x-token") != "ok":
            raise Forbidden("members only")
        return None

    @app.on_request
    async def no_bots(request: Request) -> HTTPResponse | None:
        if request.headers.get("user-agent") == "bot":
            return text("go away", status=403)
        return None

    app.blueprint(bp)
    async with app.test_client() as client:
        with pytest.raises(ConnectionRejected) as rejected:
            async with client.websocket("/echo", headers={"User-Agent": "bot"}):
                pass  # pragma: no cover
        assert rejected.value.status_code == 403
        assert rejected.value.body == b"go away"
        with pytest.raises(ConnectionRejected) as rejected:
            async with client.websocket("/private/feed"):
                pass  # pragma: no cover
        assert rejected.value.status_code == 403
        async with client.websocket("/private/feed", headers={"X-Token": "ok"}) as ws:
            assert await ws.get_message() == "secret"


async def test_a_plain_get_on_a_websocket_route_is_426() -> None:
    async with ws_app().test_client() as client:
        response = await client.get("/echo")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"


async def test_a_returning_handler_closes_with_1000_and_a_raising_one_with_1011() -> None:
    async with ws_app().test_client() as client:
        async with client.websocket("/room/1/x") as ws:
            await ws.get_message()
            with pytest.raises(ConnectionClosed) as closed:
                await ws.get_message()
            assert closed.value.reason.code == 1000
        async with client.websocket("/fail") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.get_message()
            assert closed.value.reason.code == 1011


async def test_a_handler_raising_a_foreign_base_exception_closes_with_1011() -> None:
    """Not trio's own (asyncio's CancelledError from a library): a failure, not the end."""
    async with ws_app().test_client() as client:
        async with client.websocket("/foreign") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.get_message()
            assert closed.value.reason.code == 1011
        async with client.websocket("/echo") as ws:  # the server lives on
            await ws.send_message("still here")
            assert await ws.get_message() == "still here"


async def test_a_message_over_the_limit_closes_with_1009() -> None:
    app = ws_app()
    app.config.WEBSOCKET_MAX_SIZE = 1000
    async with app.test_client() as client, client.websocket("/echo") as ws:
        await ws.send_message("x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
        assert closed.value.reason.code == 1009


async def test_a_peer_disconnect_ends_the_handler() -> None:
    app = ws_app()
    async with app.test_client() as client:
        stream = await client.listener.connect()
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(nursery, stream, "t", "/wait")  # type: ignore[arg-type]
            assert await ws.get_message() == "ready"
            await stream.aclose()  # no close frame: the TCP connection just goes
            nursery.cancel_scope.cancel()
        with trio.fail_after(1):
            while ("finished", None) not in app.ctx.events:
                await trio.testing.wait_all_tasks_blocked()
        assert ("closed", 1006) in app.ctx.events


async def test_shutdown_closes_websockets_with_1001() -> None:
    app = ws_app()
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            async with trio_websocket.open_websocket_url(
                f"ws://127.0.0.1:{server.port}/wait"
            ) as ws:
                assert await ws.get_message() == "ready"
                await server.shutdown()
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
                assert closed.value.reason.code == 1001
    assert ("finished", None) in app.ctx.events  # the handler ended within the deadline


async def test_a_peer_that_never_answers_pings_is_closed_with_1011(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = ws_app()
    app.config.WEBSOCKET_PING_INTERVAL = 10
    app.config.WEBSOCKET_PING_TIMEOUT = 5
    async with app.test_client() as client:
        stream = await client.listener.connect()
        peer = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        await stream.send_all(peer.send(wsproto.events.Request(host="t", target="/quiet")))
        start = trio.current_time()
        close_code = None
        while close_code is None:
            data = await stream.receive_some(4096)  # read, but never answer a ping
            assert data, "closed without a close frame"
            peer.receive_data(data)
            for event in peer.events():
                if isinstance(event, wsproto.events.CloseConnection):
                    close_code = event.code
        assert close_code == 1011
        assert 15 <= trio.current_time() - start < 16
        assert ("quiet cancelled", None) in app.ctx.events


async def test_http_timeouts_do_not_apply_to_an_open_websocket(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = ws_app()
    app.config.REQUEST_TIMEOUT = 1
    app.config.RESPONSE_TIMEOUT = 1
    app.config.KEEP_ALIVE_TIMEOUT = 1
    async with app.test_client() as client, client.websocket("/echo") as ws:
        await trio.sleep(30)
        await ws.send_message("still here")
        assert await ws.get_message() == "still here"


async def test_chat_fans_out_to_100_concurrent_clients() -> None:
    app = chat.app
    app.ctx.room = chat.Room()
    clients = 100
    async with app.test_client() as client, trio.open_nursery() as nursery:
        sockets: list[WebSocketConnection] = []
        for i in range(clients):
            ws = await trio_websocket.wrap_client_stream(  # type: ignore[arg-type]
                nursery, await client.listener.connect(), "t", f"/chat/user{i}"
            )
            sockets.append(ws)
        members = (await client.get("/members")).json()
        assert len(members) == clients
        await sockets[0].send_message("hello everyone")
        with trio.fail_after(TIMEOUT):
            for ws in sockets:
                while (message := await ws.get_message()) != "user0: hello everyone":
                    assert message.startswith("* ")  # only join notices before it
        for ws in sockets:
            await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_chat_shows_a_binary_message_as_text_not_as_a_bytes_repr() -> None:
    app = chat.app
    app.ctx.room = chat.Room()
    async with app.test_client() as client, client.websocket("/chat/ann") as ann:
        with trio.fail_after(TIMEOUT):
            assert await ann.get_message() == "* ann joined"
            await ann.send_message("café".encode() + b"\xff")
            assert await ann.get_message() == "ann: café\ufffd"


async def test_a_broken_handshake_is_answered_and_the_connection_closed() -> None:
    cases = [
        (b"", b"400 Bad Request"),  # no Sec-WebSocket-Key
        (
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n",
            b"426 Upgrade Required",
        ),
    ]
    for extra, status in cases:
        async with ws_app().test_client() as client:
            stream = await client.listener.connect()
            await stream.send_all(
                b"GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n" + extra + b"\r\n"
            )
            with trio.fail_after(TIMEOUT):
                reply = await read_all(stream)
            assert reply.startswith(b"HTTP/1.1 " + status), reply
