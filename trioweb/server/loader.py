"""Find the app to serve from what a command line names: ``module:app``, a file, a factory.

The forms, as Uvicorn and Sanic users write them:

- ``"pkg.mod:app"``: import ``pkg.mod`` (the current directory is importable, as with
  ``python -m``) and take its attribute ``app`` (a dotted path such as ``mod:api.app`` works);
- ``"pkg.mod:create_app"`` with ``factory=True``: call ``create_app()`` with no arguments;
  it must return the `App`;
- ``"path/to/file.py:app"``: import the file by its path, with its directory importable so
  the modules beside it can be imported too;
- ``"pkg.mod"`` or ``"path/to/file.py"`` alone: the module's ``app`` if it is an `App`,
  else its only `App` attribute.

An error raised while the user's module runs (``ImportError``, ``SyntaxError``, anything)
propagates as it is, with its own traceback: it is theirs to read. Every other mistake (a
wrong shape, a missing module, file or attribute, something that is not an `App`) is a
`ValueError` whose message is one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType

from ..app import App

__all__ = ["load_app", "simple_app"]


def load_app(target: str, *, factory: bool = False) -> App:
    """Import the `App` that ``target`` names (see the module docstring for the forms).

    Args:
        target: ``"module:attribute"``, ``"path/to/file.py:attribute"``, or a module or
            file alone.
        factory: Call the attribute with no arguments and serve what it returns.

    Returns:
        The app.

    Raises:
        ValueError: ``target`` has the wrong shape, names no module, file or attribute, or
            names something that is not an `App` (or, with ``factory``, not a callable that
            returns one). The message is one line.
        Exception: whatever the user's module or factory raises, unchanged.
    """
    if not isinstance(target, str) or not target.strip():
        raise ValueError(
            f"expected the app as 'module:app' or 'path/to/file.py:app', got {target!r}"
        )
    source, colon, attribute = target.rpartition(":")
    if not colon:
        source, attribute = target, ""
    elif not source or not attribute:
        raise ValueError(f"expected 'module:app' or 'path/to/file.py:app', got {target!r}")
    if attribute and not all(part.isidentifier() for part in attribute.split(".")):
        raise ValueError(f"{attribute!r} in {target!r} is not an attribute name")
    module = _import(source, target)
    if not attribute:
        if factory:
            raise ValueError(
                f"a factory needs its name: '{source}:create_app', not {target!r} alone"
            )
        return _find_app(module, source)
    found = _attribute(module, attribute, source)
    if factory:
        return _call_factory(found, target)
    if isinstance(found, App):
        return found
    if callable(found):
        raise ValueError(
            f"{target!r} is a {type(found).__name__}, not a trioweb App; if it makes the app, "
            "ask for it to be called (factory=True, --factory)"
        )
    raise ValueError(f"{target!r} is a {type(found).__name__}, not a trioweb App")


def simple_app(directory: str | os.PathLike[str]) -> App:
    """An app that serves the files under ``directory`` (``--simple``), as Sanic's does.

    ``/`` and every folder answer with their ``index.html``, or a listing of the folder.

    Raises:
        ValueError: ``directory`` is not a directory.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ValueError(f"cannot serve {os.fspath(directory)!r}: not a directory")
    app = App("simple")
    app.static("/", folder, index="index.html", directory_view=True)
    return app


def _import(source: str, target: str) -> ModuleType:
    if source.endswith(".py") or os.sep in source or "/" in source:
        return _import_file(source)
    if not all(part.isidentifier() for part in source.split(".")):
        raise ValueError(f"{source!r} in {target!r} is neither a module name nor a .py file")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # as `python -m` does
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        # Only a missing *target* (or its package) is our message to give; a module missing
        # inside the user's code is their error, with their traceback.
        if exc.name is not None and (source == exc.name or source.startswith(exc.name + ".")):
            raise ValueError(
                f"cannot import {source!r}: no module named {exc.name!r} "
                f"(looked in {cwd} and sys.path)"
            ) from None
        raise


def _import_file(source: str) -> ModuleType:
    path = Path(source).resolve()
    if path.suffix != ".py":
        raise ValueError(f"{source!r} is not a .py file")
    if not path.is_file():
        raise ValueError(f"cannot import {source!r}: no such file")
    # A script run as `python script.py` (or re-run as a spawned child's __mp_main__) is
    # already imported; running it again would build a second app.
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file is not None and _same_file(file, path):
            return module
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # its sibling modules import as they do under python
    name = path.stem if path.stem.isidentifier() else "_trioweb_app"
    if name in sys.modules:  # another module of that name: keep it, and ours apart
        name = f"_trioweb_app_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise ValueError(f"cannot import {source!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _same_file(file: str, path: Path) -> bool:
    try:
        return Path(file).resolve() == path
    except (OSError, ValueError):
        return False


def _attribute(module: ModuleType, attribute: str, source: str) -> object:
    found: object = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"{source!r} has no attribute {attribute!r}") from None
    return found


def _find_app(module: ModuleType, source: str) -> App:
    named = getattr(module, "app", None)
    if isinstance(named, App):
        return named
    apps = {name: value for name, value in vars(module).items() if isinstance(value, App)}
    if len(apps) == 1:
        return next(iter(apps.values()))
    if not apps:
        raise ValueError(f"{source!r} has no trioweb App; name it: '{source}:app'")
    names = ", ".join(sorted(apps))
    raise ValueError(f"{source!r} has several apps ({names}); name one: '{source}:<name>'")


def _call_factory(found: object, target: str) -> App:
    if isinstance(found, App):
        raise ValueError(f"{target!r} is already an App, not a factory: drop factory/--factory")
    if not callable(found):
        raise ValueError(f"{target!r} is a {type(found).__name__}, not a factory to call")
    app = found()
    if inspect.isawaitable(app):
        if inspect.iscoroutine(app):
            app.close()
        raise ValueError(f"the factory {target!r} is async; it must be a plain function")
    if not isinstance(app, App):
        raise ValueError(
            f"the factory {target!r} returned a {type(app).__name__}, not a trioweb App"
        )
    return app
