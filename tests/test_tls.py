"""TLS: `make_ssl_context` in every form ``ssl=`` takes, its one-line errors, https served on
real sockets with a ``trustme`` certificate, ALPN, client certificates, and the
`trioweb.https` redirect and HSTS middleware.

Network rules: see ``tests/netutil.py`` (127.0.0.1 port 0, every wait under ``fail_after``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trustme
from cryptography.hazmat.primitives import serialization

from trioweb import App, Server
from trioweb.https import hsts, redirect_to_https
from trioweb.request import Request
from trioweb.response import HTTPResponse, json, text
from trioweb.server.options import run_options
from trioweb.server.tls import TLSError, make_ssl_context

from .netutil import TIMEOUT


class Certs:
    """A CA, a server certificate for localhost/127.0.0.1 in files, and a client context."""

    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        issued = self.ca.issue_cert("localhost", "127.0.0.1")
        self.folder = folder
        self.cert = folder / "fullchain.pem"
        self.key = folder / "privkey.pem"
        self.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(str(self.key))
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        private = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
        self.encrypted_key = folder / "encrypted.pem"
        self.encrypted_key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"s3cret"),
            )
        )
        self.other_key = folder / "other.pem"
        self.ca.issue_cert("other.example").private_key_pem.write_to_path(str(self.other_key))

    def client_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return Certs(tmp_path)


def scheme_app() -> App:
    app = App("tls")

    @app.route("/where", methods=["GET", "POST"])
    async def where(request: Request) -> HTTPResponse:
        return json(
            {"scheme": request.scheme, "method": request.method, "body": request.body.decode()}
        )

    return app


@asynccontextmanager
async def serving(app: App, ssl_setting: Any) -> AsyncIterator[Server]:
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(
            lambda task_status: app.serve("127.0.0.1", 0, ssl=ssl_setting, task_status=task_status)
        )
        try:
            yield server
        finally:
            with trio.fail_after(TIMEOUT):
                await server.shutdown()


# --- make_ssl_context --------------------------------------------------------------------


def test_nothing_asked_is_no_tls() -> None:
    assert make_ssl_context() is None
    assert make_ssl_context(None) is None


def test_every_form_makes_a_server_context_offering_http11(certs: Certs) -> None:
    forms: list[Callable[[], ssl.SSLContext | None]] = [
        lambda: make_ssl_context({"cert": str(certs.cert), "key": str(certs.key)}),
        lambda: make_ssl_context(str(certs.folder)),
        lambda: make_ssl_context(certs.folder),
        lambda: make_ssl_context(cert=str(certs.cert), key=str(certs.key)),
        lambda: make_ssl_context(
            {"cert": certs.cert, "key": certs.encrypted_key, "password": "s3cret"}
        ),
    ]
    for form in forms:
        context = form()
        assert isinstance(context, ssl.SSLContext)
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
        assert context.verify_mode == ssl.CERT_NONE  # no client certificate asked for
        assert not context.check_hostname


def test_a_ca_requires_client_certificates(certs: Certs) -> None:
    context = make_ssl_context(cert=str(certs.cert), key=str(certs.key), ca=str(certs.ca_file))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_your_own_context_is_used_as_it_is(certs: Certs) -> None:
    mine = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    mine.load_cert_chain(certs.cert, certs.key)
    assert make_ssl_context(mine) is mine


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            lambda c: {"cert": str(c.folder / "nope.pem"), "key": str(c.key)},
            "TLS certificate file not found: {folder}/nope.pem",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.folder / "nope.pem")},
            "TLS key file not found: {folder}/nope.pem",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.encrypted_key)},
            "TLS key {folder}/encrypted.pem is encrypted: give its password",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.encrypted_key), "password": "nope"},
            "TLS key {folder}/encrypted.pem: wrong password",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.other_key)},
            "TLS key {folder}/other.pem does not match the certificate in {folder}/fullchain.pem",
        ),
        (
            lambda c: {"cert": str(c.key), "key": str(c.key)},
            "TLS certificate {folder}/privkey.pem: no PEM certificate in it",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.cert)},
            "TLS key {folder}/fullchain.pem: no PEM private key in it",
        ),
        (
            lambda c: {"cert": str(c.cert), "key": str(c.key), "ca": str(c.key)},
            "TLS CA {folder}/privkey.pem: [X509: NO_CERTIFICATE_OR_CRL_FOUND] "
            "no certificate or crl found",
        ),
        (
            lambda c: {"cert": str(c.cert), "keyfile": str(c.key)},
            "ssl= dict: unknown key 'keyfile'; the keys are 'cert', 'key', 'password', 'ca'",
        ),
        (
            lambda c: {"key": str(c.key)},
            "ssl= dict: 'cert' (the certificate chain file) is required",
        ),
        (
            lambda c: str(c.cert),
            "ssl='{folder}/fullchain.pem': not a folder (it should hold fullchain.pem and "
            "privkey.pem; for separate files give {{'cert': ..., 'key': ...}})",
        ),
        (
            lambda c: str(c.folder / "sub"),
            "ssl='{folder}/sub': not a folder (it should hold fullchain.pem and "
            "privkey.pem; for separate files give {{'cert': ..., 'key': ...}})",
        ),
    ],
)
def test_bad_settings_are_one_line_naming_the_file(
    certs: Certs, settings: Callable[[Certs], Any], message: str
) -> None:
    with pytest.raises(TLSError) as caught:
        make_ssl_context(settings(certs))
    assert str(caught.value) == message.format(folder=certs.folder)
    assert isinstance(caught.value, ValueError)


def test_a_folder_without_the_certbot_names_says_which_file(certs: Certs) -> None:
    empty = certs.folder / "empty"
    empty.mkdir()
    with pytest.raises(TLSError, match=r"^TLS certificate file not found: .*/empty/fullchain.pem$"):
        make_ssl_context(str(empty))


def test_a_client_context_is_refused() -> None:
    with pytest.raises(TLSError, match=r"Purpose\.CLIENT_AUTH"):
        make_ssl_context(ssl.create_default_context())


def test_mixed_or_unknown_forms_are_type_errors(certs: Certs) -> None:
    with pytest.raises(TypeError, match="not both"):
        make_ssl_context(ssl.create_default_context(ssl.Purpose.CLIENT_AUTH), cert="x")
    with pytest.raises(TypeError, match="several certificates"):
        make_ssl_context([str(certs.folder)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got int"):
        make_ssl_context(443)  # type: ignore[arg-type]
    with pytest.raises(TLSError, match="without cert="):
        make_ssl_context(key=str(certs.key))


# --- Served over real sockets ------------------------------------------------------------


async def test_https_with_a_dict_verified_by_httpx(certs: Certs) -> None:
    async with serving(scheme_app(), {"cert": str(certs.cert), "key": str(certs.key)}) as server:
        assert server.url == f"https://127.0.0.1:{server.port}"
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient(verify=certs.client_context()) as client:
                response = await client.post(server.url + "/where", content=b"hello")
        assert response.json() == {"scheme": "https", "method": "POST", "body": "hello"}


async def test_https_from_a_certbot_folder(certs: Certs) -> None:
    async with serving(scheme_app(), str(certs.folder)) as server:
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient(verify=certs.client_context()) as client:
                response = await client.get(f"https://localhost:{server.port}/where")
        assert response.json()["scheme"] == "https"


async def test_bad_tls_files_fail_serve_with_one_line(certs: Certs) -> None:
    with trio.fail_after(TIMEOUT), pytest.raises(TLSError) as caught:
        await scheme_app().serve("127.0.0.1", 0, ssl={"cert": str(certs.cert), "key": "/nope.pem"})
    assert str(caught.value) == "TLS key file not found: /nope.pem"


async def alpn_round_trip(port: int, context: ssl.SSLContext) -> tuple[str | None, bytes]:
    """Connect offering ``context``'s ALPN, return what the server chose and its reply."""
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_ssl_over_tcp_stream(
            "127.0.0.1", port, ssl_context=context, https_compatible=True
        )
        await stream.do_handshake()
        chosen = stream.selected_alpn_protocol()
        await stream.send_all(
            b"GET /where HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        reply = b""
        while chunk := await stream.receive_some():
            reply += chunk
        await stream.aclose()
    return chosen, reply


async def test_a_client_offering_h2_gets_http11_and_an_answer(certs: Certs) -> None:
    async with serving(scheme_app(), {"cert": str(certs.cert), "key": str(certs.key)}) as server:
        chosen, reply = await alpn_round_trip(server.port, certs.client_context(["h2", "http/1.1"]))
    assert chosen == "http/1.1"
    assert reply.startswith(b"HTTP/1.1 200 ")


async def test_your_context_offering_h2_still_answers_h2_clients(certs: Certs) -> None:
    mine = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    mine.load_cert_chain(certs.cert, certs.key)
    mine.set_alpn_protocols(["h2", "http/1.1"])
    async with serving(scheme_app(), mine) as server:
        chosen, reply = await alpn_round_trip(server.port, certs.client_context(["h2"]))
        assert chosen is None  # nothing in common: no ALPN, and HTTP/1.1 works
        assert reply.startswith(b"HTTP/1.1 200 ")
        chosen, reply = await alpn_round_trip(server.port, certs.client_context(["h2", "http/1.1"]))
    assert chosen == "http/1.1"
    assert reply.startswith(b"HTTP/1.1 200 ")


async def test_a_ca_lets_in_only_clients_with_its_certificates(certs: Certs) -> None:
    settings = {"cert": str(certs.cert), "key": str(certs.key), "ca": str(certs.ca_file)}
    async with serving(scheme_app(), settings) as server:
        with trio.fail_after(TIMEOUT):
            anonymous = certs.client_context()
            async with httpx.AsyncClient(verify=anonymous) as client:
                with pytest.raises(httpx.HTTPError):
                    await client.get(server.url + "/where")
            known = certs.client_context()
            certs.ca.issue_cert("client@example.com").configure_cert(known)
            async with httpx.AsyncClient(verify=known) as client:
                response = await client.get(server.url + "/where")
        assert response.json()["scheme"] == "https"


# --- Redirect to https and HSTS ----------------------------------------------------------


def secured_app(**redirect: Any) -> App:
    app = scheme_app()
    redirect_to_https(app, **redirect)
    hsts(app)

    @app.on_request
    async def refuse_without_token(request: Request) -> HTTPResponse | None:
        # The app's own middleware: a plain-HTTP request is redirected before it runs.
        return None if request.scheme == "https" else text("reached", status=401)

    return app


async def test_plain_http_is_redirected_keeping_path_and_query() -> None:
    app = secured_app()
    async with app.test_client() as client:
        response = await client.post("/files/caf%C3%A9%2Fx?a=1&b=%20x", content=b"body")
    assert response.status_code == 308
    assert response.headers["location"] == "https://testserver/files/caf%C3%A9%2Fx?a=1&b=%20x"
    assert "strict-transport-security" not in response.headers


async def test_unknown_paths_are_redirected_too_with_a_chosen_host_and_port() -> None:
    app = secured_app(status=301, host="secure.example", port=8443)
    async with app.test_client(base_url="http://example.com:8080") as client:
        response = await client.get("/missing")
    assert response.status_code == 301
    assert response.headers["location"] == "https://secure.example:8443/missing"


async def test_https_requests_pass_and_get_hsts() -> None:
    app = secured_app()
    async with app.test_client(base_url="https://testserver") as client:
        response = await client.get("/where")
        missing = await client.get("/missing")
    assert response.json()["scheme"] == "https"
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert missing.status_code == 404
    assert "strict-transport-security" in missing.headers


async def test_a_trusted_proxy_saying_https_is_not_redirected() -> None:
    app = secured_app()
    app.config.PROXIES_COUNT = 1
    async with app.test_client() as client:
        forwarded = await client.get(
            "/where", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        )
        plain = await client.get("/where", headers={"X-Forwarded-For": "203.0.113.7"})
    assert forwarded.status_code == 200
    assert forwarded.headers["strict-transport-security"].startswith("max-age=")
    assert plain.status_code == 308


async def test_redirect_and_hsts_on_real_sockets(certs: Certs) -> None:
    app = secured_app()
    async with trio.open_nursery() as nursery:
        plain: Server = await nursery.start(app.serve, "127.0.0.1", 0)
        tls_settings = {"cert": str(certs.cert), "key": str(certs.key)}
        secure: Server = await nursery.start(
            lambda task_status: app.serve("127.0.0.1", 0, ssl=tls_settings, task_status=task_status)
        )
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient(verify=certs.client_context()) as client:
                redirected = await client.get(f"http://localhost:{plain.port}/where?x=1")
                assert redirected.status_code == 308
                assert redirected.headers["location"] == "https://localhost/where?x=1"
                response = await client.get(f"https://localhost:{secure.port}/where")
                assert response.json()["scheme"] == "https"
                assert response.headers["strict-transport-security"] == (
                    "max-age=31536000; includeSubDomains"
                )
            await plain.shutdown()
            await secure.shutdown()


def test_bad_middleware_settings_are_refused_at_registration() -> None:
    app = App("bad")
    with pytest.raises(ValueError, match="status must be one of"):
        redirect_to_https(app, status=200)
    with pytest.raises(ValueError, match="port must be 1-65535, got 0"):
        redirect_to_https(app, port=0)
    with pytest.raises(ValueError, match="max_age must be an int of at least 0, got -1"):
        hsts(app, max_age=-1)
    with pytest.raises(ValueError, match="preload needs"):
        hsts(app, max_age=300, preload=True)
    hsts(app, preload=True)  # a year with subdomains: allowed


@pytest.mark.parametrize(
    ("ssl_form", "message"),
    [
        ({"cert": "c.pem", "key": "k.pem", "creds": "x"}, "ssl= dict: unknown key 'creds'"),
        ({"key": "k.pem"}, "ssl= dict: 'cert' (the certificate chain file) is required"),
        ("/no/such/folder", "ssl='/no/such/folder': not a folder"),
    ],
)
def test_app_run_checks_ssl_forms_as_serve_does(ssl_form: Any, message: str) -> None:
    # app.run() and the command line go through run_options; serve() through
    # make_ssl_context: the same form gets the same one-line answer from both.
    with pytest.raises(TLSError) as from_run:
        run_options(ssl=ssl_form)
    with pytest.raises(TLSError) as from_serve:
        make_ssl_context(ssl_form)
    assert str(from_run.value) == str(from_serve.value)
    assert str(from_run.value).startswith(message)
