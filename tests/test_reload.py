"""Auto-reload (``--reload``), through real processes, files and sockets.

Rules: see ``tests/processutil.py``. After an edit the test asks again until the new answer
comes: a bounded wait for another process (the reloader) to act, never an assertion about
how fast it is, except the one promise made to users (an edit is served within 2 s).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import httpx
import pytest
import trio

from trioweb.server.reload import MISSING_WATCHFILES, run_reloader
from trioweb.server.run import RunOptions

from .netutil import TIMEOUT
from .processutil import server_process, trioweb

#: How soon an edit is served: the promise docs/deployment.md makes.
RELOAD_WITHIN = 2.0

APP = """
from trioweb import App
from trioweb.response import text

app = App("reloaded")


@app.get("/")
async def index(request):
    return text({answer!r})
"""


def write_app(folder: Path, answer: str) -> None:
    (folder / "reloadme.py").write_text(APP.format(answer=answer))


async def answer(url: str) -> str:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.get(url, headers={"Connection": "close"})
    assert response.status_code == 200
    return response.text


async def wait_for_answer(url: str, expected: str, within: float = TIMEOUT) -> None:
    """Ask until the answer is ``expected``: the reloader works in another process."""
    with trio.fail_after(within):
        while await answer(url) != expected:
            pass


async def test_an_edit_is_served_within_two_seconds_by_a_fresh_process(tmp_path: Path) -> None:
    write_app(tmp_path, "before")
    # The current directory is watched by default.
    async with server_process(
        trioweb("reloadme:app", "--reload", "--port", "0"), tmp_path
    ) as server:
        url = await server.url()
        assert await answer(url) == "before"
        (first,) = server.all(rb"auto-reload: started process (\d+)")
        write_app(tmp_path, "after")
        await wait_for_answer(url, "after", within=RELOAD_WITHIN)
        await server.wait_for(rb"auto-reload: reloadme.py changed; reloading")
        second = await server.wait_for(rb"auto-reload: started process (\d+)", first.end())
        assert second.group(1) != first.group(1)
        start = server.signal(signal.SIGTERM)
        assert await server.exit_status() == 0
        await server.wait_for(
            rb"auto-reload: process %s exited with status 0" % second.group(1), start
        )


async def test_a_syntax_error_while_editing_keeps_the_reloader_waiting_for_a_fix(
    tmp_path: Path,
) -> None:
    write_app(tmp_path, "one")
    argv = trioweb("reloadme.py:app", "--reload", "--reload-dir", str(tmp_path), "--port", "0")
    async with server_process(argv, tmp_path) as server:
        url = await server.url()
        assert await answer(url) == "one"
        mark = len(server.log)
        (tmp_path / "reloadme.py").write_text("def broken(:\n")
        await server.wait_for(rb"SyntaxError", mark)
        await server.wait_for(
            rb"exited with status 1 before it served; waiting for a change to start it again",
            mark,
        )
        assert server.process.returncode is None
        write_app(tmp_path, "fixed")
        await wait_for_answer(url, "fixed")


def test_reload_without_watchfiles_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # as if it were not installed
    message = "auto-reload needs watchfiles: pip install 'trioweb[reload]'"
    with pytest.raises(ValueError, match=r"^auto-reload needs watchfiles") as refused:
        run_reloader(RunOptions(port=0, reload=True, app_target="reloadme:app"))
    assert str(refused.value) == message == MISSING_WATCHFILES


def test_reload_needs_an_app_it_can_import_afresh() -> None:
    with pytest.raises(ValueError, match=r"auto-reload imports the app afresh"):
        run_reloader(RunOptions(port=0, reload=True))


def test_reload_refuses_a_folder_to_watch_that_does_not_exist(tmp_path: Path) -> None:
    options = RunOptions(
        port=0, reload=True, app_target="reloadme:app", reload_dirs=(str(tmp_path / "nope"),)
    )
    with pytest.raises(ValueError, match=r"cannot watch '.*nope' for changes: not a directory"):
        run_reloader(options)


SCRIPT = """
import sys

from trioweb import App
from trioweb.response import text

print("imported as", __name__, file=sys.stderr)
app = App("script")


@app.get("/")
async def index(request):
    return text("from a script")

{run}
"""


async def test_a_script_run_with_auto_reload_is_imported_once_per_process(tmp_path: Path) -> None:
    run = 'if __name__ == "__main__":\n    app.run(port=0, auto_reload=True)'
    (tmp_path / "script.py").write_text(SCRIPT.format(run=run))
    async with server_process([sys.executable, "script.py"], tmp_path) as server:
        assert await answer(await server.url()) == "from a script"
        # The serving process ran the script once (as multiprocessing's __mp_main__), and
        # took the app from there instead of importing the file a second time.
        imports = [m.group(1) for m in server.all(rb"imported as (\S+)")]
        assert imports == [b"__main__", b"__mp_main__"]


async def test_a_script_that_calls_run_unguarded_is_told_to_guard_it(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(SCRIPT.format(run="app.run(port=0, auto_reload=True)"))
    async with server_process([sys.executable, "script.py"], tmp_path) as server:
        await server.wait_for(
            rb"RuntimeError: app.run\(\) was called while a serving process imported your "
            rb'script; call it under `if __name__ == "__main__":`'
        )
        await server.wait_for(rb"before it served; waiting for a change to start it again")
