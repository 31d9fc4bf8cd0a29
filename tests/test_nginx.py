"""trioweb behind a real nginx, as docs/deployment.md sets it up: a Unix socket, proxy headers
trusted only from that socket, the client's address in ``request.client_ip`` and the access log.

Skipped when nginx is not installed (``nox -s nginx`` installs it and runs this module). nginx
listens on a port picked free just before it starts; everything else is a Unix socket in the
test's temporary directory. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from .netutil import ROOT, TIMEOUT

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (nox -s nginx)")

NGINX_CONF = """
daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream app {{ server unix:{sock}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(path: Path) -> None:
    """Until another process has made ``path``: a bounded wait, not a timing assertion."""
    for _ in range(int(TIMEOUT / 0.02)):
        if await trio.Path(path).exists():
            return
        await trio.sleep(0.02)
    raise TimeoutError(f"{path} did not appear within {TIMEOUT} s")


async def test_behind_nginx_the_client_address_comes_from_the_proxy(tmp_path: Path) -> None:
    sock, port = tmp_path / "app.sock", free_port()
    # As root, nginx's workers would run as nobody, who may not enter the test's directory.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = NGINX_CONF.format(user=user, tmp=tmp_path, sock=sock, port=port)
    (tmp_path / "nginx.conf").write_text(conf)
    log_path = tmp_path / "trioweb.log"
    with log_path.open("wb") as log:
        server = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "trioweb",
                "tests.proxied_app:app",
                "--unix",
                str(sock),
                "--proxies-count",
                "1",
                "--forwarded-allow-ips",
                "unix",
            ],
            cwd=ROOT,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        nginx = await trio.lowlevel.open_process(
            [str(NGINX), "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_for(sock)
            await wait_for(tmp_path / "nginx.pid")
            # The client comes from 127.0.0.2, so its address differs from nginx's own.
            transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2", retries=3)
            async with httpx.AsyncClient(transport=transport) as client:
                with trio.fail_after(TIMEOUT):
                    seen = (
                        await client.get(
                            f"http://127.0.0.1:{port}/whoami",
                            headers={"X-Forwarded-For": "6.6.6.6"},  # a lie nginx appends to
                        )
                    ).json()
                    direct = httpx.AsyncHTTPTransport(uds=str(sock))
                    async with httpx.AsyncClient(transport=direct) as bypass:
                        spoofed = (
                            await bypass.get(
                                "http://app/whoami", headers={"X-Forwarded-For": "6.6.6.6"}
                            )
                        ).json()
        finally:
            nginx.send_signal(signal.SIGQUIT)
            server.send_signal(signal.SIGTERM)
            with trio.fail_after(TIMEOUT):
                await nginx.wait()
                status = await server.wait()
    assert seen["ip"] == ""  # the socket's peer is nginx, over a Unix socket: no address
    assert seen["client_ip"] == "127.0.0.2"
    assert seen["scheme"] == "http"
    assert seen["host"] == f"127.0.0.1:{port}"
    # A Unix-socket peer is on the allowlist too, so this shows the allowlist's limit: only
    # nginx should be able to reach the socket (its file mode, see docs/deployment.md).
    assert spoofed["client_ip"] == "6.6.6.6"
    assert status == 0
    assert "127.0.0.2" in log_path.read_text()  # the access log names the client
