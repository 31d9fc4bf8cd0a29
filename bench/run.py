"""Benchmark trioweb against the trio + h11 floor and its peers, and print a Markdown table.

Every server is measured in turn, in one run, for several rounds (the order rotates each round):

    floor              bench/floor.py, a minimal hand-written trio + h11 server
    trioweb            bench/trioweb_app.py
    hypercorn-trio     Hypercorn --worker-class trio serving bench/starlette_app.py
    uvicorn-h11        Uvicorn --http h11 --loop asyncio serving bench/starlette_app.py
    uvicorn-httptools  Uvicorn --http httptools serving bench/starlette_app.py, on uvloop
                       when it is installed (``--loop uvloop``), else ``--loop asyncio``
    sanic              bench/sanic_app.py: Sanic's own server, one worker, single process
                       (on uvloop when it is installed, Sanic's default)

A peer whose packages are not installed is skipped with a note (``nox -s bench`` installs
them all). Each server runs on one core (``taskset -c 0``), the load generators on another
(core 1). Per server and round: wrk with 1 and 64 connections on ``/``, ``/json`` and
``/user/42`` (req/s and p99 latency), a 100 MiB upload to ``/echo`` and a 100 MiB download of
``/stream`` (MB/s, curl or a small trio + h11 client). For every single-process server (all
but Hypercorn, whose worker is a child process), each on a fresh process: the peak RSS growth
while a 1 GiB upload streams into a slow consumer (``/slow-echo``), and RSS per idle keep-alive
connection with 1,000 open. The table shows medians over rounds and ratios; absolute numbers
drift on a shared machine, the ratios hold. See docs/performance.md.

    python bench/run.py --rounds 3 --duration 5 [--output results.md] [--baseline dda13d4]

``--baseline REV`` adds trioweb at another commit as a peer (checked out into a temporary git
worktree), so a change is measured against what it replaces in the same run.

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h11
import trio

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MiB = 1024 * 1024
TRANSFER_SIZE = 100 * MiB
WRK_PATHS = ("/", "/json", "/user/42")
WRK_CONNECTIONS = (1, 64)
TRANSFER_REPEATS = 5
# Uvicorn-httptools runs as `uvicorn[standard]` deploys it: on uvloop when it is installed.
UVLOOP = importlib.util.find_spec("uvloop") is not None
UVICORN_LOOP = "uvloop" if UVLOOP else "asyncio"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """One server under test: how to start it on a port, and what is measured on it."""

    name: str
    label: str
    argv: Callable[[int], list[str]]
    needs: tuple[str, ...] = ()  # importable modules it needs (the peers)
    memory: bool = False  # measure RSS (single-process servers only)
    cwd: Path = ROOT
    env: tuple[tuple[str, str], ...] = ()  # added to the environment


SERVERS = (
    Server(
        "floor",
        "floor (trio + h11)",
        lambda port: [sys.executable, str(BENCH / "floor.py"), str(port)],
        memory=True,
    ),
    Server(
        "trioweb",
        "trioweb",
        lambda port: [sys.executable, str(BENCH / "trioweb_app.py"), str(port)],
        memory=True,
    ),
    Server(
        "hypercorn-trio",
        "Hypercorn-trio + Starlette",
        lambda port: [
            sys.executable,
            "-m",
            "hypercorn",
            "--worker-class",
            "trio",
            "--bind",
            f"127.0.0.1:{port}",
            "bench.starlette_app:app",
        ],
        needs=("hypercorn", "starlette"),
    ),
    Server(
        "uvicorn-h11",
        "Uvicorn-h11 + Starlette",
        lambda port: [
            sys.executable,
            "-m",
            "uvicorn",
            "--http",
            "h11",
            "--loop",
            "asyncio",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "bench.starlette_app:app",
        ],
        needs=("uvicorn", "starlette"),
        memory=True,
    ),
    Server(
        "uvicorn-httptools",
        "Uvicorn-httptools + Starlette",
        lambda port: [
            sys.executable,
            "-m",
            "uvicorn",
            "--http",
            "httptools",
            "--loop",
            UVICORN_LOOP,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "bench.starlette_app:app",
        ],
        needs=("uvicorn", "httptools", "starlette"),
        memory=True,
    ),
    Server(
        "sanic",
        "Sanic",
        lambda port: [sys.executable, str(BENCH / "sanic_app.py"), str(port)],
        needs=("sanic",),
        memory=True,
    ),
)
FLOOR, TRIOWEB, BASELINE, SANIC = "floor", "trioweb", "baseline", "sanic"


def baseline_server(revision: str, workdir: Path) -> Server:
    """trioweb at ``revision``, checked out into a git worktree under ``workdir``."""
    tree = workdir / f"trioweb-{revision}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(tree), revision],
        check=True,
        capture_output=True,
    )
    app = tree / "bench" / "trioweb_app.py"
    return Server(
        BASELINE,
        f"trioweb@{revision}",
        lambda port: [sys.executable, str(app), str(port)],
        memory=True,
        cwd=tree,
        env=(("PYTHONPATH", str(tree)),),
    )


def remove_worktree(server: Server) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(server.cwd)],
        capture_output=True,
    )


@dataclass(frozen=True)
class Pinning:
    server: list[str]  # command prefix for servers, e.g. ["taskset", "-c", "0"]
    client: list[str]  # command prefix for wrk and curl
    note: str
    server_cpu: int | None = None  # the core the servers have to themselves, when pinned


def pinning() -> Pinning:
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cpus) < 2:
        why = "taskset not found" if shutil.which("taskset") is None else "fewer than 2 cores"
        return Pinning(
            [],
            [],
            f"unpinned ({why}): server and load generator share the cores;"
            " their numbers include the load generator's share of the CPU",
        )
    server_cpu, client_cpu = cpus[0], cpus[1]
    # This process (the trio client, /proc sampling) stays off the server's core too.
    os.sched_setaffinity(0, {client_cpu})
    return Pinning(
        ["taskset", "-c", str(server_cpu)],
        ["taskset", "-c", str(client_cpu)],
        f"server on core {server_cpu}, load generator on core {client_cpu} (taskset)",
        server_cpu,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerFailed(Exception):
    """A server did not start, or answered an endpoint wrongly."""


@contextlib.contextmanager
def running(server: Server, pin: Pinning, logdir: Path) -> Iterator[tuple[int, int]]:
    """Start ``server`` on a free port, wait until it answers; yields (port, pid); stops it.

    The server runs in its own process group: SIGTERM goes to the group (Hypercorn's worker is
    a child process), SIGKILL after 20 s. Not SIGINT: a shell that starts this script in the
    background makes its children ignore SIGINT.
    """
    port = free_port()
    logfile = logdir / f"{server.name}-{port}.log"
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            [*pin.server, *server.argv(port)],
            cwd=server.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **dict(server.env)},
        )
    try:
        deadline = time.monotonic() + 30
        while not answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = logfile.read_text(errors="replace")[-2000:]
                raise ServerFailed(f"{server.name} did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def answers(port: int) -> bool:
    try:
        status, _ = fetch(port, "GET", "/")
    except OSError:
        return False
    return status == 200


def fetch(port: int, method: str, target: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check_endpoints(server: Server, port: int) -> None:
    """Every server must answer the same endpoints the same way before it is measured."""
    expected: list[tuple[str, str, bytes | None, bytes]] = [
        ("GET", "/", None, b"Hello, world"),
        ("GET", "/user/42", None, b"user 42"),
        ("POST", "/echo", b"hello", b"5"),
        ("POST", "/slow-echo", b"hello", b"5"),
    ]
    for method, target, body, answer in expected:
        status, got = fetch(port, method, target, body)
        if (status, got) != (200, answer):
            raise ServerFailed(f"{server.name}: {method} {target} -> {status} {got[:80]!r}")
    status, got = fetch(port, "GET", "/json")
    if status != 200 or json.loads(got) != {"message": "Hello, world"}:
        raise ServerFailed(f"{server.name}: GET /json -> {status} {got[:80]!r}")


# -- wrk ---------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p99_ms: float
    errors: str  # "" when wrk reported no socket errors and no non-2xx responses


def run_wrk(pin: Pinning, url: str, connections: int, duration: int) -> WrkResult:
    out = subprocess.run(
        [*pin.client, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if rps is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    errors = [
        line.strip() for line in out.splitlines() if "Socket errors" in line or "Non-2xx" in line
    ]
    return WrkResult(float(rps[1]), float(p99[1]) * UNITS[p99[2]], "; ".join(errors))


# -- a small trio + h11 client -----------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection driven by h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> Client:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def send(self, *events: h11.Event) -> None:
        data = b"".join(self.conn.send(event) or b"" for event in events)
        await self.stream.send_all(data)

    async def response(self, keep_body: bool = True) -> tuple[int, bytes, int]:
        """The status, the body (if ``keep_body``) and the body's length."""
        status, body, size = 0, bytearray(), 0
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.stream.receive_some(256 * 1024))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if keep_body:
                    body += event.data
            elif isinstance(event, h11.EndOfMessage):
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                return status, bytes(body), size
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed mid-response")

    async def get(self, target: str) -> tuple[int, bytes]:
        await self.send(
            h11.Request(method="GET", target=target, headers=[("Host", "bench")]),
            h11.EndOfMessage(),
        )
        status, body, _ = await self.response()
        return status, body

    async def upload(self, target: str, size: int, chunk: bytes) -> tuple[int, bytes]:
        """POST ``size`` bytes with Content-Length, ``chunk`` at a time (no Expect)."""
        head = [
            ("Host", "bench"),
            ("Content-Length", str(size)),
            ("Content-Type", "application/octet-stream"),
        ]
        await self.send(h11.Request(method="POST", target=target, headers=head))
        sent = 0
        while sent < size:
            piece = min(len(chunk), size - sent)
            data = chunk if piece == len(chunk) else chunk[:piece]
            await self.stream.send_all(self.conn.send(h11.Data(data=data)) or b"")
            sent += piece
        await self.send(h11.EndOfMessage())
        status, body, _ = await self.response()
        return status, body


# -- transfers ---------------------------------------------------------------------------------


def upload_curl(pin: Pinning, port: int, path: Path) -> float:
    """Seconds to POST the file to /echo with curl (Content-Length, no Expect)."""
    out = subprocess.run(
        [
            *pin.client,
            "curl",
            "-sS",
            "-X",
            "POST",
            "-H",
            "Expect:",
            "-H",
            "Content-Type: application/octet-stream",
            "-T",
            str(path),
            "-w",
            r"\n%{http_code} %{time_total}",
            f"http://127.0.0.1:{port}/echo",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body, _, tail = out.rpartition("\n")
    code, seconds = tail.split()
    if code != "200" or body.strip() != str(TRANSFER_SIZE):
        raise RuntimeError(f"upload answered {code} {body[:80]!r}")
    return float(seconds)


def download_curl(pin: Pinning, port: int) -> float:
    """Seconds to GET /stream with curl, the body thrown away."""
    out = subprocess.run(
        [
            *pin.client,
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download} %{time_total}",
            f"http://127.0.0.1:{port}/stream",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    code, size, seconds = out.split()
    if code != "200" or int(size) != TRANSFER_SIZE:
        raise RuntimeError(f"download answered {code} with {size} bytes")
    return float(seconds)


async def upload_h11(port: int) -> float:
    client = await Client.connect(port)
    async with client.stream:
        start = time.perf_counter()
        status, body = await client.upload("/echo", TRANSFER_SIZE, bytes(256 * 1024))
        seconds = time.perf_counter() - start
    if (status, body) != (200, str(TRANSFER_SIZE).encode()):
        raise RuntimeError(f"upload answered {status} {body[:80]!r}")
    return seconds


async def download_h11(port: int) -> float:
    client = await Client.connect(port)
    async with client.stream:
        start = time.perf_counter()
        await client.send(
            h11.Request(method="GET", target="/stream", headers=[("Host", "bench")]),
            h11.EndOfMessage(),
        )
        status, _, size = await client.response(keep_body=False)
        seconds = time.perf_counter() - start
    if (status, size) != (200, TRANSFER_SIZE):
        raise RuntimeError(f"download answered {status} with {size} bytes")
    return seconds


# -- memory ------------------------------------------------------------------------------------


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, own process or root)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def slow_upload_growth(port: int, pid: int, size: int) -> tuple[int, float]:
    """Peak RSS growth (bytes) while ``size`` bytes stream into /slow-echo; and the seconds.

    VmHWM is reset first where the kernel allows; VmRSS is also sampled every 20 ms, and the
    larger peak counts.
    """
    client = await Client.connect(port)
    async with client.stream:
        for _ in range(20):
            await client.get("/")
        await trio.sleep(0.5)
        before = proc_status(pid, "VmRSS")
        reset = reset_peak_rss(pid)
        sampled = before
        async with trio.open_nursery() as nursery:

            async def sample() -> None:
                nonlocal sampled
                while True:
                    sampled = max(sampled, proc_status(pid, "VmRSS"))
                    await trio.sleep(0.02)

            nursery.start_soon(sample)
            start = time.perf_counter()
            with trio.fail_after(900):
                status, body = await client.upload("/slow-echo", size, bytes(64 * 1024))
            seconds = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    if (status, body) != (200, str(size).encode()):
        raise RuntimeError(f"slow upload answered {status} {body[:80]!r}")
    peak = max(sampled, proc_status(pid, "VmHWM") if reset else 0)
    return peak - before, seconds


async def idle_rss_per_connection(
    port: int, pid: int, count: int, requests: int
) -> tuple[float, int, int]:
    """RSS growth per idle keep-alive connection with ``count`` open, after ``requests`` each.

    ``requests=0``: connected and silent, as a browser's spare connection is; ``1``: after
    one request, waiting for the next. Returns (bytes per connection, connections opened,
    connections still answering after).
    """
    for _ in range(10):  # warm the connection path: a few connections, one request each
        client = await Client.connect(port)
        async with client.stream:
            await client.get("/")
    await trio.sleep(0.5)
    before = proc_status(pid, "VmRSS")
    clients: list[Client] = []
    limiter = trio.CapacityLimiter(64)

    async def open_one() -> None:
        async with limiter:
            with contextlib.suppress(OSError, ConnectionError, trio.BrokenResourceError):
                client = await Client.connect(port)
                clients.append(client)
                for _ in range(requests):
                    await client.get("/")

    try:
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(open_one)
        await trio.sleep(1.0)
        after = proc_status(pid, "VmRSS")
        alive = 0

        async def still_answers(client: Client) -> None:
            nonlocal alive
            with contextlib.suppress(
                OSError, ConnectionError, trio.BrokenResourceError, h11.ProtocolError
            ):
                if (await client.get("/"))[0] == 200:
                    alive += 1

        async with trio.open_nursery() as nursery:
            for client in clients:
                nursery.start_soon(still_answers, client)
    finally:
        for client in clients:
            await trio.aclose_forcefully(client.stream)
    return (after - before) / max(len(clients), 1), len(clients), alive


class CoreWatch:
    """How much of the server's core went to other work while the server was measured.

    Counts the core's user and steal time (from /proc/stat) not spent by the server's process
    group (from /proc/<pid>/stat). Kernel time is left out: the server's own network work is
    partly accounted to the core rather than to the process. Another benchmark, a build or a
    noisy neighbour on the host shows up here and makes that server's numbers low.
    """

    def __init__(self, cpu: int, pgid: int) -> None:
        self.cpu, self.pgid = cpu, pgid
        self.start = self._ticks()

    def _ticks(self) -> tuple[int, int]:
        """(user + nice + steal ticks of the core minus the group's user ticks, all ticks)."""
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith(f"cpu{self.cpu} "):
                v = [int(x) for x in line.split()[1:9]]
                return v[0] + v[1] + v[7] - self._group_user_ticks(), sum(v)
        raise KeyError(self.cpu)

    def _group_user_ticks(self) -> int:
        total = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[2]) == self.pgid:  # pgrp; utime is fields[11]
                    total += int(fields[11])
        return total

    def share(self) -> float:
        """The other work's share of the core since construction, 0..1."""
        other, total = self._ticks()
        return max(0.0, (other - self.start[0]) / max(total - self.start[1], 1))


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


# -- one run -----------------------------------------------------------------------------------

Samples = dict[str, dict[str, list[float]]]  # server -> metric -> one value per round


@dataclass
class Options:
    rounds: int
    duration: int
    servers: list[Server]
    memory: bool
    idle_connections: int
    slow_upload_mib: int
    curl: bool


def measure_round(
    server: Server,
    pin: Pinning,
    opts: Options,
    upload_file: Path,
    logdir: Path,
    samples: Samples,
    notes: list[str],
) -> None:
    record = samples[server.name]
    with running(server, pin, logdir) as (port, pid):
        check_endpoints(server, port)
        watch = CoreWatch(pin.server_cpu, pid) if pin.server_cpu is not None else None
        run_wrk(pin, f"http://127.0.0.1:{port}/", 64, 1)  # warm-up, discarded
        for path in WRK_PATHS:
            for connections in WRK_CONNECTIONS:
                result = run_wrk(pin, f"http://127.0.0.1:{port}{path}", connections, opts.duration)
                record[f"rps {path} {connections}"].append(result.rps)
                record[f"p99 {path} {connections}"].append(result.p99_ms)
                log(
                    f"  {server.name:<17} {path:<9} c={connections:<3} "
                    f"{result.rps:>10,.0f} req/s  p99 {result.p99_ms:8.2f} ms"
                )
                if result.errors:
                    notes.append(f"{server.name} {path} c={connections}: wrk: {result.errors}")
        for kind in ("upload", "download"):
            times = []
            for _ in range(TRANSFER_REPEATS):
                if opts.curl:
                    seconds = (
                        upload_curl(pin, port, upload_file)
                        if kind == "upload"
                        else download_curl(pin, port)
                    )
                else:
                    seconds = trio.run(upload_h11 if kind == "upload" else download_h11, port)
                times.append(seconds)
            rate = TRANSFER_SIZE / statistics.median(times) / 1e6
            record[kind].append(rate)
            log(f"  {server.name:<17} {kind:<9} {rate:>10,.0f} MB/s")
        if watch is not None:
            share = watch.share()
            record["other load"].append(share)
            log(f"  {server.name:<17} other work on core {pin.server_cpu}: {share:.0%} of its time")
    if not (opts.memory and server.memory):
        return
    with running(server, pin, logdir) as (port, pid):
        size = opts.slow_upload_mib * MiB
        growth, seconds = trio.run(slow_upload_growth, port, pid, size)
        record["slow upload growth"].append(growth)
        log(
            f"  {server.name:<17} slow upload: peak RSS +{growth / 1e6:.1f} MB "
            f"({size / seconds / 1e6:,.0f} MB/s consumed)"
        )
    for requests, key in ((0, "silent rss per connection"), (1, "idle rss per connection")):
        with running(server, pin, logdir) as (port, pid):
            per_conn, opened, alive = trio.run(
                idle_rss_per_connection, port, pid, opts.idle_connections, requests
            )
            record[key].append(per_conn)
            log(
                f"  {server.name:<17} idle after {requests} request(s): "
                f"{per_conn / 1e3:.1f} KB per connection ({opened} opened, {alive} answering)"
            )
            if opened < opts.idle_connections or alive < opened:
                notes.append(
                    f"{server.name}: idle test ({requests} requests) opened {opened} of"
                    f" {opts.idle_connections} connections, {alive} answered after"
                )


def run(opts: Options, pin: Pinning) -> tuple[Samples, list[str], list[str]]:
    """Measure every server, round after round; returns samples, notes and failed servers."""
    samples: Samples = defaultdict(lambda: defaultdict(list))
    notes: list[str] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trioweb-bench-") as tmp:
        upload_file = Path(tmp) / "upload.bin"
        with upload_file.open("wb") as out:
            block = b"u" * MiB
            for _ in range(TRANSFER_SIZE // MiB):
                out.write(block)
        servers = list(opts.servers)
        for index in range(opts.rounds):
            log(f"round {index + 1} of {opts.rounds}")
            shift = index % len(servers)
            for server in servers[shift:] + servers[:shift]:
                if server.name in failed:
                    continue
                try:
                    measure_round(server, pin, opts, upload_file, Path(tmp), samples, notes)
                except (
                    ServerFailed,
                    RuntimeError,
                    OSError,
                    subprocess.CalledProcessError,
                    h11.ProtocolError,
                    trio.TooSlowError,
                ) as exc:
                    log(f"  {server.name} FAILED: {exc}")
                    notes.append(
                        f"{server.name} failed in round {index + 1}: "
                        f"{str(exc).splitlines()[0][:200]}"
                    )
                    failed.append(server.name)
    return samples, notes, failed


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str
    digits: int  # decimals shown


def rows() -> list[Row]:
    result = []
    for path in WRK_PATHS:
        for connections in WRK_CONNECTIONS:
            where = f"`GET {path}`, {connections} conn"
            result.append(Row(f"rps {path} {connections}", f"{where}: req/s", "req/s", 0))
            result.append(Row(f"p99 {path} {connections}", f"{where}: p99 ms", "ms", 2))
    result.append(Row("upload", "upload 100 MiB to `/echo`: MB/s", "MB/s", 0))
    result.append(Row("download", "download 100 MiB from `/stream`: MB/s", "MB/s", 0))
    result.append(Row("slow upload growth", "peak RSS growth, 1 GiB slow upload: MB", "MB", 1))
    result.append(
        Row("silent rss per connection", "RSS per connection, no request yet: KB", "KB", 1)
    )
    result.append(Row("idle rss per connection", "RSS per idle keep-alive conn: KB", "KB", 1))
    return result


SCALE = {"req/s": 1.0, "ms": 1.0, "MB/s": 1.0, "MB": 1e-6, "KB": 1e-3}


def median(samples: Samples, server: str, key: str) -> float | None:
    values = samples.get(server, {}).get(key)
    return statistics.median(values) if values else None


def ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or base == 0:
        return "n/a"
    return f"{value / base:.2f}x"


def results_table(samples: Samples, servers: list[Server]) -> list[str]:
    names = [server.name for server in servers]
    peers = [name for name in names if name not in (FLOOR, TRIOWEB)]
    compare = TRIOWEB in names and bool(peers)
    head = [server.label for server in servers]
    if compare:
        head += [
            f"trioweb ÷ {server.label.split(' +')[0]}" for server in servers if server.name in peers
        ]
    lines = ["| measurement | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for row in rows():
        if all(median(samples, name, row.key) is None for name in names):
            continue
        scale = SCALE[row.unit]
        floor = median(samples, FLOOR, row.key)
        cells = []
        for name in names:
            value = median(samples, name, row.key)
            if value is None:
                cells.append("—")
                continue
            text = f"{value * scale:,.{row.digits}f}"
            if name != FLOOR and floor is not None:
                text += f" ({ratio(value, floor)})"
            cells.append(text)
        if compare:
            mine = median(samples, TRIOWEB, row.key)
            cells += [
                ratio(mine, median(samples, peer, row.key))
                if mine is not None and median(samples, peer, row.key) is not None
                else "—"
                for peer in peers
            ]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines


def targets_table(samples: Samples) -> list[str]:
    """The targets of the issues that set them (6, 10 and 14) against this run's medians."""

    def med(server: str, key: str) -> float | None:
        return median(samples, server, key)

    checks: list[tuple[str, tuple[str, str]]] = [
        (
            "`GET /` 64 conn req/s >= 1.0x floor (10)",
            _cmp(med(TRIOWEB, "rps / 64"), med(FLOOR, "rps / 64"), 1.0, True),
        ),
        (
            "`GET /` 64 conn req/s >= 4x Hypercorn-trio (6)",
            _cmp(med(TRIOWEB, "rps / 64"), med("hypercorn-trio", "rps / 64"), 4.0, True),
        ),
        (
            "`GET /` 64 conn req/s > Uvicorn-h11 (6)",
            _cmp(med(TRIOWEB, "rps / 64"), med("uvicorn-h11", "rps / 64"), 1.0, True, strict=True),
        ),
        (
            "`GET /` 64 conn req/s >= 1.1x floor (14)",
            _cmp(med(TRIOWEB, "rps / 64"), med(FLOOR, "rps / 64"), 1.1, True),
        ),
        (
            "`GET /` 64 conn p99 <= 1.2x floor (6, 14)",
            _cmp(med(TRIOWEB, "p99 / 64"), med(FLOOR, "p99 / 64"), 1.2, False),
        ),
        (
            "upload MB/s >= 0.85x baseline (10)",
            _cmp(med(TRIOWEB, "upload"), med(BASELINE, "upload"), 0.85, True),
        ),
        (
            "download MB/s >= 1.0x baseline (10)",
            _cmp(med(TRIOWEB, "download"), med(BASELINE, "download"), 1.0, True),
        ),
        (
            "upload MB/s >= Sanic's (14)",
            _cmp(med(TRIOWEB, "upload"), med(SANIC, "upload"), 1.0, True),
        ),
        (
            "download MB/s >= Sanic's (14)",
            _cmp(med(TRIOWEB, "download"), med(SANIC, "download"), 1.0, True),
        ),
        (
            "peak RSS growth, 1 GiB slow upload < 16 MB (6)",
            _limit(med(TRIOWEB, "slow upload growth"), 16e6, 1e-6, "MB"),
        ),
        (
            "RSS per connection, no request yet <= Uvicorn-h11's (10)",
            _cmp(
                med(TRIOWEB, "silent rss per connection"),
                med("uvicorn-h11", "silent rss per connection"),
                1.0,
                False,
            ),
        ),
        (
            "RSS per idle keep-alive connection <= Uvicorn-h11's (10)",
            _cmp(
                med(TRIOWEB, "idle rss per connection"),
                med("uvicorn-h11", "idle rss per connection"),
                1.0,
                False,
            ),
        ),
        (
            "RSS per connection, no request yet <= 5 KiB (14)",
            _limit(med(TRIOWEB, "silent rss per connection"), 5 * 1024, 1 / 1024, "KiB", True),
        ),
        (
            "RSS per idle keep-alive connection <= 8 KiB (14)",
            _limit(med(TRIOWEB, "idle rss per connection"), 8 * 1024, 1 / 1024, "KiB", True),
        ),
    ]
    lines = ["| target (issue) | trioweb | met |", "|---|---:|:---:|"]
    lines += [f"| {label} | {value} | {met} |" for label, (value, met) in checks]
    return lines


def _cmp(
    value: float | None, base: float | None, factor: float, higher: bool, strict: bool = False
) -> tuple[str, str]:
    if value is None or base is None or base == 0:
        return "n/a", "—"
    r = value / base
    met = r <= factor if not higher else (r > factor if strict else r >= factor)
    return f"{r:.2f}x", "yes" if met else "**no**"


def _limit(
    value: float | None, limit: float, scale: float, unit: str, inclusive: bool = False
) -> tuple[str, str]:
    if value is None:
        return "n/a", "—"
    met = value <= limit if inclusive else value < limit
    return f"{value * scale:.1f} {unit}", "yes" if met else "**no**"


def versions() -> str:
    found = []
    packages = ("trioweb", "trio", "h11", "hypercorn", "uvicorn", "starlette", "httptools")
    for package in (*packages, "uvloop", "sanic", "sanic-routing"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{package} {importlib.metadata.version(package)}")
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    return ", ".join([f"Python {platform.python_version()}", *found, wrk])


def revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "trioweb"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes under trioweb/" if dirty else "")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def other_load(samples: Samples, pin: Pinning) -> str:
    shares = {
        name: max(record["other load"])
        for name, record in samples.items()
        if record.get("other load")
    }
    if pin.server_cpu is None or not shares:
        return "other work on the server's core: not measured (unpinned)"
    worst = max(shares, key=lambda name: shares[name])
    text = (
        f"other work on the server's core (user + steal time not the server's) during the "
        f"request and transfer tests: at most {shares[worst]:.0%} ({worst})"
    )
    if shares[worst] > 0.05:
        text += "; above 5% the machine was busy and that server's numbers are low"
    return text


def event_loops(servers: list[Server]) -> list[str]:
    """A report line saying which event loop the asyncio peers ran on, if any ran."""
    loops = []
    if any(server.name == "uvicorn-httptools" for server in servers) and any(
        server.name == "uvicorn-h11" for server in servers
    ):
        loops.append("Uvicorn-h11 on asyncio (`--loop asyncio`)")
    if any(server.name == "uvicorn-httptools" for server in servers):
        loops.append(f"Uvicorn-httptools on {UVICORN_LOOP} (`--loop {UVICORN_LOOP}`)")
    if any(server.name == SANIC for server in servers):
        loops.append(f"Sanic on {'uvloop' if UVLOOP else 'asyncio'} (its default)")
    if not loops:
        return []
    return [f"- event loops: {'; '.join(loops)}"]


def report(samples: Samples, notes: list[str], opts: Options, pin: Pinning, load: float) -> str:
    memory = (
        f"memory on fresh processes ({opts.slow_upload_mib} MiB to `/slow-echo`; "
        f"{opts.idle_connections:,} idle connections)"
        if opts.memory
        else "memory not measured"
    )
    lines = [
        f"## Benchmark: medians of {opts.rounds} round(s), {opts.duration} s per wrk test",
        "",
        f"- {time.strftime('%Y-%m-%d %H:%M %Z')}, trioweb at {revision()}; "
        f"{cpu_model()}, {os.cpu_count()} cores, load average {load:.2f} at the start; "
        f"{pin.note}",
        f"- {versions()}",
        f"- wrk -t1 --latency; transfers by {'curl' if opts.curl else 'a trio + h11 client'}, "
        f"median of {TRANSFER_REPEATS} per round; {memory}",
        f"- {other_load(samples, pin)}",
        *event_loops(opts.servers),
        "- in brackets: ratio to the floor; last columns (when trioweb and a peer ran): "
        "trioweb ÷ peer. For req/s and MB/s higher is better, for latency and memory lower "
        "is better.",
        "",
        *results_table(samples, opts.servers),
        "",
    ]
    if any(server.name == TRIOWEB for server in opts.servers):
        lines += [*targets_table(samples), ""]
    if notes:
        lines += ["Notes:", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def routing_section() -> str:
    """bench/routing.py's table: Router.resolve at 10, 100 and 1,000 patterned routes."""
    log("routing micro-benchmark (bench/routing.py)")
    out = subprocess.run(
        [sys.executable, str(BENCH / "routing.py")], capture_output=True, text=True, check=True
    ).stdout
    return "## Routing: " + out.strip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all servers (3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk test (5)")
    parser.add_argument(
        "--servers",
        default=",".join(s.name for s in SERVERS),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory tests")
    parser.add_argument(
        "--no-routing", action="store_true", help="skip the routing micro-benchmark"
    )
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=1000,
        help="idle keep-alive connections held open (1000)",
    )
    parser.add_argument(
        "--slow-upload-mib", type=int, default=1024, help="size of the slow upload in MiB (1024)"
    )
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--baseline", metavar="REV", help="also measure trioweb at this git revision (a worktree)"
    )
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        log("wrk not found: install it with `apt-get install wrk` (Debian/Ubuntu)")
        return 2
    by_name = {server.name: server for server in SERVERS}
    unknown = [name for name in args.servers.split(",") if name not in by_name]
    if unknown:
        parser.error(f"unknown servers: {', '.join(unknown)}")
    servers, notes = [], []
    for name in args.servers.split(","):
        server = by_name[name]
        missing = [m for m in server.needs if importlib.util.find_spec(m) is None]
        if missing:
            notes.append(
                f"{name} skipped: {', '.join(missing)} not installed "
                "(`nox -s bench` installs the peers)"
            )
        else:
            servers.append(server)
    opts = Options(
        args.rounds,
        args.duration,
        servers,
        not args.no_memory,
        args.idle_connections,
        args.slow_upload_mib,
        shutil.which("curl") is not None,
    )
    pin = pinning()
    if not pin.server:
        log(f"note: {pin.note}")
    if not opts.curl:
        notes.append("curl not found: transfers measured with the trio + h11 client")
    raise_fd_limit(args.idle_connections + 1024)
    for note in notes:
        log(f"note: {note}")

    baseline = None
    if args.baseline:
        baseline = baseline_server(args.baseline, Path(tempfile.mkdtemp(prefix="trioweb-base-")))
        opts.servers.insert(1, baseline)
    load = os.getloadavg()[0]
    try:
        samples, run_notes, failed = run(opts, pin)
    finally:
        if baseline is not None:
            remove_worktree(baseline)
    text = report(samples, notes + run_notes, opts, pin, load)
    if not args.no_routing:
        text += "\n" + routing_section()
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
