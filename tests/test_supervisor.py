"""Workers under a supervisor (``--workers N``), through real processes, signals and sockets.

Rules: see ``tests/processutil.py``. Requests the test must hold in flight go to ``/hold``,
which reports to a "gate" listener the test runs and then waits for the gate's word, so the
test knows, without any timing, which worker holds which request. ``/hold?block=1`` keeps its
whole worker from accepting until the gate speaks: the next connection must go to another
worker.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import h11
import httpx
import trio
import trio.testing

from trioweb import App, HTTPResponse, Request, Server
from trioweb.response import text
from trioweb.server.serve import TIMER_RESOLUTION

from .netutil import TIMEOUT, RawClient, request
from .processutil import SERVING, ServerProcess, server_process, trioweb

APP = """
import os
import socket

import trio

from trioweb import App
from trioweb.response import text

app = App("workers")


@app.get("/")
async def index(request):
    return text(str(os.getpid()))


@app.get("/hold")
async def hold(request):
    gate = socket.create_connection(("127.0.0.1", int(os.environ["GATE_PORT"])))
    gate.sendall(b"%d\\n" % os.getpid())
    if "block" in request.args:
        gate.recv(1)  # blocks this whole worker: it accepts nothing meanwhile
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(gate))
    await stream.receive_some(1)
    await stream.aclose()
    return text(f"done {os.getpid()}")


@app.before_server_start
async def refuse(app):
    marker = os.environ.get("FAIL_IF_EXISTS")
    if marker and os.path.exists(marker):
        raise RuntimeError("the database is not there")
"""

WORKERS_SERVING = SERVING + rb" with 2 workers"


def write_app(tmp_path: Path) -> str:
    (tmp_path / "workers_app.py").write_text(APP)
    return "workers_app.py:app"


def worker_pids(server: ServerProcess, after: int = 0) -> list[int]:
    return [int(m.group(1)) for m in server.all(rb"started worker (\d+)", after)]


async def open_gate() -> tuple[trio.SocketListener, int]:
    (gate,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    return gate, gate.socket.getsockname()[1]


async def visitor(gate: trio.SocketListener) -> tuple[trio.SocketStream, int]:
    """The next /hold request to reach the gate, and the pid of the worker that holds it."""
    with trio.fail_after(TIMEOUT):
        stream = await gate.accept()
        line = b""
        while not line.endswith(b"\n"):
            chunk = await stream.receive_some(64)
            assert chunk, line
            line += chunk
    return stream, int(line)


async def get(url: str) -> httpx.Response:
    """One GET on a connection of its own (no keep-alive connection races a draining worker)."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.get(url, headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return response


async def test_sigterm_drains_every_worker_and_answers_the_requests_in_flight(
    tmp_path: Path,
) -> None:
    gate, gate_port = await open_gate()
    argv = trioweb(write_app(tmp_path), "--port", "0", "--workers", "2")
    async with server_process(argv, tmp_path, {"GATE_PORT": str(gate_port)}) as server:
        url = (await server.wait_for(WORKERS_SERVING)).group(1).decode()
        answers: dict[str, str] = {}

        async def hold(name: str, path: str) -> None:
            answers[name] = (await get(url + path)).text

        async with trio.open_nursery() as nursery:
            nursery.start_soon(hold, "a", "/hold?block=1")
            held_a, pid_a = await visitor(gate)
            nursery.start_soon(hold, "b", "/hold")
            held_b, pid_b = await visitor(gate)
            # Two workers serve the one port: each holds one of the requests.
            assert sorted([pid_a, pid_b]) == sorted(worker_pids(server))
            await held_a.send_all(b"1")  # worker a is no longer blocked, its request waits
            start = server.signal(signal.SIGTERM)
            await server.wait_for(rb"SIGTERM: stopping 2 workers gracefully", start)
            for pid in (pid_a, pid_b):
                await server.wait_for(b"worker %d: SIGTERM: shutting down gracefully" % pid)
            await held_a.send_all(b"2")
            await held_b.send_all(b"1")
        assert answers == {"a": f"done {pid_a}", "b": f"done {pid_b}"}
        assert await server.exit_status() == 0
        for pid in (pid_a, pid_b):
            await server.wait_for(b"worker %d exited with status 0" % pid)
    await gate.aclose()


async def test_a_killed_worker_is_logged_and_replaced_while_the_port_answers(
    tmp_path: Path,
) -> None:
    async with server_process(
        trioweb(write_app(tmp_path), "--port", "0", "--workers", "2"), tmp_path
    ) as server:
        url = (await server.wait_for(WORKERS_SERVING)).group(1).decode()
        victim, survivor = worker_pids(server)
        os.kill(victim, signal.SIGKILL)
        # The survivor (or the replacement) answers; nothing is refused meanwhile.
        assert int((await get(url)).text) != victim
        logged = await server.wait_for(
            b"worker %d was killed by SIGKILL; starting another now" % victim
        )
        (replacement,) = worker_pids(server, logged.end())
        await server.wait_for(b"worker %d serving" % replacement)
        assert replacement not in (victim, survivor)
        assert int((await get(url)).text) in (survivor, replacement)
        start = server.signal(signal.SIGTERM)
        assert await server.exit_status() == 0
        await server.wait_for(b"worker %d exited with status 0" % replacement, start)


async def test_a_second_server_on_the_same_port_exits_1_with_one_line(tmp_path: Path) -> None:
    target = write_app(tmp_path)
    async with server_process(trioweb(target, "--port", "0", "--workers", "2"), tmp_path) as first:
        url = (await first.wait_for(WORKERS_SERVING)).group(1).decode()
        port = url.rsplit(":", 1)[1]
        with trio.fail_after(TIMEOUT):
            second = await trio.run_process(
                trioweb(target, "--port", port, "--workers", "2"),
                cwd=tmp_path,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        assert second.returncode == 1
        assert second.stderr.decode().splitlines() == [
            f"trioweb: error: address already in use: 127.0.0.1:{port}"
        ]
        assert second.stdout == b""
        await get(url)  # the first server was not disturbed


async def test_sighup_replaces_the_workers_one_by_one_while_requests_succeed(
    tmp_path: Path,
) -> None:
    async with server_process(
        trioweb(write_app(tmp_path), "--port", "0", "--workers", "2"), tmp_path
    ) as server:
        url = (await server.wait_for(WORKERS_SERVING)).group(1).decode()
        old = worker_pids(server)
        start = server.signal(signal.SIGHUP)
        answered_by: set[int] = set()
        with trio.fail_after(TIMEOUT):
            while not server.all(rb"SIGHUP: all workers replaced", start):
                answered_by.add(int((await get(url)).text))
        new = worker_pids(server, start)
        assert len(new) == 2
        assert not set(new) & set(old)
        for pid in old:
            await server.wait_for(b"worker %d exited with status 0" % pid, start)
        assert int((await get(url)).text) in new
        assert answered_by <= {*old, *new}


async def test_workers_that_fail_to_start_stop_the_supervisor_with_status_1(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "no-database"
    marker.touch()
    async with server_process(
        trioweb(write_app(tmp_path), "--port", "0", "--workers", "2"),
        tmp_path,
        {"FAIL_IF_EXISTS": str(marker)},
    ) as server:
        assert await server.exit_status() == 1
        await server.wait_for(rb"RuntimeError: the database is not there")
        await server.wait_for(rb"worker \d+ exited with status 1 before it served; stopping")
        assert not server.all(SERVING)


# The restart policy's delays are made short so the budget is spent in a fraction of a second.
BUDGET_SCRIPT = """
import sys
from trioweb.server import supervisor
from trioweb.server.run import RunOptions, run_app

supervisor.RESTART_POLICY = supervisor.RestartPolicy(first_delay=0.01, max_delay=0.02)
sys.exit(run_app(None, RunOptions(port=0, workers=2, app_target=sys.argv[1])))
"""


async def test_replacements_that_keep_failing_to_start_stop_the_supervisor(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "no-database"
    argv = [sys.executable, "-c", BUDGET_SCRIPT, write_app(tmp_path)]
    async with server_process(argv, tmp_path, {"FAIL_IF_EXISTS": str(marker)}) as server:
        await server.wait_for(WORKERS_SERVING)
        victim, survivor = worker_pids(server)
        marker.touch()  # from now on, a new worker fails in before_server_start
        os.kill(victim, signal.SIGKILL)
        assert await server.exit_status() == 1
        await server.wait_for(rb"exited with status 1 before it served, 5 times in a row; stopping")
        assert len(server.all(rb"before it served; starting another in")) == 4
        await server.wait_for(b"worker %d exited with status 0" % survivor)


# What makes replacing a worker lossless: a connection the old worker accepted just before it
# began draining is still answered. (In-process, on a clock that moves only when told.)


async def test_a_connection_accepted_just_before_the_drain_still_gets_its_answer(
    mock_clock: trio.testing.MockClock,
) -> None:
    app = App("late")

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("answered")

    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
        late = await RawClient.connect(server)
        silent = await RawClient.connect(server)
        await trio.testing.wait_all_tasks_blocked()
        assert len(server.connections) == 2  # both accepted, neither has sent a request
        nursery.start_soon(server.shutdown)
        await trio.testing.wait_all_tasks_blocked()
        assert server.draining
        await late.send(request("GET", "/"), h11.EndOfMessage())
        head, body = await late.response()
        assert (head.status_code, body) == (200, b"answered")
        assert (b"connection", b"close") in head.headers
        assert await late.read_until_closed() == b""
        # One that sends nothing is closed at the timekeeper's next sweep.
        mock_clock.jump(TIMER_RESOLUTION)
        assert await silent.read_until_closed() == b""
