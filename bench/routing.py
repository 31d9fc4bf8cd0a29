"""Routing micro-benchmark: the cost of `Router.resolve` as the number of routes grows.

No server and no HTTP: a router holds ``N`` patterned routes ``/res<i>/<id:int>/items`` (GET),
and one call resolves a path that matches the first route registered, the last one, or none
(a 404, raised and caught). Each cell is the median over rounds of the mean time per call, in
microseconds:

    python bench/routing.py [--sizes 10 100 1000] [--rounds 7] [--router path/to/router.py]

``--router`` loads another version of ``trioweb/router.py`` from a file, to compare a change
with what it replaces, e.g. ``git show HEAD~1:trioweb/router.py > /tmp/old_router.py``.
`measure` returns the numbers for ``bench/run.py`` or anything else that wants them.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trioweb import router as current_router  # noqa: E402
from trioweb.exceptions import NotFound  # noqa: E402

SIZES = (10, 100, 1000)
CASES = ("match first", "match last", "404")


async def _handler(**params: Any) -> None:
    return None


def load_router(path: str | None) -> ModuleType:
    """Return trioweb's router module, or the router module in the file ``path``."""
    if path is None:
        return current_router
    spec = importlib.util.spec_from_file_location("bench_router_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load a router from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def build(module: ModuleType, size: int) -> Any:
    """A router of ``module`` holding ``size`` routes ``/res<i>/<id:int>/items``."""
    router = module.Router()
    for i in range(size):
        router.add(module.Route(_handler, f"/res{i}/<id:int>/items", frozenset({"GET"}), f"r{i}"))
    return router


def per_call_us(call: Callable[[], object], seconds: float) -> float:
    """Mean microseconds per ``call()``, over a loop calibrated to take about ``seconds``."""
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            call()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return elapsed / loops * 1e6
        loops *= 2 if elapsed <= 0 else max(2, min(100, int(seconds / elapsed) + 1))


def measure(
    module: ModuleType | None = None,
    sizes: tuple[int, ...] = SIZES,
    rounds: int = 7,
    seconds: float = 0.05,
) -> dict[int, dict[str, float]]:
    """Median microseconds per resolve, ``{size: {case: us}}``, for every size and case."""
    module = module or current_router
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        router = build(module, size)

        def first(router: Any = router) -> object:
            return router.resolve("GET", "/res0/42/items")

        def last(router: Any = router, size: int = size) -> object:
            return router.resolve("GET", f"/res{size - 1}/42/items")

        def missing(router: Any = router, size: int = size) -> object:
            try:
                return router.resolve("GET", f"/res{size}/42/items")
            except NotFound:
                return None

        # Check each call does what its column says before timing it.
        if first().route.name != "r0" or last().route.name != f"r{size - 1}":
            raise RuntimeError("the router resolved the wrong route")
        if missing() is not None:
            raise RuntimeError("the 404 path matched a route")
        calls = dict(zip(CASES, (first, last, missing), strict=True))
        samples: dict[str, list[float]] = {case: [] for case in CASES}
        for _ in range(rounds):
            for case, call in calls.items():
                samples[case].append(per_call_us(call, seconds))
        results[size] = {case: statistics.median(times) for case, times in samples.items()}
    return results


def table(results: dict[int, dict[str, float]]) -> list[str]:
    """A Markdown table of ``measure``'s results, with each size's ratio to the smallest."""
    sizes = sorted(results)
    base = results[sizes[0]]
    lines = [
        "| routes | " + " | ".join(f"{case} (us)" for case in CASES) + " |",
        "|---:|" + "---:|" * len(CASES),
    ]
    for size in sizes:
        cells = [
            f"{results[size][case]:.2f}"
            + ("" if size == sizes[0] else f" ({results[size][case] / base[case]:.2f}x)")
            for case in CASES
        ]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--router", help="a router.py file to measure instead of trioweb's")
    opts = parser.parse_args()
    module = load_router(opts.router)
    results = measure(module, tuple(opts.sizes), opts.rounds)
    print(f"Router.resolve, {module.__file__}, median of {opts.rounds} rounds")
    print("\n".join(table(results)))
    print(f"(of each 404, raising and catching NotFound alone takes {raise_not_found_us():.2f} us)")


def raise_not_found_us(rounds: int = 7) -> float:
    """Median microseconds to raise and catch a `NotFound`, the floor under every 404."""

    def call() -> None:
        try:
            raise NotFound()
        except NotFound:
            pass

    return statistics.median(per_call_us(call, 0.05) for _ in range(rounds))


if __name__ == "__main__":
    main()
