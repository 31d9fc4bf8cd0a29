"""Listening sockets: `bind_sockets` (TCP, Unix, inherited fds), its one-line errors, and
``app.serve(unix=..., sock=...)`` end to end.

Network rules: see ``tests/netutil.py`` (127.0.0.1 port 0, every wait under ``fail_after``).
Unix sockets live in a short temporary folder: a socket path may not pass ~100 bytes.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from trioweb import App, Server
from trioweb.request import Request
from trioweb.response import HTTPResponse, json, text
from trioweb.server.serve import serve_listeners
from trioweb.server.sockets import (
    BindError,
    bind_sockets,
    close_sockets,
    describe,
    ensure_listening,
    listeners_from_sockets,
)

from .netutil import TIMEOUT


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tw-") as folder:
        yield Path(folder)


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def peer_app() -> App:
    app = App("peer")

    @app.get("/peer")
    async def peer(request: Request) -> HTTPResponse:
        return json({"ip": request.ip, "port": request.port, "client_ip": request.client_ip})

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("hi")

    return app


# --- TCP ---------------------------------------------------------------------------------


def test_bind_returns_a_listening_socket_and_describes_it() -> None:
    [sock] = bind_sockets("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        assert describe(sock) == f"127.0.0.1:{port}"
    finally:
        close_sockets([sock])


def test_a_busy_port_is_one_line_naming_the_address() -> None:
    [first] = bind_sockets("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        with pytest.raises(BindError) as caught:
            bind_sockets("127.0.0.1", port)
        assert str(caught.value) == f"address already in use: 127.0.0.1:{port}"
    finally:
        first.close()


def test_reuse_port_lets_two_sockets_share_a_port_only_when_both_ask() -> None:
    [first] = bind_sockets("127.0.0.1", 0, reuse_port=True)
    port = first.getsockname()[1]
    try:
        [second] = bind_sockets("127.0.0.1", port, reuse_port=True)
        second.close()
        with pytest.raises(BindError, match=r"^address already in use"):
            bind_sockets("127.0.0.1", port)
    finally:
        first.close()


def test_an_invalid_host_is_one_line() -> None:
    with pytest.raises(BindError) as caught:
        bind_sockets("256.1.1.1", 8000)
    message = str(caught.value)
    assert message.startswith("cannot bind 256.1.1.1:8000: ")
    assert "\n" not in message
    assert "[Errno" not in message


def test_an_address_this_host_does_not_have_is_one_line() -> None:
    with pytest.raises(BindError) as caught:
        bind_sockets("192.0.2.1", 0)  # TEST-NET-1: never a local address
    assert str(caught.value).startswith("cannot bind 192.0.2.1:0: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("port", [70000, -1, "80", True])
def test_a_port_out_of_range_is_refused(port: object) -> None:
    with pytest.raises(BindError) as caught:
        bind_sockets("127.0.0.1", port)  # type: ignore[arg-type]
    assert str(caught.value) == f"port must be 0-65535, got {port!r}"


def test_backlog_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="backlog must be at least 1, got 0"):
        bind_sockets("127.0.0.1", 0, backlog=0)


def test_localhost_port_zero_binds_every_address_on_one_port() -> None:
    sockets = bind_sockets("localhost", 0)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1
        shown = {describe(sock) for sock in sockets}
        port = ports.pop()
        assert f"127.0.0.1:{port}" in shown
        assert shown <= {f"127.0.0.1:{port}", f"[::1]:{port}"}
    finally:
        close_sockets(sockets)


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on this host")
def test_ipv6_sockets_are_v6_only_so_ipv4_can_bind_the_same_port() -> None:
    [v6] = bind_sockets("::", 0)
    port = v6.getsockname()[1]
    try:
        assert v6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        assert describe(v6) == f"[::]:{port}"
        [v4] = bind_sockets("0.0.0.0", port)
        v4.close()
    finally:
        v6.close()


# --- Unix sockets ------------------------------------------------------------------------


def test_unix_socket_with_mode_and_removed_by_close(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    [sock] = bind_sockets(unix=str(path), unix_mode=0o660)
    assert sock.family == socket.AF_UNIX
    assert describe(sock) == f"unix:{path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o660
    close_sockets([sock])
    assert not path.exists()
    close_sockets([sock])  # twice is harmless


def test_a_stale_unix_socket_file_is_replaced(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, as after a crash
    assert path.is_socket()
    [sock] = bind_sockets(unix=str(path))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))
    finally:
        close_sockets([sock])


def test_a_live_unix_socket_is_refused_and_left_alone(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    [live] = bind_sockets(unix=str(path))
    try:
        with pytest.raises(BindError) as caught:
            bind_sockets(unix=str(path))
        assert str(caught.value) == f"unix socket {path}: another server is listening on it"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))  # the first server still has its socket
    finally:
        close_sockets([live])


def test_a_file_that_is_not_a_socket_is_never_removed(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    path.write_text("precious")
    with pytest.raises(BindError) as caught:
        bind_sockets(unix=str(path))
    assert str(caught.value) == (
        f"unix socket {path}: the path exists and is not a socket; not removing it"
    )
    assert path.read_text() == "precious"


def test_a_unix_path_in_a_missing_folder_is_one_line(sock_dir: Path) -> None:
    path = sock_dir / "missing" / "app.sock"
    with pytest.raises(BindError) as caught:
        bind_sockets(unix=str(path))
    assert str(caught.value) == f"unix socket {path}: No such file or directory"


def test_close_leaves_a_socket_file_another_server_made_since(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    [old] = bind_sockets(unix=str(path))
    old_copy = socket.socket(fileno=os.dup(old.fileno()))  # keeps nothing listening after close
    old_copy.close()
    path.unlink()
    [new] = bind_sockets(unix=str(path))
    try:
        close_sockets([old])
        assert path.is_socket()
    finally:
        close_sockets([new])
    assert not path.exists()


# --- Inherited descriptors ---------------------------------------------------------------


def test_an_inherited_tcp_fd_is_adopted() -> None:
    [original] = bind_sockets("127.0.0.1", 0)
    try:
        [adopted] = bind_sockets(fd=os.dup(original.fileno()))
        assert adopted.family == socket.AF_INET
        assert describe(adopted) == describe(original)
        adopted.close()
    finally:
        original.close()


def test_an_inherited_unix_fd_is_adopted_and_its_file_left(sock_dir: Path) -> None:
    path = sock_dir / "app.sock"
    [original] = bind_sockets(unix=str(path))
    try:
        [adopted] = bind_sockets(fd=os.dup(original.fileno()))
        assert adopted.family == socket.AF_UNIX
        assert describe(adopted) == f"unix:{path}"
        close_sockets([adopted])
        assert path.exists()  # not ours: whoever bound it removes it
    finally:
        close_sockets([original])


def test_an_fd_that_is_not_listening_is_refused_and_not_closed() -> None:
    with socket.socket() as idle:
        with pytest.raises(BindError) as caught:
            bind_sockets(fd=idle.fileno())
        assert str(caught.value) == f"fd {idle.fileno()} is not a listening socket"
        os.fstat(idle.fileno())  # still open


def test_an_fd_that_is_not_a_socket_is_refused() -> None:
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(BindError) as caught:
            bind_sockets(fd=read_end)
        assert str(caught.value) == f"fd {read_end} is not a listening socket (not a socket)"
        os.fstat(read_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_closed_fd_is_one_line() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    os.close(write_end)
    with pytest.raises(BindError) as caught:
        bind_sockets(fd=read_end)
    assert str(caught.value) == f"fd {read_end} is not a listening socket: Bad file descriptor"


def test_unix_and_fd_together_are_refused() -> None:
    with pytest.raises(ValueError, match="unix= or fd="):
        bind_sockets(unix="/tmp/x.sock", fd=3)


# --- Serving -----------------------------------------------------------------------------


async def test_serve_on_a_busy_port_raises_one_bind_error() -> None:
    [busy] = bind_sockets("127.0.0.1", 0)
    port = busy.getsockname()[1]
    try:
        with trio.fail_after(TIMEOUT), pytest.raises(BindError) as caught:
            await peer_app().serve("127.0.0.1", port)
        assert str(caught.value) == f"address already in use: 127.0.0.1:{port}"
    finally:
        busy.close()


async def test_a_unix_socket_server_reached_by_httpx(
    sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "trioweb.access")
    path = sock_dir / "app.sock"
    app = peer_app()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(
                lambda task_status: app.serve(unix=path, unix_mode=0o600, task_status=task_status)
            )
            assert server.host == str(path)
            assert server.port == 0
            assert server.addresses == [f"unix:{path}"]
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            transport = httpx.AsyncHTTPTransport(uds=str(path))
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                response = await client.get("/peer")
            assert response.json() == {"ip": "", "port": 0, "client_ip": ""}
            await server.shutdown()
    assert not path.exists()  # the server removed the file it made
    assert any("/peer" in record.getMessage() for record in caplog.records)


async def test_a_unix_socket_behind_a_trusted_proxy_gets_the_client_address(
    sock_dir: Path,
) -> None:
    path = sock_dir / "app.sock"
    app = peer_app()
    app.config.PROXIES_COUNT = 1
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(
                lambda task_status: app.serve(unix=str(path), task_status=task_status)
            )
            transport = httpx.AsyncHTTPTransport(uds=str(path))
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                response = await client.get("/peer", headers={"X-Forwarded-For": "203.0.113.7"})
            assert response.json() == {"ip": "", "port": 0, "client_ip": "203.0.113.7"}
            await server.shutdown()


@pytest.mark.parametrize(("allow", "client_ip"), [("unix", "203.0.113.7"), ("127.0.0.1", "")])
async def test_forwarded_allow_ips_names_unix_socket_peers(
    sock_dir: Path, allow: str, client_ip: str
) -> None:
    path = sock_dir / "app.sock"
    app = peer_app()
    app.config.PROXIES_COUNT = 1
    app.config.FORWARDED_ALLOW_IPS = allow
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(
                lambda task_status: app.serve(unix=str(path), task_status=task_status)
            )
            transport = httpx.AsyncHTTPTransport(uds=str(path))
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                response = await client.get("/peer", headers={"X-Forwarded-For": "203.0.113.7"})
            assert response.json()["client_ip"] == client_ip
            await server.shutdown()


async def test_forwarded_allow_ips_ignores_proxy_headers_from_other_tcp_peers() -> None:
    app = peer_app()
    app.config.PROXIES_COUNT = 1
    app.config.FORWARDED_ALLOW_IPS = "10.0.0.0/8"
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
            async with httpx.AsyncClient() as client:
                response = await client.get(
                    server.url + "/peer", headers={"X-Forwarded-For": "203.0.113.7"}
                )
            assert response.json()["client_ip"] == "127.0.0.1"
            await server.shutdown()


async def test_serve_a_socket_you_opened_listening_or_not() -> None:
    mine = socket.socket()
    mine.bind(("127.0.0.1", 0))  # bound, not listening yet: serve() listens
    port = mine.getsockname()[1]
    app = peer_app()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(
                lambda task_status: app.serve(sock=mine, task_status=task_status)
            )
            assert server.url == f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as client:
                response = await client.get(server.url + "/peer")
            assert response.json()["ip"] == "127.0.0.1"
            await server.shutdown()
    assert mine.fileno() == -1  # closed when serving ended


def test_ensure_listening_refuses_a_datagram_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        with pytest.raises(BindError) as caught:
            ensure_listening(udp)
        assert str(caught.value) == (
            f"socket 127.0.0.1:{port} is not a stream (TCP or Unix) socket"
        )


async def test_sockets_bound_before_trio_serve_on_every_address() -> None:
    # What a parent process does before its workers: bind once, serve in each.
    sockets = bind_sockets("localhost", 0)
    app = peer_app()
    try:
        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                server: Server = await nursery.start(
                    serve_listeners, app, listeners_from_sockets(sockets)
                )
                assert server.addresses == [describe(sock) for sock in sockets]
                async with httpx.AsyncClient() as client:
                    for sock in sockets:
                        ip, port = sock.getsockname()[:2]
                        host = f"[{ip}]" if ":" in ip else ip
                        assert (await client.get(f"http://{host}:{port}/")).text == "hi"
                await server.shutdown()
    finally:
        close_sockets(sockets)
