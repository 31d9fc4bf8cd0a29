"""The serving settings `App.run` and the command line share, checked and made `RunOptions`.

Both take the same names (Sanic's and Uvicorn's where they differ only in spelling), so a
setting means one thing wherever it is given. Settings that belong to the app's config
(``debug``, ``access_log``, the proxy settings, ...) travel in `RunOptions.config` and are
applied in every serving process, so workers and reloaded processes see them too.
"""

from __future__ import annotations

import os
import socket
import ssl as _ssl
from collections.abc import Mapping, Sequence
from typing import Any

from .run import RunOptions, TLSFiles
from .tls import files_of

__all__ = ["cpu_count", "run_options"]


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _workers(workers: int, fast: bool, single_process: bool) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    if fast and single_process:
        raise ValueError("fast=True starts a worker per CPU; single_process=True asks for one")
    if (fast or single_process) and workers != 1:
        chosen = "fast" if fast else "single_process"
        raise ValueError(
            f"{chosen}=True decides the number of workers; do not pass workers={workers}"
        )
    return cpu_count() if fast else workers


def _tls(
    ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None,
    cert: str | None,
    key: str | None,
    ca: str | None,
    password: str | None,
) -> tuple[_ssl.SSLContext | None, TLSFiles | None]:
    """A context to use as it is, or the files every serving process builds one from."""
    if ssl is not None and (cert or key):
        raise ValueError("give ssl= or the certificate and key files, not both")
    if isinstance(ssl, _ssl.SSLContext):
        return ssl, None
    if ssl is not None:
        if not isinstance(ssl, Mapping | str | os.PathLike):
            raise TypeError(
                "ssl= takes an ssl.SSLContext, a dict of cert/key/password, or a directory "
                f"holding fullchain.pem and privkey.pem, not {type(ssl).__name__}"
            )
        # The same forms, and the same checks, as serve(ssl=...): see tls.files_of.
        cert, key, given_ca, given_password = files_of(ssl)
        ca, password = given_ca or ca, given_password or password
    if cert is None and key is None:
        return None, None
    if not cert or not key:
        raise ValueError("TLS needs both a certificate and its key (--tls-cert and --tls-key)")
    return None, TLSFiles(str(cert), str(key), str(ca) if ca else None, password)


def run_options(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    unix: str | None = None,
    unix_mode: int | None = None,
    fd: int | None = None,
    sock: socket.socket | None = None,
    workers: int = 1,
    fast: bool = False,
    single_process: bool = False,
    reuse_port: bool = False,
    backlog: int | None = None,
    ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_ca: str | None = None,
    tls_password: str | None = None,
    dev: bool = False,
    auto_reload: bool | None = None,
    reload_dirs: Sequence[str] = (),
    app_target: str | None = None,
    factory: bool = False,
    simple_dir: str | None = None,
    debug: bool | None = None,
    access_log: bool | None = None,
    access_log_format: str | None = None,
    log_level: str | None = None,
    log_config: Mapping[str, Any] | str | None = None,
    proxies_count: int | None = None,
    forwarded_secret: str | None = None,
    forwarded_allow_ips: str | None = None,
    root_path: str | None = None,
) -> RunOptions:
    """Check the serving settings and gather them as `RunOptions`.

    ``dev=True`` is ``debug=True`` plus ``auto_reload=True``, as in Sanic. ``sock`` is a
    listening socket you opened (served through its file descriptor). ``ssl`` is a context, a
    dict with Sanic's keys (``cert``, ``key``, ``password``, ``ca``) or a directory holding
    ``fullchain.pem`` and ``privkey.pem``; ``tls_*`` name the files directly.

    Raises:
        ValueError: settings that contradict each other or are out of range, such as
            ``workers=0``, ``fast`` with ``workers``, two addresses to serve, or
            auto-reload of a context (give the files instead).
        TypeError: ``ssl`` is of no kind listed above.
    """
    count = _workers(workers, fast, single_process)
    if sock is not None:
        if fd is not None:
            raise ValueError("give sock= or fd=, not both")
        fd = sock.fileno()
    if unix is not None and fd is not None:
        raise ValueError("give unix= or a socket (fd/sock), not both")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
    if backlog is not None and (isinstance(backlog, bool) or backlog < 1):
        raise ValueError(f"backlog must be at least 1, got {backlog!r}")
    context, files = _tls(ssl, tls_cert, tls_key, tls_ca, tls_password)
    reload = bool(dev or auto_reload)
    if reload and context is not None:
        raise ValueError(
            "auto-reload starts fresh processes, which cannot take an SSLContext: give the "
            "certificate and key files (ssl={'cert': ..., 'key': ...} or --tls-cert/--tls-key)"
        )
    if reload and count > 1:
        raise ValueError("auto-reload serves with one process: drop workers (or fast)")
    config: dict[str, Any] = {}
    for name, value in (
        ("DEBUG", True if dev else debug),
        ("ACCESS_LOG", access_log),
        ("ACCESS_LOG_FORMAT", access_log_format),
        ("BACKLOG", backlog),
        ("PROXIES_COUNT", proxies_count),
        ("FORWARDED_SECRET", forwarded_secret),
        ("FORWARDED_ALLOW_IPS", forwarded_allow_ips),
        ("ROOT_PATH", root_path),
    ):
        if value is not None:
            config[name] = value
    return RunOptions(
        host=host,
        port=port,
        unix=unix,
        unix_mode=unix_mode,
        fd=fd,
        workers=count,
        reuse_port=reuse_port,
        backlog=backlog,
        ssl_context=context,
        tls=files,
        reload=reload,
        reload_dirs=tuple(reload_dirs),
        app_target=app_target,
        factory=factory,
        simple_dir=simple_dir,
        config=config,
        log_config=log_config,
        log_level=log_level,
    )
