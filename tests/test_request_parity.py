"""The rest of Sanic's request surface: credentials, where the client reached the server,
``url_for``, the route's template and name, WebSocket schemes and the streaming request type.

Requests go through ``app.test_client()`` (the real h11 path over memory streams); the handler
reports what it saw as JSON and the test asserts on that report.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio_websocket

from trioweb import App, Blueprint, Request, StreamingRequest
from trioweb.response import HTTPResponse, json, text

ROOT = Path(__file__).resolve().parent.parent


async def seen_by(
    handler: Any, path: str = "/", uri: str = "/", app: App | None = None, **kwargs: Any
) -> Any:
    """Route ``handler`` at ``uri``, GET ``path`` and return the JSON reply (asserting 200)."""
    app = app or App()
    app.add_route(handler, uri)
    async with app.test_client(**kwargs.pop("client", {})) as client:
        response = await client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def basic(userpass: bytes) -> str:
    return "Basic " + base64.b64encode(userpass).decode()


# --- request.token and request.credentials -------------------------------------------------------


async def report_auth(request: Request) -> HTTPResponse:
    credentials = request.credentials
    report: dict[str, Any] = {"token": request.token, "credentials": None}
    if credentials is not None:
        report["credentials"] = [credentials.auth_type, credentials.token]
        if credentials.auth_type == "Basic":
            report["user"] = [credentials.username, credentials.password]
    return json(report)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            "Bearer abc.def",
            {"token": "abc.def", "credentials": ["Bearer", "abc.def"]},
            id="bearer",
        ),
        pytest.param("token  t0k", {"token": "t0k", "credentials": ["Token", "t0k"]}, id="token"),
        pytest.param(
            "ApiKey k-1", {"token": "k-1", "credentials": ["ApiKey", "k-1"]}, id="other-scheme"
        ),
        pytest.param("s3cr3t", {"token": "s3cr3t", "credentials": [None, "s3cr3t"]}, id="bare"),
        pytest.param(
            basic(b"ann:pa:ss w\xc3\xb6rd"),
            {
                "token": "YW5uOnBhOnNzIHfDtnJk",
                "credentials": ["Basic", "YW5uOnBhOnNzIHfDtnJk"],
                # The password is everything after the first colon (RFC 7617).
                "user": ["ann", "pa:ss wörd"],
            },
            id="basic",
        ),
    ],
)
async def test_token_and_credentials(header: str, expected: dict[str, Any]) -> None:
    assert await seen_by(report_auth, headers={"Authorization": header}) == expected


async def test_no_authorization_header_gives_none() -> None:
    assert await seen_by(report_auth) == {"token": None, "credentials": None}


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param("Basic !!notbase64", "must be base64 of UTF-8 text", id="not-base64"),
        pytest.param(basic(b"\xff\xfe:x"), "must be base64 of UTF-8 text", id="not-utf-8"),
        pytest.param(basic(b"no-colon"), "must be 'user:password'", id="no-colon"),
        pytest.param("Basic", "must be 'user:password'", id="empty"),
    ],
)
async def test_malformed_basic_credentials_are_none_as_in_sanic(header: str, reason: str) -> None:
    from trioweb.datastructures import Credentials

    app = App()
    app.add_route(report_auth, "/")
    async with app.test_client() as client:
        response = await client.get("/", headers={"Authorization": header})
    assert response.json()["credentials"] is None
    # Why, for whoever parses the header directly:
    scheme, _, rest = header.partition(" ")
    with pytest.raises(ValueError, match=reason):
        Credentials(scheme, rest)


async def test_username_of_non_basic_credentials_is_an_attribute_error() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.credentials is not None
        with pytest.raises(AttributeError, match="username is available for Basic"):
            _ = request.credentials.username
        with pytest.raises(AttributeError, match="password is available for Basic"):
            _ = request.credentials.password
        return json(request.credentials.token)

    assert await seen_by(handler, headers={"Authorization": "Bearer x"}) == "x"


# --- server_name, server_port, server_path ----------------------------------------------------


async def report_server(request: Request, **params: Any) -> HTTPResponse:
    return json(
        {
            "name": request.server_name,
            "port": request.server_port,
            "path": request.server_path,
            "host": request.host,
            "scheme": request.scheme,
        }
    )


@pytest.mark.parametrize(
    ("host", "base_url", "name", "port"),
    [
        pytest.param("Example.COM:8080", "http://testserver", "example.com", 8080, id="port"),
        pytest.param("example.com", "http://testserver", "example.com", 80, id="http-default"),
        pytest.param("example.com", "https://testserver", "example.com", 443, id="https-default"),
        pytest.param("[::1]:9000", "http://testserver", "[::1]", 9000, id="ipv6"),
        pytest.param("[::1]", "https://testserver", "[::1]", 443, id="ipv6-default"),
    ],
)
async def test_server_name_and_port_come_from_the_host(
    host: str, base_url: str, name: str, port: int
) -> None:
    report = await seen_by(
        report_server,
        path="/caf%C3%A9",
        uri="/<word>",
        headers={"Host": host},
        client={"base_url": base_url},
    )
    assert (report["name"], report["port"], report["path"]) == (name, port, "/café")


@pytest.mark.parametrize(
    ("host", "name", "port"),
    [
        # "²".isdigit() is True but int("²") raises: this was a 500 from server_port.
        pytest.param(b"example.com:\xb2", "example.com:\xb2", 80, id="superscript-digit"),
        pytest.param(b"example.com:", "example.com", 80, id="empty-port"),
    ],
)
async def test_a_host_with_a_port_that_is_no_number_has_no_port(
    host: bytes, name: str, port: int
) -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json([request.server_name, request.server_port, request.url_for("here")])

    app = App()
    app.add_route(handler, "/", name="here")
    async with app.test_client() as client:
        response = await client.get("/", headers={"Host": host})
    assert response.status_code == 200, response.text
    assert response.json() == [name, port, f"http://{name}/"]


async def test_server_name_uses_a_trusted_proxy_host() -> None:
    app = App()
    app.config.PROXIES_COUNT = 1
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Host": "public.example:8443",
        "X-Forwarded-Proto": "https",
    }
    report = await seen_by(report_server, app=app, headers=headers)
    assert report == {
        "name": "public.example",
        "port": 8443,
        "path": "/",
        "host": "public.example:8443",
        "scheme": "https",
    }


async def test_server_port_and_path_come_from_a_trusted_proxy() -> None:
    # Sanic's proxy guide: X-Forwarded-Port, X-Forwarded-Path and X-Scheme set the URL parts.
    app = App()
    app.config.PROXIES_COUNT = 1
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-Path": "/app/caf%C3%A9",
        "X-Scheme": "https",
    }
    report = await seen_by(report_server, app=app, headers=headers)
    assert report == {
        "name": "testserver",
        "port": 8443,
        "path": "/app/café",
        "host": "testserver",
        "scheme": "https",
    }
    # Sent by a client with no proxy trusted, the same headers change nothing.
    report = await seen_by(report_server, headers=headers)
    assert (report["port"], report["path"], report["scheme"]) == (80, "/", "http")


async def test_server_port_from_a_trusted_forwarded_element() -> None:
    app = App()
    app.config.FORWARDED_SECRET = "mySecret"
    headers = {"Forwarded": 'Secret="mySecret";For=127.0.0.4;Port=1234'}
    report = await seen_by(report_server, app=app, headers=headers)
    assert (report["name"], report["port"]) == ("testserver", 1234)


@pytest.mark.parametrize(
    ("server_name", "host", "scheme", "port"),
    [
        pytest.param("example.com", "example.com", "http", 80, id="bare"),
        pytest.param("example.com:8000", "example.com:8000", "http", 8000, id="port"),
        pytest.param("https://example.com/app", "example.com", "https", 443, id="url"),
    ],
)
async def test_config_server_name_overrides_the_host_header(
    server_name: str, host: str, scheme: str, port: int
) -> None:
    app = App()
    app.config.SERVER_NAME = server_name
    report = await seen_by(report_server, app=app, headers={"Host": "evil.example"})
    assert report == {
        "name": "example.com",
        "port": port,
        "path": "/",
        "host": host,
        "scheme": scheme,
    }


# --- request.url_for --------------------------------------------------------------------------


def linking_app() -> App:
    app = App()

    @app.get("/user/<id:int>", name="user")
    async def user(request: Request, id: int) -> HTTPResponse:
        return text("")

    @app.get("/link")
    async def link(request: Request) -> HTTPResponse:
        return json(
            {
                "url": request.url_for("user", id=3, tab="posts"),
                "anchored": request.url_for("user", id=3, _anchor="top"),
                "relative": request.url_for("user", id=3, _external=False),
            }
        )

    return app


@pytest.mark.parametrize(
    ("base_url", "headers", "expected"),
    [
        pytest.param("http://testserver", {}, "http://testserver/user/3", id="plain"),
        pytest.param(
            "http://testserver",
            {"Host": "a.example:8080"},
            "http://a.example:8080/user/3",
            id="port",
        ),
        pytest.param(
            "https://testserver", {"Host": "a.example:443"}, "https://a.example/user/3", id="tls"
        ),
    ],
)
async def test_url_for_builds_on_the_request(
    base_url: str, headers: dict[str, str], expected: str
) -> None:
    async with linking_app().test_client(base_url=base_url) as client:
        response = await client.get("/link", headers=headers)
    assert response.json() == {
        "url": expected + "?tab=posts",
        "anchored": expected + "#top",
        "relative": "/user/3",
    }


async def test_url_for_behind_a_proxy_and_with_server_name() -> None:
    app = linking_app()
    app.config.PROXIES_COUNT = 1
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Host": "public.example",
        "X-Forwarded-Proto": "https",
    }
    async with app.test_client() as client:
        proxied = (await client.get("/link", headers=headers)).json()["url"]
    app = linking_app()
    app.config.SERVER_NAME = "https://canonical.example"
    async with app.test_client() as client:
        configured = (await client.get("/link", headers={"Host": "other"})).json()["url"]
    assert proxied == "https://public.example/user/3?tab=posts"
    assert configured == "https://canonical.example/user/3?tab=posts"


# --- uri_template and endpoint ----------------------------------------------------------------


async def test_uri_template_and_endpoint_name_the_matched_route() -> None:
    async def handler(request: Request, id: int) -> HTTPResponse:
        return json([request.uri_template, request.endpoint, request.name])

    bp = Blueprint("bp", url_prefix="/api")
    bp.add_route(handler, "/user/<id:int>")
    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        response = await client.get("/api/user/7")
    assert response.json() == ["/api/user/<id:int>", "bp.handler", "bp.handler"]


async def test_uri_template_and_endpoint_are_none_when_unrouted() -> None:
    app = App()

    @app.on_response
    async def stamp(request: Request, response: HTTPResponse) -> None:
        response.headers["X-Route"] = f"{request.uri_template}|{request.endpoint}"

    async with app.test_client() as client:
        response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["x-route"] == "None|None"


# --- WebSocket schemes ------------------------------------------------------------------------


def ws_app() -> App:
    app = App()

    @app.websocket("/ws")
    async def feed(request: Request, ws: trio_websocket.WebSocketConnection) -> None:
        await ws.send_message(f"{request.scheme} {request.url}")

    return app


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://testserver", "ws ws://testserver/ws?x=1"),
        ("https://testserver", "wss wss://testserver/ws?x=1"),
    ],
)
async def test_websocket_requests_report_ws_schemes(base_url: str, expected: str) -> None:
    app = ws_app()
    async with app.test_client(base_url=base_url) as client, client.websocket("/ws?x=1") as ws:
        assert await ws.get_message() == expected


async def test_a_trusted_proxy_proto_maps_to_its_websocket_scheme() -> None:
    app = ws_app()
    app.config.PROXIES_COUNT = 1
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    async with app.test_client() as client, client.websocket("/ws", headers=headers) as ws:
        assert await ws.get_message() == "wss wss://testserver/ws"


async def test_plain_http_requests_keep_http_schemes() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return text(request.scheme)

    assert (await seen_by_text(handler)) == "http"


async def seen_by_text(handler: Any) -> str:
    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        return (await client.get("/")).text


# --- StreamingRequest -----------------------------------------------------------------------------


async def test_streaming_request_is_request_at_run_time() -> None:
    async def handler(request: StreamingRequest) -> HTTPResponse:
        assert isinstance(request, Request)
        assert isinstance(request, StreamingRequest)
        return text(b"".join([chunk async for chunk in request.stream]).decode())

    app = App()
    app.add_route(handler, "/up", methods=["POST"], stream=True)
    async with app.test_client() as client:
        response = await client.post("/up", content=b"body")
    assert response.text == "body"


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert match is not None
    return match[1]


def mypy_strict(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    program = tmp_path / "example.py"
    program.write_text(source, encoding="utf-8")
    # Errors are reported for the example only (trioweb itself is checked by `nox -s typecheck`).
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
    command += ["--cache-dir", str(tmp_path / "cache"), str(program)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_readme_streaming_example_passes_mypy_strict(tmp_path: Path) -> None:
    source = readme_example()
    assert "request: StreamingRequest" in source
    result = mypy_strict(tmp_path, source)
    assert result.returncode == 0, result.stdout + result.stderr
    # Annotated as a plain Request, the same handler fails: `stream` may be None there.
    result = mypy_strict(tmp_path, source.replace("request: StreamingRequest", "request: Request"))
    assert result.returncode == 1
    assert '"None" of "RequestStream | None" has no attribute "__aiter__"' in result.stdout
