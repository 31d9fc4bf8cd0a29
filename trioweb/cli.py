"""``trioweb module:app`` (or ``python -m trioweb``): serve an app from the command line.

Options are named as Sanic's and Uvicorn's users expect (``--host``, ``--port``, ``--unix``,
``--fd``, ``--workers``, ``--reload``, ``--dev``, ``--tls-cert``/``--cert``, ``--factory``,
``--simple``, ...). Every mistake the command line can make is one line on stderr and exit
status 1; an error raised while importing your module shows its traceback, since it is
yours to read.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .app import App

__all__ = ["build_parser", "main"]

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser, its options grouped as in ``trioweb --help``."""
    parser = argparse.ArgumentParser(
        prog="trioweb",
        description="Serve a trioweb app: trioweb [options] module:app",
        epilog="Settings not on the command line come from TRIOWEB_* environment variables "
        "(see docs/configuration.md).",
    )
    parser.add_argument(
        "app",
        nargs="?",
        help="the app: 'package.module:app', 'path/to/file.py:app', or with --factory a "
        "function returning one ('package.module:create_app')",
    )
    parser.add_argument("--version", action="version", version=_version_text())

    where = parser.add_argument_group("where to listen")
    where.add_argument("-H", "--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    where.add_argument("-p", "--port", type=int, default=8000, help="TCP port (default: 8000)")
    where.add_argument("-u", "--unix", metavar="PATH", help="a Unix socket instead of a port")
    where.add_argument(
        "--unix-mode",
        metavar="MODE",
        type=lambda text: int(text, 8),
        help="file mode of the Unix socket, in octal (default: as the umask leaves it)",
    )
    where.add_argument(
        "--fd", type=int, metavar="N", help="serve the listening socket inherited as fd N"
    )
    where.add_argument(
        "--backlog", type=int, metavar="N", help="the kernel's accept queue (default: SOMAXCONN)"
    )
    where.add_argument(
        "--reuse-port",
        action="store_true",
        help="set SO_REUSEPORT, to share the port with other servers (default: off)",
    )

    processes = parser.add_argument_group("processes")
    count = processes.add_mutually_exclusive_group()
    count.add_argument(
        "-w", "--workers", type=int, default=1, metavar="N", help="worker processes (default: 1)"
    )
    count.add_argument("--fast", action="store_true", help="one worker per CPU")
    count.add_argument(
        "--single-process", action="store_true", help="serve in this process (as --workers 1)"
    )

    development = parser.add_argument_group("development")
    development.add_argument(
        "-r", "--reload", action="store_true", help="restart the server when a file changes"
    )
    development.add_argument(
        "--reload-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="watch this directory (repeatable; default: the current one)",
    )
    development.add_argument(
        "-d", "--dev", action="store_true", help="--debug and --reload together"
    )
    development.add_argument(
        "--debug", action="store_true", help="tracebacks in error pages (never in production)"
    )

    tls = parser.add_argument_group("TLS")
    tls.add_argument("--tls-cert", "--cert", metavar="FILE", help="certificate chain (PEM)")
    tls.add_argument("--tls-key", "--key", metavar="FILE", help="private key (PEM)")
    tls.add_argument("--tls-ca", metavar="FILE", help="CA bundle: ask clients for certificates")
    tls.add_argument("--tls-password", metavar="TEXT", help="password of the private key")
    tls.add_argument(
        "--tls", metavar="DIR", help="a directory holding fullchain.pem and privkey.pem"
    )

    app = parser.add_argument_group("the app")
    app.add_argument(
        "--factory", action="store_true", help="the app names a function that returns the app"
    )
    app.add_argument(
        "--simple", metavar="DIR", help="serve the files of DIR, with no app of your own"
    )
    app.add_argument(
        "--root-path",
        metavar="PATH",
        help="the prefix a proxy serves the app under (default: none)",
    )

    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log one line per request (default: on)",
    )
    logs.add_argument("--access-log-format", metavar="FORMAT", help="see docs/logging.md")
    logs.add_argument(
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        help="level of the trioweb loggers (default: info)",
    )
    logs.add_argument(
        "--log-config", metavar="FILE", help="logging config: dictConfig JSON or YAML, or INI"
    )

    proxies = parser.add_argument_group("behind a proxy")
    proxies.add_argument(
        "--proxies-count",
        type=int,
        metavar="N",
        help="proxies appending to X-Forwarded-For (default: trust none)",
    )
    proxies.add_argument(
        "--forwarded-secret", metavar="SECRET", help="trust Forwarded elements carrying it"
    )
    proxies.add_argument(
        "--forwarded-allow-ips",
        metavar="LIST",
        help="peers whose proxy headers count: IPs, networks, 'unix', '*' (default: any)",
    )
    return parser


def _version_text() -> str:
    from importlib.metadata import version

    python = ".".join(str(part) for part in sys.version_info[:3])
    h11_version, trio_version = version("h11"), version("trio")
    return f"trioweb {__version__} (Python {python}, trio {trio_version}, h11 {h11_version})"


def _ours(exc: BaseException) -> bool:
    """Whether trioweb itself raised ``exc`` (a setting, the address, the app's name).

    Those are one line; an error raised in the user's code shows its traceback.
    """
    tb = exc.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE)


_PACKAGE = Path(__file__).resolve().parent


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until stopped, and return the process exit status.

    0 after a requested shutdown (SIGINT/SIGTERM); 1 for a mistake in the options, the
    settings, the address or the app's name (one line on stderr, ``trioweb: error: ...``),
    for an app that fails to import or start (its traceback), or for workers that keep
    failing; 2 for options argparse itself refuses.
    """
    from .server.loader import load_app, simple_app
    from .server.options import run_options
    from .server.run import run_app

    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.app is None) == (args.simple is None):
        parser.error("give the app to serve (module:app) or --simple DIR, not both")
    try:
        options = run_options(
            host=args.host,
            port=args.port,
            unix=args.unix,
            unix_mode=args.unix_mode,
            fd=args.fd,
            workers=args.workers,
            fast=args.fast,
            single_process=args.single_process,
            reuse_port=args.reuse_port,
            backlog=args.backlog,
            ssl=args.tls,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_ca=args.tls_ca,
            tls_password=args.tls_password,
            dev=args.dev,
            auto_reload=args.reload,
            reload_dirs=args.reload_dir,
            app_target=args.app,
            factory=args.factory,
            simple_dir=args.simple,
            debug=True if args.debug else None,
            access_log=args.access_log,
            access_log_format=args.access_log_format,
            log_level=args.log_level,
            log_config=args.log_config,
            proxies_count=args.proxies_count,
            forwarded_secret=args.forwarded_secret,
            forwarded_allow_ips=args.forwarded_allow_ips,
            root_path=args.root_path,
        )
        app: App | None = None
        if args.simple is not None:
            app = simple_app(args.simple)
        elif not options.reload:
            # With reload, only the serving processes import the app (fresh each time).
            app = load_app(args.app, factory=args.factory)
        return run_app(app, options)
    except KeyboardInterrupt:
        return 1
    except Exception as exc:
        if _ours(exc):
            print(f"trioweb: error: {exc}", file=sys.stderr)
        else:
            traceback.print_exc()
        return 1
