"""Config: defaults, loading from mappings, objects and TRIOWEB_ environment variables."""

from __future__ import annotations

import pytest

from trioweb import App, Config


def test_defaults_are_the_documented_ones() -> None:
    config = Config()
    assert config.REQUEST_MAX_SIZE == 100 * 1024 * 1024
    assert config.REQUEST_MAX_HEADER_SIZE == 8 * 1024
    assert config.REQUEST_TIMEOUT == 60
    assert config.RESPONSE_TIMEOUT == 60
    assert config.KEEP_ALIVE_TIMEOUT == 5
    assert config.GRACEFUL_SHUTDOWN_TIMEOUT == 15


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


def test_environment_variables_with_the_prefix_set_typed_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SIZE", "1000")
    monkeypatch.setenv("TRIOWEB_KEEP_ALIVE_TIMEOUT", "2.5")
    monkeypatch.setenv("TRIOWEB_DEBUG", "true")
    monkeypatch.setenv("TRIOWEB_RESPONSE_TIMEOUT", "none")
    monkeypatch.setenv("TRIOWEB_GREETING", "hi")
    app = App("env")
    assert app.config.REQUEST_MAX_SIZE == 1000
    assert app.config.KEEP_ALIVE_TIMEOUT == 2.5
    assert app.config.DEBUG is True
    assert app.config.RESPONSE_TIMEOUT is None
    assert app.config.GREETING == "hi"  # type: ignore[attr-defined]
    assert App("no-env", env_prefix=None).config.REQUEST_MAX_SIZE == 100 * 1024 * 1024


async def test_an_env_limit_takes_effect_on_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIOWEB_REQUEST_MAX_SIZE", "4")
    app = App("env-limit")

    @app.post("/")
    async def index(request):  # type: ignore[no-untyped-def]
        from trioweb.response import text

        return text("ok")

    async with app.test_client() as client:
        assert (await client.post("/", content=b"12345")).status_code == 413
