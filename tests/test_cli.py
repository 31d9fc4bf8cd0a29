"""The command line, as a user deploying an app meets it: help, version, one-line errors with
exit status 1, and the serving options through real processes and sockets.

Network rules: see ``tests/netutil.py`` and ``tests/processutil.py`` (port 0, bounded waits,
the test stops what it starts).
"""

from __future__ import annotations

import re
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from trioweb.cli import build_parser

from .netutil import ROOT, TIMEOUT
from .processutil import server_process, trioweb


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m trioweb *args`` for a command that exits by itself."""
    return subprocess.run(
        trioweb(*args), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def test_help_groups_the_options_and_states_defaults() -> None:
    text = build_parser().format_help()
    for group in (
        "where to listen:",
        "processes:",
        "development:",
        "TLS:",
        "the app:",
        "logging:",
        "behind a proxy:",
    ):
        assert group in text
    for option, default in (
        ("--host", "127.0.0.1"),
        ("--port", "8000"),
        ("--workers", "1"),
        ("--reuse-port", "off"),
        ("--access-log", "on"),
        ("--log-level", "info"),
    ):
        assert re.search(rf"{re.escape(option)}.*?\(default: {re.escape(default)}\)", text, re.S)


def test_version_names_trioweb_and_what_it_runs_on() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"trioweb \S+ \(Python \S+, trio \S+, h11 \S+\)\n", done.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["examples.hello:app", "--workers", "0"], "workers must be at least 1, got 0"),
        (["examples.hello:app", "--host", "256.1.1.1", "--port", "0"], "cannot bind 256.1.1.1"),
        (["examples.hello:app", "--port", "70000"], "port must be an int from 0 to 65535"),
        (["nosuch.module:app"], "nosuch"),
        (["examples.hello:nothing"], "nothing"),
        (["examples.hello:app", "--tls-cert", "x.pem"], "TLS needs both a certificate and"),
        (["examples.hello:app", "--fast", "--reload"], "auto-reload serves with one process"),
        (["--simple", "/no/such/dir"], "/no/such/dir"),
    ],
)
def test_mistakes_are_one_line_and_exit_1(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("trioweb: error: ")
    assert message in lines[0]


def test_an_error_inside_the_users_module_shows_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import trioweb\nraise RuntimeError('my own bug')\n")
    done = run_cli("broken:app", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert 'broken.py", line 2' in done.stderr
    assert "RuntimeError: my own bug" in done.stderr


def test_the_app_and_simple_together_or_neither_are_refused_by_the_parser() -> None:
    assert run_cli().returncode == 2
    assert run_cli("examples.hello:app", "--simple", ".").returncode == 2


async def test_simple_serves_a_folder(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "notes.txt").write_text("hello")
    async with server_process(trioweb("--simple", str(tmp_path), "--port", "0"), ROOT) as server:
        base = await server.url()
        async with httpx.AsyncClient(base_url=base) as client:
            with trio.fail_after(TIMEOUT):
                assert (await client.get("/")).text == "<h1>home</h1>"
                assert (await client.get("/notes.txt")).text == "hello"


async def test_factory_calls_the_function_named(tmp_path: Path) -> None:
    (tmp_path / "made.py").write_text(
        "from trioweb import App, text\n"
        "def create_app():\n"
        "    app = App('made')\n"
        "    @app.get('/')\n"
        "    async def index(request):\n"
        "        return text('made by a factory')\n"
        "    return app\n"
    )
    argv = trioweb("made:create_app", "--factory", "--port", "0")
    async with server_process(argv, tmp_path) as server:
        base = await server.url()
        async with httpx.AsyncClient(base_url=base) as client:
            with trio.fail_after(TIMEOUT):
                assert (await client.get("/")).text == "made by a factory"


async def test_a_served_app_and_its_startup_state_are_kept_out_of_garbage_collection(
    tmp_path: Path,
) -> None:
    # A full collection walks every tracked object; the ones that live as long as the
    # server are frozen (gc.freeze), so collections under load stay short (p99 latency).
    (tmp_path / "heap.py").write_text(
        "import gc\n"
        "from trioweb import App, json\n"
        "app = App('heap')\n"
        "@app.before_server_start\n"
        "async def setup(app):\n"
        "    app.ctx.pool = [object() for _ in range(3)]\n"
        "@app.get('/')\n"
        "async def index(request):\n"
        "    def collected(thing):\n"
        "        return any(o is thing for g in (0, 1, 2) for o in gc.get_objects(g))\n"
        "    return json({'frozen': gc.get_freeze_count(), 'app': collected(app),\n"
        "                 'pool': collected(app.ctx.pool)})\n"
    )
    async with server_process(trioweb("heap:app", "--port", "0"), tmp_path) as server:
        base = await server.url()
        async with httpx.AsyncClient(base_url=base) as client:
            with trio.fail_after(TIMEOUT):
                seen = (await client.get("/")).json()
    assert seen["frozen"] > 1000
    assert (seen["app"], seen["pool"]) == (False, False)


async def test_https_from_the_command_line_verified_by_httpx(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    argv = trioweb(
        "examples.hello:app",
        "--port",
        "0",
        "--tls-cert",
        str(tmp_path / "server.pem"),
        "--tls-key",
        str(tmp_path / "key.pem"),
    )
    async with server_process(argv, ROOT) as server:
        found = await server.wait_for(rb"serving '[^']*' on (https://\S+)")
        context = ssl.create_default_context()
        ca.configure_trust(context)
        async with httpx.AsyncClient(base_url=found.group(1).decode(), verify=context) as client:
            with trio.fail_after(TIMEOUT):
                response = await client.get("/")
        assert response.status_code == 200
        assert response.url.scheme == "https"


async def test_a_unix_socket_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    argv = trioweb("tests.proxied_app:app", "--unix", str(path), "--unix-mode", "600")
    async with server_process(argv, ROOT) as server:
        await server.wait_for(rb"serving '[^']*' on unix:")
        assert path.stat().st_mode & 0o777 == 0o600
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            with trio.fail_after(TIMEOUT):
                seen = (await client.get("/whoami")).json()
        assert seen["ip"] == ""  # a Unix-socket peer has no address; none is made up
        server.signal(signal.SIGTERM)
        assert await server.exit_status() == 0
    assert not path.exists()  # the socket file is removed on exit


async def test_root_path_prefixes_urls_and_is_accepted_on_requests() -> None:
    argv = trioweb("tests.proxied_app:app", "--port", "0", "--root-path", "/api")
    async with server_process(argv, ROOT) as server:
        base = await server.url()
        async with httpx.AsyncClient(base_url=base) as client:
            with trio.fail_after(TIMEOUT):
                plain = (await client.get("/whoami")).json()
                prefixed = (await client.get("/api/whoami")).json()
    assert plain["url"].endswith("/api/whoami")
    assert prefixed == plain


def test_the_entry_point_script_is_installed() -> None:
    script = Path(sys.executable).parent / "trioweb"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.stdout.startswith("trioweb ")


def test_a_second_server_on_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("examples.hello:app", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip() == f"trioweb: error: address already in use: 127.0.0.1:{port}"
