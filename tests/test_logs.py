"""Access lines, request ids and `trioweb.logs.setup_logging`.

Requests go through `App.test_client` (the real h11 path over memory streams), or a real
socket where a test must send bytes httpx would refuse to. Durations are measured on trio's
autojump clock, so they are exact and no test sleeps. `setup_logging` changes the process's
logging, so each of its configurations runs in a fresh interpreter (``python -c``) whose
stderr is read back.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from trioweb import App, Request
from trioweb.config import Config, ConfigError
from trioweb.logs import (
    ACCESS_FIELDS,
    DEFAULT_ACCESS_LOG_FORMAT,
    AccessLogFormat,
    setup_logging,
    valid_request_id,
)
from trioweb.response import HTTPResponse, StreamingHTTPResponse, raw, stream, text

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def make_app() -> App:
    app = App("logs", env_prefix=None)

    @app.get("/hello")
    async def hello(request: Request) -> HTTPResponse:
        return text("hello")

    @app.get("/slow")
    async def slow(request: Request) -> HTTPResponse:
        await trio.sleep(1.5)
        return text("late")

    @app.get("/trickle")
    async def trickle(request: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            for _ in range(4):
                await trio.sleep(0.25)
                await response.write(b"x")

        return stream(body)

    @app.get("/whoami")
    async def whoami(request: Request) -> HTTPResponse:
        return text(request.id)

    @app.get("/own-id")
    async def own_id(request: Request) -> HTTPResponse:
        return text("mine", headers={"X-Request-ID": "set-by-handler"})

    @app.get("/respond")
    async def respond(request: Request) -> None:
        response = await request.respond(content_type="text/plain")
        await response.send("streamed")
        await response.eof()

    return app


@pytest.fixture
def access_records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog, with ``trioweb.access`` enabled for INFO."""
    caplog.set_level(logging.INFO, logger="trioweb.access")
    return caplog


@pytest.fixture
def access_off() -> Iterator[None]:
    """``trioweb.access`` not enabled for INFO (as when nobody configured logging)."""
    logger = logging.getLogger("trioweb.access")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def only_access(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    found = [record for record in caplog.records if record.name == "trioweb.access"]
    assert len(found) == 1, [record.getMessage() for record in found]
    return found[0]


# -- the access line ------------------------------------------------------------------------------


async def test_default_access_line(
    autojump_clock: trio.abc.Clock, access_records: pytest.LogCaptureFixture
) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/hello?a=1", headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    record = only_access(access_records)
    assert record.levelno == logging.INFO
    assert record.getMessage() == '127.0.0.1 "GET /hello?a=1 HTTP/1.1" 200 5 0.0ms req-42'


async def test_duration_counts_the_handler(
    autojump_clock: trio.abc.Clock, access_records: pytest.LogCaptureFixture
) -> None:
    async with make_app().test_client() as client:
        await client.get("/slow")
    record = only_access(access_records)
    assert record.duration_ms == 1500.0  # type: ignore[attr-defined]
    assert " 200 4 1500.0ms " in record.getMessage()


async def test_duration_runs_to_the_end_of_a_streamed_response(
    autojump_clock: trio.abc.Clock, access_records: pytest.LogCaptureFixture
) -> None:
    # The head leaves at once; the body takes 4 x 0.25 s.
    async with make_app().test_client() as client:
        response = await client.get("/trickle")
    assert response.text == "xxxx"
    assert only_access(access_records).duration_ms == 1000.0  # type: ignore[attr-defined]


async def test_custom_format_and_record_fields(access_records: pytest.LogCaptureFixture) -> None:
    app = make_app()
    app.config.ACCESS_LOG_FORMAT = '{method} {status} "{user_agent}" "{referer}" {bytes:>6}'
    async with app.test_client() as client:
        await client.get("/hello", headers={"User-Agent": "probe/1.0", "X-Request-ID": "r1"})
    record = only_access(access_records)
    assert record.getMessage() == 'GET 200 "probe/1.0" "-"      5'
    fields = {name: getattr(record, name) for name in ACCESS_FIELDS}
    assert fields["client"] == "127.0.0.1"
    assert fields["path"] == "/hello"
    assert fields["protocol"] == "HTTP/1.1"
    assert fields["status"] == 200
    assert fields["bytes"] == 5
    assert fields["request_id"] == "r1"
    assert isinstance(fields["duration_ms"], float)
    # The names a log config brought from Sanic uses.
    assert record.byte == 5  # type: ignore[attr-defined]
    assert record.request == "GET http://testserver/hello"  # type: ignore[attr-defined]
    assert record.host.startswith("127.0.0.1:")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Transfer-Encoding": "chunked"}],
    ids=["content-length", "chunked"],
)
async def test_bytes_counts_the_body_of_a_large_response_once(
    headers: dict[str, str], access_records: pytest.LogCaptureFixture
) -> None:
    # 600,000 bytes leave in several writes, past h11 or through its chunks.
    app = make_app()
    body = b"x" * 600_000

    @app.get("/large")
    async def large(request: Request) -> HTTPResponse:
        return raw(body, headers=headers)

    async with app.test_client() as client:
        response = await client.get("/large")
    assert response.content == body
    assert only_access(access_records).bytes == 600_000  # type: ignore[attr-defined]


async def test_errors_are_logged_with_their_status(
    access_records: pytest.LogCaptureFixture,
) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/nowhere", headers={"X-Request-ID": "lost"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "lost"
    message = only_access(access_records).getMessage()
    assert message.startswith('127.0.0.1 "GET /nowhere HTTP/1.1" 404 ')
    assert message.endswith("ms lost")


async def test_client_strings_are_escaped(access_records: pytest.LogCaptureFixture) -> None:
    app = make_app()
    app.config.ACCESS_LOG_FORMAT = '"{path}" "{user_agent}"'
    async with app.test_client() as client:
        await client.get('/hello?q="x"\\', headers={b"User-Agent": b'a"b\tc\xe9'})
    message = only_access(access_records).getMessage()
    assert message == r'"/hello?q=%22x%22\x5c" "a\x22b\x09c\xe9"'


async def test_no_line_when_access_log_is_off(access_records: pytest.LogCaptureFixture) -> None:
    app = make_app()
    app.config.ACCESS_LOG = False
    async with app.test_client() as client:
        response = await client.get("/hello")
    assert response.status_code == 200
    assert [r for r in access_records.records if r.name == "trioweb.access"] == []
    assert "x-request-id" not in response.headers  # nothing needed an id: none was made


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{client} {nope}", "unknown field 'nope'"),
        ("{client.__class__}", "unknown field 'client.__class__'"),
        ("{path[0]}", "unknown field 'path[0]'"),
        ("{}", "unknown field '{}'"),
        ("{status:{bytes}}", "field 'status': a nested field in its format spec"),
        ("{client:d}", "Unknown format code 'd'"),
        ("{client", "expected '}' before end of string"),
    ],
)
async def test_a_bad_format_is_refused_at_start(template: str, problem: str) -> None:
    app = make_app()
    app.config.ACCESS_LOG_FORMAT = template
    with pytest.raises(ConfigError) as caught:
        async with app.test_client():
            pass  # pragma: no cover
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"ACCESS_LOG_FORMAT {template!r}: ")
    assert problem in message


def test_unknown_field_message_lists_the_fields() -> None:
    with pytest.raises(ValueError, match=r"^ACCESS_LOG_FORMAT") as caught:
        AccessLogFormat("{client} {ip}")
    assert str(caught.value) == (
        "ACCESS_LOG_FORMAT '{client} {ip}': unknown field 'ip' (the fields: "
        + ", ".join(ACCESS_FIELDS)
        + ")"
    )


def test_config_default_is_the_documented_format() -> None:
    assert Config().ACCESS_LOG_FORMAT == DEFAULT_ACCESS_LOG_FORMAT
    assert Config().REQUEST_ID_HEADER == "X-Request-ID"
    Config().validate()


def test_a_request_id_header_that_is_no_header_name_is_refused() -> None:
    config = Config()
    config.REQUEST_ID_HEADER = "X Request ID"
    with pytest.raises(ConfigError, match=r"^REQUEST_ID_HEADER must be a header name"):
        config.validate()


# -- request ids ---------------------------------------------------------------------------------


async def test_an_id_the_app_uses_is_echoed(access_off: None) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/whoami")
    assert UUID4.fullmatch(response.text)
    assert response.headers["x-request-id"] == response.text


async def test_no_id_is_made_when_nothing_needs_one(access_off: None) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/hello")
    assert "x-request-id" not in response.headers


async def test_an_access_line_makes_and_echoes_an_id(
    access_records: pytest.LogCaptureFixture,
) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/hello")
    sent = response.headers["x-request-id"]
    assert UUID4.fullmatch(sent)
    assert only_access(access_records).getMessage().endswith("ms " + sent)


async def test_the_client_id_is_echoed_unused(access_off: None) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/hello", headers={"x-request-id": "abc"})
        streamed = await client.get("/respond", headers={"x-request-id": "def"})
    assert response.headers["x-request-id"] == "abc"
    assert streamed.text == "streamed"
    assert streamed.headers["x-request-id"] == "def"


async def test_a_handler_header_wins(access_off: None) -> None:
    async with make_app().test_client() as client:
        response = await client.get("/own-id", headers={"x-request-id": "abc"})
    assert response.headers.get_list("x-request-id") == ["set-by-handler"]


@pytest.mark.parametrize(
    "bad",
    ["", "a b", "tab\there", b"caf\xe9", "x" * 201, "x" * 10_000],
    ids=["empty", "space", "tab", "latin-1", "201-chars", "10kB"],
)
async def test_an_invalid_client_id_is_replaced(
    bad: str | bytes, access_records: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    app.config.REQUEST_MAX_HEADER_SIZE = 64 * 1024
    async with app.test_client() as client:
        sent = bad if isinstance(bad, bytes) else bad.encode("ascii")
        response = await client.get("/whoami", headers={b"X-Request-ID": sent})
    assert UUID4.fullmatch(response.text)
    assert response.headers["x-request-id"] == response.text
    message = only_access(access_records).getMessage()
    assert message.endswith("ms " + response.text)
    shown = bad.decode("latin-1") if isinstance(bad, bytes) else bad
    assert not shown or shown not in message


async def test_an_id_of_200_visible_characters_is_kept(access_off: None) -> None:
    sent = "".join(chr(33 + i % 94) for i in range(200))
    async with make_app().test_client() as client:
        response = await client.get("/whoami", headers={"X-Request-ID": sent})
    assert response.text == sent
    assert response.headers["x-request-id"] == sent


async def test_a_folded_header_cannot_inject_a_line(
    access_records: pytest.LogCaptureFixture,
) -> None:
    # CR LF inside the id: h11 folds the continuation line into the value (obs-fold), which
    # leaves spaces in it: not a valid id, so a fresh one is logged and echoed instead.
    app = make_app()
    server = None
    async with trio.open_nursery() as nursery:
        server = await nursery.start(app.serve, "127.0.0.1", 0)
        with trio.fail_after(5):
            conn = await trio.open_tcp_stream("127.0.0.1", server.port)
            await conn.send_all(
                b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"X-Request-ID: abc\r\n 200 fake-line\r\n\r\n"
            )
            raw = b""
            while chunk := await conn.receive_some():
                raw += chunk
            await conn.aclose()
        await server.shutdown()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert UUID4.fullmatch(body.decode())
    assert b"x-request-id: " + body in head.lower()
    message = only_access(access_records).getMessage()
    assert "fake-line" not in message
    assert message.endswith("ms " + body.decode())


async def test_request_id_header_setting(access_off: None) -> None:
    app = make_app()
    app.config.REQUEST_ID_HEADER = "X-Trace-ID"
    async with app.test_client() as client:
        response = await client.get("/whoami", headers={"X-Trace-ID": "t-1", "X-Request-ID": "r"})
    assert response.text == "t-1"
    assert response.headers["x-trace-id"] == "t-1"
    assert "x-request-id" not in response.headers


async def test_no_echo_without_a_request_id_header(access_off: None) -> None:
    app = make_app()
    app.config.REQUEST_ID_HEADER = None
    async with app.test_client() as client:
        response = await client.get("/whoami", headers={"X-Request-ID": "ignored"})
    assert UUID4.fullmatch(response.text)  # the client's header is not read either
    assert "x-request-id" not in response.headers


def test_valid_request_id() -> None:
    assert valid_request_id("0f2c-ABC_~!")
    assert not valid_request_id("a\r\nb")
    assert not valid_request_id("a\x00")


# -- setup_logging --------------------------------------------------------------------------------

# A request through the real h11 path, then a line on trioweb.server: what each script logs.
SERVE = """
import trio
from trioweb import App
from trioweb.response import text
import logging

app = App("sub", env_prefix=None)

@app.get("/ping")
async def ping(request):
    return text("pong")

async def main():
    async with app.test_client() as client:
        await client.get("/ping", headers={"X-Request-ID": "sub-1"})
    logging.getLogger("trioweb.server").info("server line")

trio.run(main)
"""

USER_ROOT = """
import logging.config
logging.config.dictConfig({
    "version": 1,
    "formatters": {"f": {"format": "ROOT %(name)s %(message)s"}},
    "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f"}},
    "root": {"handlers": ["h"], "level": "WARNING"},
})
"""

USER_TRIOWEB = """
import logging.config
logging.config.dictConfig({
    "version": 1,
    "formatters": {"f": {"format": "MINE %(name)s %(message)s"}},
    "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f"}},
    "loggers": {"trioweb": {"handlers": ["h"], "level": "INFO"}},
})
"""


def run_python(code: str, cwd: Path | None = None) -> str:
    """Run ``code`` in a fresh interpreter; its stderr (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def access_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if '"GET /ping HTTP/1.1" 200' in line]


@pytest.mark.parametrize("order", ["before import", "after import"])
def test_a_root_dictconfig_is_used_once(order: str) -> None:
    setup = "import trioweb.logs; trioweb.logs.setup_logging()\n"
    if order == "before import":
        code = USER_ROOT + setup + SERVE
    else:
        code = "import trioweb\n" + USER_ROOT + setup + SERVE
    stderr = run_python(code)
    lines = access_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ROOT trioweb.access 127.0.0.1 ")
    assert lines[0].endswith("ms sub-1")
    assert stderr.count("server line") == 1
    assert "ROOT trioweb.server server line" in stderr


@pytest.mark.parametrize("order", ["before import", "after import", "after setup"])
def test_configuring_only_trioweb_prints_each_line_once(order: str) -> None:
    setup = "import trioweb.logs; trioweb.logs.setup_logging()\n"
    code = {
        "before import": USER_TRIOWEB + setup + SERVE,
        "after import": "import trioweb\n" + USER_TRIOWEB + setup + SERVE,
        "after setup": setup + USER_TRIOWEB + SERVE,
    }[order]
    stderr = run_python(code)
    lines = access_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("MINE trioweb.access ")
    assert stderr.count("server line") == 1


def test_default_config_is_one_handler_even_when_called_twice() -> None:
    setup = "import trioweb.logs; trioweb.logs.setup_logging(); trioweb.logs.setup_logging()\n"
    later = 'logging.basicConfig()\nlogging.getLogger("trioweb.x").info("after")\n'
    stderr = run_python(setup + SERVE + later)
    lines = access_lines(stderr)
    assert len(lines) == 1, stderr
    assert re.fullmatch(
        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[INFO\] trioweb.access: "
        r'127\.0\.0\.1 "GET /ping HTTP/1\.1" 200 4 \d+\.\dms sub-1',
        lines[0],
    )
    assert stderr.count("server line") == 1
    # A root handler added later does not double trioweb's lines.
    assert stderr.count("after") == 1


def test_level_and_access_log_switch() -> None:
    code = (
        "import logging, trioweb.logs\n"
        "trioweb.logs.setup_logging(level='WARNING', access_log=False)\n"
        "logging.getLogger('trioweb.server').info('hidden info')\n"
        "logging.getLogger('trioweb.server').warning('shown warning')\n"
        "trioweb.logs.setup_logging(level='debug', access_log=False)\n"
        "logging.getLogger('trioweb.server').debug('shown debug')\n"
        "logging.getLogger('trioweb.access').info('still silenced')\n"
        "trioweb.logs.setup_logging(access_log=True)\n"
        "logging.getLogger('trioweb.access').info('access back')\n"
    )
    stderr = run_python(code)
    assert "hidden info" not in stderr
    assert "still silenced" not in stderr
    for shown in ("shown warning", "shown debug", "access back"):
        assert stderr.count(shown) == 1, stderr


def test_json_log_config(tmp_path: Path) -> None:
    path = tmp_path / "logging.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "formatters": {"f": {"format": "JSONCFG %(levelname)s %(name)s %(message)s"}},
                "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "f"}},
                "loggers": {"trioweb": {"handlers": ["h"], "level": "INFO"}},
            }
        )
    )
    stderr = run_python(f"import trioweb.logs; trioweb.logs.setup_logging({str(path)!r})\n" + SERVE)
    lines = access_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("JSONCFG INFO trioweb.access ")


def test_ini_log_config_after_import_does_not_silence_trioweb(tmp_path: Path) -> None:
    # fileConfig disables every logger that exists and is not named: trioweb's included.
    path = tmp_path / "logging.ini"
    path.write_text(
        textwrap.dedent(
            """\
            [loggers]
            keys=root

            [handlers]
            keys=h

            [formatters]
            keys=f

            [logger_root]
            level=INFO
            handlers=h

            [handler_h]
            class=StreamHandler
            formatter=f
            args=(sys.stderr,)

            [formatter_f]
            format=INICFG %(name)s %(message)s
            """
        )
    )
    stderr = run_python(
        f"import trioweb, trioweb.logs; trioweb.logs.setup_logging({str(path)!r}, 'info')\n" + SERVE
    )
    lines = access_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("INICFG trioweb.access ")
    assert "INICFG trioweb.server server line" in stderr


@pytest.mark.skipif(importlib.util.find_spec("yaml") is None, reason="PyYAML is not installed")
def test_yaml_log_config(tmp_path: Path) -> None:  # pragma: no cover - needs PyYAML
    path = tmp_path / "logging.yaml"
    path.write_text(
        "version: 1\n"
        "formatters: {f: {format: 'YAMLCFG %(name)s %(message)s'}}\n"
        "handlers: {h: {class: logging.StreamHandler, formatter: f}}\n"
        "root: {handlers: [h], level: INFO}\n"
    )
    stderr = run_python(f"import trioweb.logs; trioweb.logs.setup_logging({str(path)!r})\n" + SERVE)
    assert len(access_lines(stderr)) == 1, stderr


def test_yaml_without_pyyaml_says_to_install_it(tmp_path: Path) -> None:
    path = tmp_path / "logging.yml"
    path.write_text("version: 1\n")
    code = (
        "import sys; sys.modules['yaml'] = None  # PyYAML missing, as in a bare install\n"
        "import trioweb.logs\n"
        "try:\n"
        f"    trioweb.logs.setup_logging({str(path)!r})\n"
        "except ValueError as exc:\n"
        "    print(exc, file=sys.stderr)\n"
    )
    stderr = run_python(code)
    assert stderr == (
        f"log config {path}: reading YAML needs PyYAML; install it (pip install pyyaml) "
        "or use a .json or .ini file\n"
    )


@pytest.mark.parametrize("level", ["loud", "", 1.5, True, -1])
def test_an_invalid_level_is_refused(level: object) -> None:
    trioweb_logger = logging.getLogger("trioweb")
    before = trioweb_logger.level
    with pytest.raises(ValueError, match=r"^invalid log level ") as caught:
        setup_logging(level=level)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    assert trioweb_logger.level == before  # nothing was changed


def test_invalid_level_message() -> None:
    with pytest.raises(ValueError, match=r"^invalid log level") as caught:
        setup_logging(level="LOUD")
    assert str(caught.value) == (
        "invalid log level 'LOUD': expected one of critical, error, warning, info, debug"
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.json", None, "no such file"),
        ("log.txt", "", "unknown kind of file '.txt'; use .json, .yaml, .yml, .ini, .conf or .cfg"),
        ("bad.json", "{", "not valid JSON: "),
        ("list.json", "[]", "must hold a mapping (logging's dictConfig schema)"),
    ],
)
def test_a_bad_log_config_file_is_one_line(
    tmp_path: Path, name: str, content: str | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=r"^log config ") as caught:
        setup_logging(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"log config {path}: ")
    assert problem in message


def test_a_config_logging_refuses_is_one_line(tmp_path: Path) -> None:
    # Run apart: a dictConfig that fails has already closed the process's handlers.
    path = tmp_path / "nohandler.json"
    path.write_text('{"version": 1, "root": {"handlers": ["missing"]}}')
    code = (
        "import sys, trioweb.logs\n"
        "try:\n"
        f"    trioweb.logs.setup_logging({str(path)!r})\n"
        "except ValueError as exc:\n"
        "    print(exc, file=sys.stderr)\n"
    )
    stderr = run_python(code)
    assert stderr == (
        f"log config {path}: Unable to configure root logger: "
        "Unable to add handler 'missing': 'missing'\n"
    )
