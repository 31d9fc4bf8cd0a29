"""The public surface: ``trioweb.__all__`` and the names DESIGN.md section 3 promises.

A name added to a module without being exported (or exported without existing) fails here, so
the public API changes only on purpose.
"""

from __future__ import annotations

import importlib
import types

import pytest

import trioweb

# DESIGN.md section 3: what users import, module by module.
PROMISED = {
    "trioweb": ["App", "Blueprint", "Request", "HTTPResponse"],
    "trioweb.response": ["text", "html", "json", "raw", "empty", "redirect", "stream"],
    "trioweb.views": ["HTTPMethodView", "CompositionView", "stream"],
    "trioweb.blueprints": ["Blueprint"],
    "trioweb.exceptions": [
        "HTTPException",
        "BadRequest",
        "NotFound",
        "MethodNotAllowed",
        "PayloadTooLarge",
    ],
}


def test_all_is_exactly_the_public_names_of_the_package() -> None:
    public = {
        name
        for name, value in vars(trioweb).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(trioweb.__all__)


def test_all_is_sorted_without_repeats() -> None:
    assert trioweb.__all__ == sorted(set(trioweb.__all__))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in trioweb.__all__ if not hasattr(trioweb, name)]
    assert missing == []


def test_package_stream_is_the_response_helper_not_the_view_decorator() -> None:
    import trioweb.response
    import trioweb.views

    assert trioweb.stream is trioweb.response.stream
    assert trioweb.stream is not trioweb.views.stream


@pytest.mark.parametrize("module_name", list(PROMISED))
def test_promised_names_are_exported(module_name: str) -> None:
    module = importlib.import_module(module_name)
    not_exported = [name for name in PROMISED[module_name] if name not in module.__all__]
    assert not_exported == []


@pytest.mark.parametrize("module_name", list(PROMISED))
def test_every_name_a_module_exports_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_package_reexports_are_the_modules_objects() -> None:
    from trioweb.blueprints import Blueprint
    from trioweb.exceptions import HTTPException
    from trioweb.response import HTTPResponse, text
    from trioweb.views import CompositionView, HTTPMethodView

    assert trioweb.Blueprint is Blueprint
    assert trioweb.HTTPException is HTTPException
    assert trioweb.HTTPResponse is HTTPResponse
    assert trioweb.text is text
    assert trioweb.HTTPMethodView is HTTPMethodView
    assert trioweb.CompositionView is CompositionView


def test_file_responses_are_exported() -> None:
    import trioweb.response

    missing = [name for name in ("file", "file_stream") if not hasattr(trioweb.response, name)]
    assert missing == []
