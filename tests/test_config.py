"""Config: defaults, loading, TRIOWEB_ environment variables, and validation at server start.

Every error message is pinned: a user reads it once, on a failed start, and must know from
that one line which setting (or variable) is wrong, what it must be and what it was.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any

import pytest
import trio

from trioweb import App, Config, Request
from trioweb.config import ConfigError
from trioweb.response import HTTPResponse, text

from .netutil import ROOT, TIMEOUT


@pytest.fixture(autouse=True)
def no_trioweb_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test from an environment without TRIOWEB_ variables."""
    for name in os.environ:
        if name.startswith("TRIOWEB_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_documented_ones() -> None:
    config = Config()
    assert config.REQUEST_MAX_SIZE == 100 * 1024 * 1024
    assert config.REQUEST_MAX_HEADER_SIZE == 8 * 1024
    assert config.REQUEST_TIMEOUT == 60
    assert config.RESPONSE_TIMEOUT == 60
    assert config.KEEP_ALIVE_TIMEOUT == 5
    assert config.GRACEFUL_SHUTDOWN_TIMEOUT == 15
    config.validate()


def test_load_takes_upper_case_keys_of_a_mapping_or_object() -> None:
    class Settings:
        DB_URL = "sqlite://"
        REQUEST_TIMEOUT = 5
        lower = "ignored"

    config = Config()
    config.load(Settings)
    config.load({"KEEP_ALIVE": False, "quiet": True})
    assert config.DB_URL == "sqlite://"  # type: ignore[attr-defined]
    assert config.REQUEST_TIMEOUT == 5
    assert config.KEEP_ALIVE is False
    assert not hasattr(config, "lower")
    assert not hasattr(config, "quiet")


# --- the environment: converted by each setting's declared type ----------------------------------


def test_environment_variables_are_read_as_each_settings_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SIZE", " 1_000 ")
    monkeypatch.setenv("TRIOWEB_KEEP_ALIVE_TIMEOUT", "2.5")
    monkeypatch.setenv("TRIOWEB_REQUEST_TIMEOUT", "7")
    monkeypatch.setenv("TRIOWEB_DEBUG", "TRUE")
    monkeypatch.setenv("TRIOWEB_RESPONSE_TIMEOUT", "none")
    monkeypatch.setenv("TRIOWEB_WRITE_IDLE_TIMEOUT", "")
    monkeypatch.setenv("TRIOWEB_SERVER_NAME", "8080")
    monkeypatch.setenv("TRIOWEB_FORWARDED_SECRET", "12345")
    monkeypatch.setenv("TRIOWEB_FALLBACK_ERROR_FORMAT", "json")
    config = App("env").config
    assert config.REQUEST_MAX_SIZE == 1000
    assert config.KEEP_ALIVE_TIMEOUT == 2.5
    assert config.REQUEST_TIMEOUT == 7
    assert config.DEBUG is True
    assert config.RESPONSE_TIMEOUT is None
    assert config.WRITE_IDLE_TIMEOUT is None
    assert config.SERVER_NAME == "8080"  # a str setting stays a string, digits or not
    assert config.FORWARDED_SECRET == "12345"
    assert config.FALLBACK_ERROR_FORMAT == "json"
    config.validate()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("true", True), ("Yes", True), ("ON", True), ("1", True)],
        *[("false", False), ("NO", False), ("off", False), ("0", False), (" False ", False)],
    ],
)
def test_a_bool_variable_takes_the_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("TRIOWEB_KEEP_ALIVE", raw)
    assert App().config.KEEP_ALIVE is expected


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        (
            "TRIOWEB_PROXIES_COUNT",
            "1.0",
            "TRIOWEB_PROXIES_COUNT must be None or an int >= 0, got '1.0'",
        ),
        (
            "TRIOWEB_REQUEST_MAX_SIZE",
            "10MB",
            "TRIOWEB_REQUEST_MAX_SIZE must be an int >= 0, got '10MB'",
        ),
        (
            "TRIOWEB_REQUEST_MAX_SIZE",
            "-1",
            "TRIOWEB_REQUEST_MAX_SIZE must be an int >= 0, got '-1'",
        ),
        (
            "TRIOWEB_REQUEST_MAX_SIZE",
            "none",
            "TRIOWEB_REQUEST_MAX_SIZE must be an int >= 0, got 'none'",
        ),
        (
            "TRIOWEB_KEEP_ALIVE_TIMEOUT",
            "soon",
            "TRIOWEB_KEEP_ALIVE_TIMEOUT must be None or a number >= 0, got 'soon'",
        ),
        (
            "TRIOWEB_KEEP_ALIVE_TIMEOUT",
            "nan",
            "TRIOWEB_KEEP_ALIVE_TIMEOUT must be None or a number >= 0, got 'nan'",
        ),
        (
            "TRIOWEB_DEBUG",
            "maybe",
            "TRIOWEB_DEBUG must be a bool (true/false, yes/no, on/off, 1/0), got 'maybe'",
        ),
        (
            "TRIOWEB_SYNC_HANDLER_THREADS",
            "0",
            "TRIOWEB_SYNC_HANDLER_THREADS must be an int >= 1, got '0'",
        ),
        (
            "TRIOWEB_FALLBACK_ERROR_FORMAT",
            "xml",
            "TRIOWEB_FALLBACK_ERROR_FORMAT must be one of 'auto', 'text', 'json' or 'html', "
            "got 'xml'",
        ),
    ],
)
def test_an_invalid_variable_stops_the_app_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, message: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ConfigError) as caught:
        App("bad-env")
    assert str(caught.value) == message
    assert caught.value.errors == (message,)


def test_an_unknown_variable_is_an_error_that_suggests_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SZE", "10")
    with pytest.raises(ConfigError, match=r"^TRIOWEB_REQUEST_MAX_SZE is not a trioweb setting"):
        App()
    with pytest.raises(ConfigError) as caught:
        Config().load_environment()
    assert str(caught.value) == (
        "TRIOWEB_REQUEST_MAX_SZE is not a trioweb setting (did you mean TRIOWEB_REQUEST_MAX_SIZE?)"
    )
    monkeypatch.delenv("TRIOWEB_REQUEST_MAX_SZE")
    monkeypatch.setenv("TRIOWEB_GREETING", "hi")
    with pytest.raises(ConfigError) as caught:
        Config().load_environment()
    assert str(caught.value) == "TRIOWEB_GREETING is not a trioweb setting"


def test_every_bad_variable_is_reported_at_once_and_none_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("TRIOWEB_PROXIES_COUNT", "1.0")
    monkeypatch.setenv("TRIOWEB_DEBG", "true")
    config = Config()
    with pytest.raises(ConfigError) as caught:
        config.load_environment()
    assert str(caught.value).splitlines() == [
        "TRIOWEB_DEBG is not a trioweb setting (did you mean TRIOWEB_DEBUG?)",
        "TRIOWEB_PROXIES_COUNT must be None or an int >= 0, got '1.0'",
    ]
    assert config.REQUEST_TIMEOUT == 60.0  # nothing was applied


def test_env_prefix_none_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SIZE", "not a number")
    monkeypatch.setenv("TRIOWEB_NOT_A_SETTING", "1")
    assert App("no-env", env_prefix=None).config.REQUEST_MAX_SIZE == 100 * 1024 * 1024


def test_another_prefix_types_settings_and_keeps_the_apps_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYAPP_REQUEST_MAX_SIZE", "2048")
    monkeypatch.setenv("MYAPP_SERVER_NAME", "8080")
    monkeypatch.setenv("MYAPP_DB_POOL", "5")
    monkeypatch.setenv("MYAPP_DB_URL", "sqlite://")
    config = App("mine", env_prefix="MYAPP_").config
    assert config.REQUEST_MAX_SIZE == 2048
    assert config.SERVER_NAME == "8080"
    assert config.DB_POOL == 5  # type: ignore[attr-defined]
    assert config.DB_URL == "sqlite://"  # type: ignore[attr-defined]
    monkeypatch.setenv("MYAPP_REQUEST_MAX_SIZE", "2k")
    with pytest.raises(ConfigError, match=r"^MYAPP_REQUEST_MAX_SIZE must be an int >= 0"):
        App("mine", env_prefix="MYAPP_")


def test_a_subclass_declares_typed_settings_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    class MyConfig(Config):
        DB_POOL: int = 5

    monkeypatch.setenv("TRIOWEB_DB_POOL", "8")
    config = App("typed", config=MyConfig()).config
    assert isinstance(config, MyConfig)
    assert config.DB_POOL == 8
    config.DB_POOL = -1
    with pytest.raises(ConfigError, match=r"^DB_POOL must be an int >= 0, got -1$"):
        config.validate()


async def test_an_env_limit_takes_effect_on_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SIZE", "4")
    app = App("env-limit")

    @app.post("/")
    async def index(request: Request) -> HTTPResponse:
        return text("ok")

    async with app.test_client() as client:
        assert (await client.post("/", content=b"12345")).status_code == 413


# --- validate(): every value against its type and range -----------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REQUEST_MAX_SIZE", "10", "REQUEST_MAX_SIZE must be an int >= 0, got '10'"),
        ("REQUEST_MAX_SIZE", 10.0, "REQUEST_MAX_SIZE must be an int >= 0, got 10.0"),
        ("REQUEST_MAX_SIZE", -1, "REQUEST_MAX_SIZE must be an int >= 0, got -1"),
        ("REQUEST_MAX_SIZE", None, "REQUEST_MAX_SIZE must be an int >= 0, got None"),
        ("PROXIES_COUNT", True, "PROXIES_COUNT must be None or an int >= 0, got True"),
        ("PROXIES_COUNT", 1.0, "PROXIES_COUNT must be None or an int >= 0, got 1.0"),
        ("REQUEST_TIMEOUT", -0.5, "REQUEST_TIMEOUT must be None or a number >= 0, got -0.5"),
        ("REQUEST_TIMEOUT", "5", "REQUEST_TIMEOUT must be None or a number >= 0, got '5'"),
        (
            "GRACEFUL_SHUTDOWN_TIMEOUT",
            float("nan"),
            "GRACEFUL_SHUTDOWN_TIMEOUT must be None or a number >= 0, got nan",
        ),
        (
            "WEBSOCKET_PING_INTERVAL",
            0,
            "WEBSOCKET_PING_INTERVAL must be None or a number > 0, got 0",
        ),
        ("SYNC_HANDLER_THREADS", 0, "SYNC_HANDLER_THREADS must be an int >= 1, got 0"),
        ("READ_SIZE", 0, "READ_SIZE must be an int >= 1, got 0"),
        ("MAX_CONNECTIONS", 0, "MAX_CONNECTIONS must be None or an int >= 1, got 0"),
        ("KEEP_ALIVE", "false", "KEEP_ALIVE must be a bool, got 'false'"),
        ("DEBUG", 1, "DEBUG must be a bool, got 1"),
        ("FORWARDED_SECRET", 12345, "FORWARDED_SECRET must be None or a str, got 12345"),
        (
            "FALLBACK_ERROR_FORMAT",
            "JSON",
            "FALLBACK_ERROR_FORMAT must be one of 'auto', 'text', 'json' or 'html', got 'JSON'",
        ),
        ("SERVER_NAME", b"x" * 100, f"SERVER_NAME must be None or a str, got b'{'x' * 55}..."),
    ],
)
def test_validate_refuses_a_wrong_type_or_range_naming_the_setting(
    name: str, value: Any, message: str
) -> None:
    config = Config()
    setattr(config, name, value)
    with pytest.raises(ConfigError) as caught:
        config.validate()
    assert str(caught.value) == message


def test_validate_accepts_what_the_types_allow_and_ignores_the_apps_own_settings() -> None:
    config = Config()
    config.update(
        REQUEST_TIMEOUT=5,  # an int where a float is declared
        KEEP_ALIVE_TIMEOUT=float("inf"),
        RESPONSE_TIMEOUT=None,
        PROXIES_COUNT=0,
        REQUEST_MAX_SIZE=0,
        FALLBACK_ERROR_FORMAT="html",
        DB_URL=object(),  # the application's own: never checked
    )
    config.validate()


def test_validate_lists_every_invalid_setting_one_line_each() -> None:
    config = Config(REQUEST_MAX_SIZE="10", DEBUG="yes")  # type: ignore[arg-type]
    config.PROXIES_COUNT = -1
    with pytest.raises(ConfigError) as caught:
        config.validate()
    assert caught.value.errors == (
        "REQUEST_MAX_SIZE must be an int >= 0, got '10'",
        "DEBUG must be a bool, got 'yes'",
        "PROXIES_COUNT must be None or an int >= 0, got -1",
    )
    assert str(caught.value) == "\n".join(caught.value.errors)
    assert isinstance(caught.value, ValueError)
    copied = pickle.loads(pickle.dumps(caught.value))  # crosses process boundaries intact
    assert (type(copied), copied.errors) == (ConfigError, caught.value.errors)


# --- validation when a server starts ------------------------------------------------------------


async def test_a_server_with_an_invalid_setting_does_not_start() -> None:
    app = App("bad")
    app.config.REQUEST_MAX_SIZE = "10"  # type: ignore[assignment]
    started = []

    @app.before_server_start
    async def starting(app: App) -> None:
        started.append(app)  # pragma: no cover - never reached

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("never served")  # pragma: no cover

    with pytest.raises(ConfigError, match=r"^REQUEST_MAX_SIZE must be an int >= 0, got '10'$"):
        async with app.test_client():
            pass  # pragma: no cover
    assert started == []


async def test_a_server_on_a_real_socket_refuses_an_invalid_setting_too() -> None:
    app = App("bad-socket")
    app.config.KEEP_ALIVE_TIMEOUT = -1
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            with pytest.raises(ConfigError) as caught:
                await nursery.start(app.serve, "127.0.0.1", 0)
    assert str(caught.value) == "KEEP_ALIVE_TIMEOUT must be None or a number >= 0, got -1"


async def test_the_command_line_refuses_an_invalid_variable_before_serving() -> None:
    env = {**os.environ, "TRIOWEB_PROXIES_COUNT": "1.0", "PYTHONUNBUFFERED": "1"}
    with trio.fail_after(TIMEOUT):
        done = await trio.run_process(
            [sys.executable, "-m", "trioweb", "examples.hello:app", "--port", "0"],
            cwd=ROOT,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    stderr = done.stderr.decode()
    assert done.returncode != 0, stderr
    assert "TRIOWEB_PROXIES_COUNT must be None or an int >= 0, got '1.0'" in stderr
