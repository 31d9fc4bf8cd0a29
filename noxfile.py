"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``.

Not run by default: ``nox -s fuzz``, ``nox -s soak``, ``nox -s bench`` and ``nox -s nginx``.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "trioweb")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with ``mkdocs build --strict``.

    The build fetches nothing (no web fonts, no inventories), and any warning fails it: a
    broken link or anchor, a page missing from the nav, a docstring that does not render.
    Arguments go to mkdocs, e.g. ``nox -s docs -- --site-dir /tmp/site``.
    """
    session.install("-e", ".[docs]")
    # Material for MkDocs prints a banner about MkDocs 2.0 on every build; it is not a warning
    # about this site.
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def fuzz(session: nox.Session) -> None:
    """A long run of the connection fuzzer (FUZZ_EXAMPLES examples, 5000 by default)."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "-q",
        "tests/test_fuzz.py",
        env={"FUZZ_EXAMPLES": session.env.get("FUZZ_EXAMPLES", "5000")},
    )


@nox.session
def soak(session: nox.Session) -> None:
    """Hundreds of concurrent clients, hostile ones included; fails on errors or leaks."""
    session.install("-e", ".")
    session.run("python", "bench/soak.py", *(session.posargs or ["--duration", "30"]))


@nox.session
def bench(session: nox.Session) -> None:
    """trioweb against the trio + h11 floor, Hypercorn, Uvicorn and Sanic (docs/performance.md).

    The peers are installed here only, never in the dev extra. Arguments go to bench/run.py,
    e.g. ``nox -s bench -- --rounds 5 --duration 10 --output results.md``.
    """
    if shutil.which("wrk") is None:
        session.error(
            "wrk is needed as the load generator and was not found on PATH. "
            "Install it with `apt-get install wrk` (Debian/Ubuntu; `brew install wrk` on macOS)"
        )
    session.install("-e", ".", "hypercorn", "uvicorn", "httptools", "uvloop", "starlette", "sanic")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def nginx(session: nox.Session) -> None:
    """trioweb behind a real nginx (tests/test_nginx.py), installing nginx with apt if needed.

    The test suite runs the same module and skips it when nginx is missing.
    """
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        session.run("apt-get", "install", "-y", "nginx-light", external=True)
    session.install("-e", ".[dev]")
    session.run("pytest", "-q", "tests/test_nginx.py", *session.posargs)
