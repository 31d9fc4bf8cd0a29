"""Servers run as programs (the command line, a script): start, read the log, stop.

Rules, on top of ``tests/netutil.py``'s: servers listen on port 0 and the test reads the
real address from the log; every wait (for a log line, for an exit) is bounded by
``trio.fail_after``; a process still running when the test leaves is sent SIGTERM, then
SIGKILL if it does not stop.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from .netutil import TIMEOUT

#: The line a server logs once it accepts connections; group 1 is its base URL.
SERVING = rb"serving '[^']*' on (http://\S+)"


def trioweb(*args: str) -> list[str]:
    """The command line ``python -m trioweb *args``."""
    return [sys.executable, "-m", "trioweb", *args]


class ServerProcess:
    """A running server program; its stderr (the log) is gathered as it arrives."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.log = b""
        self._eof = False
        self._more = trio.Event()

    async def _pump(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.receive_some(65536):
            self.log += chunk
            self._more.set()
            self._more = trio.Event()
        self._eof = True
        self._more.set()

    async def wait_for(self, pattern: bytes, after: int = 0) -> re.Match[bytes]:
        """The first match of ``pattern`` in the log past offset ``after``, once it is there."""
        compiled = re.compile(pattern)
        with trio.fail_after(TIMEOUT):
            while not (found := compiled.search(self.log, after)):
                assert not self._eof, f"{pattern!r} never logged:\n{self.log.decode()}"
                await self._more.wait()
        return found

    def all(self, pattern: bytes, after: int = 0) -> list[re.Match[bytes]]:
        """Every match of ``pattern`` in the log so far, past offset ``after``."""
        return list(re.compile(pattern).finditer(self.log, after))

    async def url(self) -> str:
        """The base URL from the serving line."""
        return (await self.wait_for(SERVING)).group(1).decode()

    def signal(self, signum: signal.Signals) -> int:
        """Send ``signum``; returns the log offset at that moment (for `wait_for`)."""
        offset = len(self.log)
        self.process.send_signal(signum)
        return offset

    async def exit_status(self) -> int:
        """Wait for the process to exit (bounded) and return its status."""
        with trio.fail_after(TIMEOUT):
            return await self.process.wait()


@asynccontextmanager
async def server_process(
    argv: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """Run ``argv`` in ``cwd`` with its stderr collected; stop it on leaving the block."""
    process = await trio.lowlevel.open_process(
        argv,
        cwd=cwd,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    server = ServerProcess(process)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server._pump)
        try:
            yield server
        except BaseException:
            print(server.log.decode(errors="replace"))  # pytest shows it with the failure
            raise
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.terminate()
                    with trio.move_on_after(TIMEOUT):
                        await process.wait()
                if process.returncode is None:  # pragma: no cover - a server that hangs
                    process.kill()
                    await process.wait()
            nursery.cancel_scope.cancel()
