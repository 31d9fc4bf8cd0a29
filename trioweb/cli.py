"""``python -m trioweb module:app``: serve an app from the command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import App

__all__ = ["load_app", "main"]


def load_app(target: str) -> App:
    """Import ``"package.module:attribute"`` and return the `App` it names.

    The current directory is importable, as with ``python -m``.

    Raises:
        ValueError: ``target`` is not ``module:attribute`` or does not name an `App`.
        ImportError: the module cannot be imported.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:app', got {target!r}")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    module = importlib.import_module(module_name)
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(app, App):
        raise ValueError(f"{target!r} is a {type(app).__name__}, not a trioweb App")
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="trioweb", description="Serve a trioweb app.")
    parser.add_argument("app", help="the app to serve, as module:attribute")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
    processes = parser.add_mutually_exclusive_group()
    processes.add_argument("--workers", type=int, default=1, help="processes sharing the port (1)")
    processes.add_argument("--fast", action="store_true", help="one worker per CPU")
    processes.add_argument(
        "--single-process", action="store_true", help="serve in this process (as --workers 1)"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks in error pages")
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    try:
        app = load_app(args.app)
    except (ValueError, ImportError) as exc:
        parser.error(str(exc))
    app.run(
        host=args.host,
        port=args.port,
        workers=args.workers,
        fast=args.fast,
        single_process=args.single_process,
        debug=True if args.debug else None,
        access_log=False if args.no_access_log else None,
    )
    return 0
