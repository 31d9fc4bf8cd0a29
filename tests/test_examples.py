"""Every example in examples/ answers as its document says, through a real socket; the
README's and docs/testing.md's test snippets pass as written, in a fresh project.

``request_streaming`` and ``response_streaming`` are the streaming examples from Sanic's docs
with only their imports changed (and writes awaited). Network rules: see ``tests/netutil.py``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from examples import csv_from_sqlite, ported_from_sanic, request_streaming, response_streaming

from .netutil import TIMEOUT, cli_process, running

ROOT = Path(__file__).resolve().parent.parent


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_sanic_docs_request_streaming_routes() -> None:
    payload = ("0123456789" * 500).encode()
    replaced = payload.decode().replace("1", "A")
    async with (
        running(request_streaming.app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        with trio.fail_after(TIMEOUT):
            r = await client.post("/stream", content=payload)
            assert (r.status_code, r.text) == (200, replaced)
            assert r.headers["transfer-encoding"] == "chunked"
            r = await client.put("/bp_stream", content=chunks(payload))
            assert (r.status_code, r.text) == (200, replaced)
            r = await client.post("/method_view", content=payload)
            assert (r.status_code, r.text) == (200, payload.decode())
            r = await client.post("/composition_view", content=chunks(payload))
            assert (r.status_code, r.text) == (200, payload.decode())


async def test_sanic_docs_stream_routes_refuse_other_methods() -> None:
    async with (
        running(request_streaming.app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        with trio.fail_after(TIMEOUT):
            r = await client.get("/stream")
            assert r.status_code == 405
            assert r.headers["allow"] == "POST"
            assert (await client.get("/method_view")).status_code == 405


async def test_sanic_docs_blueprint_route_is_named_after_the_blueprint() -> None:
    assert request_streaming.app.url_for("blueprint_request_stream.bp_handler") == "/bp_stream"


async def test_sanic_docs_response_streaming() -> None:
    async with (
        running(response_streaming.app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        with trio.fail_after(TIMEOUT):
            r = await client.get("/")
            assert r.status_code == 200
            assert r.text == "foo,bar"
            assert r.headers["content-type"] == "text/csv"


async def test_csv_from_sqlite_streams_every_row() -> None:
    async with csv_from_sqlite.app.test_client() as client:
        r = await client.get("/numbers.csv", params={"upto": "20000"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    lines = r.text.splitlines()
    assert lines[0] == "n,square"
    assert lines[1] == "1,1"
    assert lines[-1] == f"20000,{20000 * 20000}"
    assert len(lines) == 20001


async def test_csv_from_sqlite_rejects_a_bad_count() -> None:
    async with csv_from_sqlite.app.test_client() as client:
        assert (await client.get("/numbers.csv?upto=many")).status_code == 400
        assert (await client.get("/numbers.csv?upto=-1")).status_code == 400
        r = await client.get("/numbers.csv?upto=0")
        assert r.text == "n,square\n"


async def test_cli_serves_until_sigint_then_exits_cleanly() -> None:
    serving = re.compile(rb"serving .* on (http://\S+)")
    async with cli_process(["examples.response_streaming:app", "--port", "0"], serving.search) as (
        process,
        log,
    ):
        found = serving.search(log)
        assert found is not None
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient() as client:
                r = await client.get(found.group(1).decode() + "/")
                assert r.text == "foo,bar"
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0


async def test_readme_hello_example() -> None:
    from examples import hello

    async with hello.app.test_client() as client:
        assert (await client.get("/")).text == "Hello, world"
        r = await client.post("/upper", content=chunks(b"make me loud"))
        assert r.text == "MAKE ME LOUD"


async def test_cli_workers_share_the_port_and_stop_on_one_sigint() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    args = ["examples.response_streaming:app", "--port", str(port), "--workers", "2"]
    async with cli_process([*args, "--no-access-log"], lambda log: b"with 2 workers" in log) as (
        process,
        log,
    ):
        pids = set(re.findall(rb"started worker (\d+)", log))
        assert len(pids) == 2
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient() as client:
                for _ in range(4):
                    r = await client.get(f"http://127.0.0.1:{port}/")
                    assert r.text == "foo,bar"
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


async def test_cli_fast_starts_one_worker_per_cpu() -> None:
    cpus = len(os.sched_getaffinity(0))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    args = ["examples.response_streaming:app", "--port", str(port), "--fast", "--no-access-log"]
    async with cli_process(args, lambda log: b"serving " in log) as (process, log):
        if cpus > 1:
            assert f"with {cpus} workers".encode() in log
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient() as client:
                r = await client.get(f"http://127.0.0.1:{port}/")
                assert r.text == "foo,bar"
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0


# --- the documented test snippets, run as a user would --------------------------------------

# A code block whose first line names a file (``# test_hello.py``, ``# pyproject.toml: ...``)
# is that file, whole.
NAMED_BLOCK = re.compile(
    r"^```\w*\n# (?P<name>[\w.-]+\.(?:py|toml|ini))(?::[^\n]*)?\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


def named_files(markdown: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for block in NAMED_BLOCK.finditer(markdown):
        assert block["name"] not in files, f"two blocks are {block['name']}"
        files[block["name"]] = block["body"]
    return files


async def run_in(project: Path, *args: str) -> str:
    """Run ``python *args`` in ``project`` as a fresh checkout would; return its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    with trio.fail_after(60):
        done = await trio.run_process(
            [sys.executable, *args], cwd=project, env=env, capture_stdout=True, check=False
        )
    output = done.stdout.decode()
    assert done.returncode == 0, output
    return output


async def test_the_readme_test_snippet_passes_in_a_fresh_project(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    first_python = re.search(r"^```python\n(.*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert first_python is not None
    files = {"hello.py": first_python[1], **named_files(readme.split("## Testing", 1)[1])}
    assert set(files) == {"hello.py", "pyproject.toml", "test_hello.py"}
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    output = await run_in(tmp_path, "-m", "pytest", "-p", "no:cacheprovider")
    assert "1 passed" in output


@pytest.mark.parametrize("page", ["docs/getting-started.md", "docs/testing.md"])
async def test_a_guides_snippets_pass_in_a_fresh_project(tmp_path: Path, page: str) -> None:
    files = named_files((ROOT / page).read_text())
    tests = sorted(name for name in files if name.startswith("test_"))
    assert "pyproject.toml" in files
    assert tests
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    for script in sorted(name for name in files if name.startswith("check_")):
        await run_in(tmp_path, script)
    output = await run_in(tmp_path, "-m", "pytest", "-p", "no:cacheprovider", "-v")
    for name in tests:  # each file collected; the exit status said none failed
        assert f"{name}::" in output


async def test_an_api_written_for_sanic_runs_with_only_its_imports_changed() -> None:
    async with (
        running(ported_from_sanic.app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        with trio.fail_after(TIMEOUT):
            r = await client.get("/v1/api/items/", params=[("tag", "a"), ("tag", "b")])
            assert r.json() == {"items": ["coffee", "tea"], "tags": ["a", "b"]}
            r = await client.get("/v1/api/items/1")
            assert r.json() == {
                "id": 1,
                "name": "tea",
                "self": "https://api.example.com/v1/api/items/1",
            }
            r = await client.get("/v1/api/items/9")
            assert (r.status_code, r.text) == (404, "404 no such item\n")
            r = await client.post("/v1/api/items/", json={})
            assert (r.status_code, r.json()) == (400, {"error": "an item needs a name"})
            r = await client.get("/v1/api/items/file.csv")
            assert r.text == "exporting as csv"
            r = await client.get("/v1/api/items/digest")
            assert len(r.text) == 64
            assert (await client.get("/v1/api/admin/")).status_code == 401
            r = await client.get("/v1/api/admin/", headers={"Authorization": "Bearer s3cret"})
            assert r.text == "hello, holder of s3cret"
            assert r.headers["set-cookie"].startswith("seen=yes; Path=/v1/api/admin")
