"""Serve HTTP from a trio program that has other work to do: a sampler task reads the system
load every second, in the same nursery as the server, and the two share what it reads.

``GET /load`` answers with the latest sample; ``GET /load?after=N`` waits (long polling, up
to 30 s) until a sample newer than sample ``N`` is taken, woken by the sampler through a
``trio.Event``. Ctrl+C or SIGTERM stops the program cleanly: the server first, so requests
in flight get their answers, then the sampler.

Run it with ``python examples/embedding.py`` (``--port 0`` picks a free port) and try::

    curl http://127.0.0.1:8000/load
    curl 'http://127.0.0.1:8000/load?after=5'     # answers once sample 6 is taken

``app.run()`` would start trio itself; here the program owns ``trio.run`` and its nursery,
and the server is one task in it (``nursery.start(app.serve, ...)``).
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from typing import Any

import trio

from trioweb import App, Request, Server
from trioweb.exceptions import BadRequest
from trioweb.response import HTTPResponse, json

app = App("embedding")

#: How long ``/load?after=N`` waits for a newer sample before answering with the latest.
LONG_POLL = 30.0


class Samples:
    """The sampler's readings, shared with the handlers; sample ``n`` is the n-th taken."""

    def __init__(self) -> None:
        self.latest: dict[str, Any] = {"n": 0, "load": None, "taken_at": None}
        self._newer = trio.Event()

    def add(self, load: tuple[float, float, float]) -> None:
        """Record a sample and wake everyone waiting for one."""
        self.latest = {"n": self.latest["n"] + 1, "load": list(load), "taken_at": time.time()}
        self._newer.set()
        self._newer = trio.Event()  # trio's events cannot be cleared: the next wait gets a new one

    async def wait_past(self, n: int) -> None:
        """Wait until a sample after sample ``n`` has been taken."""
        while self.latest["n"] <= n:
            await self._newer.wait()


async def sample_load(samples: Samples, interval: float) -> None:
    """Take a sample now and then every ``interval`` seconds, until cancelled."""
    while True:
        samples.add(os.getloadavg())
        await trio.sleep(interval)


@app.get("/load")
async def load(request: Request) -> HTTPResponse:
    samples: Samples = request.app.ctx.samples
    after = request.args.get("after")
    if after is not None:
        if not after.isdigit():
            raise BadRequest("after must be a sample number (0, 1, 2, ...)")
        with trio.move_on_after(LONG_POLL):
            await samples.wait_past(int(after))
    return json(samples.latest)


async def main(
    host: str,
    port: int,
    interval: float = 1.0,
    *,
    task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve and sample until SIGINT or SIGTERM, then stop the server, then the sampler.

    Args:
        host: The address to listen on.
        port: The port; 0 lets the kernel pick one.
        interval: Seconds between two samples.
        task_status: Given the running `Server` once it accepts connections, for
            ``await nursery.start(main, ...)``.
    """
    samples = app.ctx.samples = Samples()
    # Signals become messages on a channel, so stopping is ordinary code in this task
    # (app.serve installs no signal handlers: the program that embeds it decides).
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sample_load, samples, interval)
            server: Server = await nursery.start(app.serve, host, port)
            print(f"listening on {server.url}", flush=True)
            task_status.started(server)
            async for signum in signals:
                print(f"{signal.Signals(signum).name}: stopping", flush=True)
                break
            await server.shutdown()  # graceful: requests in flight are answered
            nursery.cancel_scope.cancel()  # then the sampler
    print("stopped", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve HTTP next to a load sampler.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    options = parser.parse_args()
    trio.run(main, options.host, options.port, options.interval)
