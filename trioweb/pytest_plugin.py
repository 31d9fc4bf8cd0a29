"""trioweb's pytest plugin, registered through the ``pytest11`` entry point as ``trioweb``.

Installing trioweb makes its fixture available to every pytest run; nothing else changes
(the plugin sets no options). `trioweb.testing` itself never imports pytest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from .testing import TestClient

if TYPE_CHECKING:
    from .app import App

__all__ = ["trioweb_client"]


@pytest.fixture
async def trioweb_client(app: App) -> AsyncIterator[TestClient]:
    """A running `TestClient` for the ``app`` fixture your tests define.

    The app's start listeners run before the test and its stop listeners after it. Needs
    pytest-trio (with ``trio_mode = true``, or the test marked ``@pytest.mark.trio``).

    Example::

        @pytest.fixture
        def app():
            return make_app()

        async def test_home(trioweb_client):
            assert (await trioweb_client.get("/")).status_code == 200
    """
    async with TestClient(app) as client:
        yield client
