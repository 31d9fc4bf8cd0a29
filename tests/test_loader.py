"""Finding the app a command line names: ``module:app``, ``file.py:app``, factories.

Each test writes its modules under ``tmp_path`` with names of its own (modules stay in
``sys.modules``), and runs from there as the command line does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trioweb import App
from trioweb.server.loader import load_app, simple_app


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tmp_path`` as the current directory; what the tests import is forgotten after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


APP = """
from trioweb import App

app = App("{name}")
"""


def test_module_and_attribute(here: Path) -> None:
    (here / "ld_plain.py").write_text(APP.format(name="plain"))
    app = load_app("ld_plain:app")
    assert isinstance(app, App)
    assert app.name == "plain"


def test_a_dotted_attribute_and_a_package_module(here: Path) -> None:
    (here / "ld_pkg").mkdir()
    (here / "ld_pkg" / "__init__.py").write_text("")
    (here / "ld_pkg" / "web.py").write_text(
        "from types import SimpleNamespace\nfrom trioweb import App\n"
        "api = SimpleNamespace(app=App('nested'))\n"
    )
    assert load_app("ld_pkg.web:api.app").name == "nested"


def test_a_factory_is_called_with_no_arguments(here: Path) -> None:
    (here / "ld_factory.py").write_text(
        "from trioweb import App\n\ndef create_app():\n    return App('made')\n"
    )
    assert load_app("ld_factory:create_app", factory=True).name == "made"
    with pytest.raises(ValueError, match=r"is a function, not a trioweb App; if it makes the"):
        load_app("ld_factory:create_app")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def create_app():\n    return 42\n", "returned a int, not a trioweb App"),
        ("async def create_app():\n    pass\n", "is async; it must be a plain function"),
        ("create_app = 3\n", "is a int, not a factory to call"),
        ("from trioweb import App\ncreate_app = App()\n", "is already an App, not a factory"),
    ],
)
def test_what_a_factory_must_be(here: Path, body: str, message: str) -> None:
    name = f"ld_factory_{abs(hash(body))}"
    (here / f"{name}.py").write_text(body)
    with pytest.raises(ValueError, match=message):
        load_app(f"{name}:create_app", factory=True)


def test_a_file_path_imports_the_file_and_its_neighbours(here: Path) -> None:
    folder = here / "site" / "src"
    folder.mkdir(parents=True)
    (folder / "ld_helper.py").write_text("NAME = 'from a neighbour'\n")
    (folder / "ld_main.py").write_text(
        "from ld_helper import NAME\nfrom trioweb import App\napp = App(NAME)\n"
    )
    assert load_app("site/src/ld_main.py:app").name == "from a neighbour"
    assert load_app(f"{folder / 'ld_main.py'}").name == "from a neighbour"  # absolute, alone


def test_a_module_alone_gives_its_app(here: Path) -> None:
    (here / "ld_alone.py").write_text("from trioweb import App\nservice = App('only')\n")
    assert load_app("ld_alone").name == "only"
    (here / "ld_named.py").write_text(
        "from trioweb import App\napp = App('app')\nadmin = App('admin')\n"
    )
    assert load_app("ld_named").name == "app"  # `app` wins when there are several


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = 1\n", "'{m}' has no trioweb App; name it: '{m}:app'"),
        (
            "from trioweb import App\na = App()\nb = App()\n",
            "'{m}' has several apps (a, b); name one: '{m}:<name>'",
        ),
    ],
)
def test_a_module_alone_needs_exactly_one_app(here: Path, body: str, message: str) -> None:
    module = f"ld_count_{len(body)}"
    (here / f"{module}.py").write_text(body)
    with pytest.raises(ValueError, match=f"^{re.escape(message.format(m=module))}$"):
        load_app(module)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "expected the app as 'module:app' or 'path/to/file.py:app', got ''"),
        ("ld_plain:", "expected 'module:app' or 'path/to/file.py:app', got 'ld_plain:'"),
        (":app", "expected 'module:app' or 'path/to/file.py:app', got ':app'"),
        ("ld_plain:1app", "'1app' in 'ld_plain:1app' is not an attribute name"),
        ("my-site:app", "'my-site' in 'my-site:app' is neither a module name nor a .py file"),
        ("ld_nowhere:app", "cannot import 'ld_nowhere': no module named 'ld_nowhere'"),
        ("ld_plain:missing", "'ld_plain' has no attribute 'missing'"),
        ("ld_plain:App", "'ld_plain:App' is a type, not a trioweb App; if it makes the app"),
        ("ld_plain:__name__", "'ld_plain:__name__' is a str, not a trioweb App"),
        ("nowhere/app.py:app", "cannot import 'nowhere/app.py': no such file"),
        ("ld_plain", "a factory needs its name: 'ld_plain:create_app', not 'ld_plain' alone"),
    ],
)
def test_mistakes_are_one_line_value_errors(here: Path, target: str, message: str) -> None:
    (here / "ld_plain.py").write_text(APP.format(name="plain"))
    with pytest.raises(ValueError, match="^" + re.escape(message)) as refused:
        load_app(target, factory=message.startswith("a factory"))
    assert "\n" not in str(refused.value)


def test_an_import_error_inside_the_users_module_is_theirs(here: Path) -> None:
    (here / "ld_broken_import.py").write_text("import ld_not_installed\n")
    with pytest.raises(ModuleNotFoundError) as raised:
        load_app("ld_broken_import:app")
    assert raised.value.name == "ld_not_installed"
    assert raised.traceback[-1].path == here / "ld_broken_import.py"


def test_a_syntax_error_in_the_users_file_is_theirs(here: Path) -> None:
    (here / "ld_typo.py").write_text("def broken(:\n")
    with pytest.raises(SyntaxError) as raised:
        load_app("ld_typo.py:app")
    assert raised.value.filename == str(here / "ld_typo.py")
    assert "ld_typo" not in sys.modules


def test_an_error_raised_by_a_factory_is_theirs(here: Path) -> None:
    (here / "ld_factory_fails.py").write_text(
        "def create_app():\n    raise RuntimeError('no settings file')\n"
    )
    with pytest.raises(RuntimeError, match="no settings file"):
        load_app("ld_factory_fails:create_app", factory=True)


def test_a_file_already_imported_is_not_run_twice(here: Path) -> None:
    (here / "ld_once.py").write_text(
        "import builtins\nfrom trioweb import App\n"
        "builtins.ld_runs = getattr(builtins, 'ld_runs', 0) + 1\napp = App('once')\n"
    )
    first = load_app("ld_once:app")
    assert load_app("ld_once.py:app") is first
    import builtins

    assert builtins.ld_runs == 1  # type: ignore[attr-defined]
    del builtins.ld_runs  # type: ignore[attr-defined]


async def test_simple_app_serves_a_folder(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("alpha")
    app = simple_app(tmp_path)
    async with app.test_client() as client:
        assert (await client.get("/")).text == "<h1>home</h1>"
        assert (await client.get("/docs/a.txt")).text == "alpha"
        assert "a.txt" in (await client.get("/docs/")).text  # a listing


def test_simple_app_wants_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot serve '.*missing': not a directory"):
        simple_app(tmp_path / "missing")
