"""Every code block in docs/*.md and README.md is valid, and runs unless it cannot.

Every ```python block compiles, and falls in one of these classes (the first that fits):

- project: a file of the fresh project that ``tests/test_examples.py`` builds and tests from
  README.md, docs/getting-started.md and docs/testing.md (a block whose first line names it,
  ``# test_hello.py``; the README's first block is ``hello.py``).
- example: its statements appear, in order, in a file under examples/ that a test imports or
  serves (compared as syntax trees without type annotations and docstrings, so a page may
  leave out an example's annotations).
- program: it calls ``trio.run`` itself; it runs in a subprocess and must exit 0. (The chat
  client of websockets.md talks to examples/chat.py, served for it on a free port.)
- executed: everything else. A page's executed blocks run in page order in one namespace that
  starts from `PRELUDE` (``app = App(...)`` and the usual imports, which the pages' fragments
  assume), as a module not named ``__main__``. That imports, declares routes, registers
  blueprints, and builds views, so a wrong keyword or a bad pattern fails. A top-level
  ``await`` runs inside trio. At module level, ``raise X(...)`` (shown for a handler) builds
  ``X(...)`` without raising it; a statement annotated ``# raises Name`` must raise ``Name``,
  and one annotated as a traceback ends, ``# Name: message``, must raise it with that
  message; an expression annotated with a literal (``# "/users/7"``, ``# ["a", "b"]``, on its
  line or the next, maybe followed by ``: a remark``) must equal it. The ``test_*`` functions
  a block defines are then called (a ``nursery`` argument gets one).

What a page assumes its reader has is set up around its blocks (`READERS_WORLD`): the
``settings`` module configuration.md imports, the files its static routes and TLS examples
name (in a temporary working directory), the ``myapp`` module websockets.md's tests import,
a request with the cookies requests.md shows. ``app.run(...)`` does everything it does before
serving (the keyword checks, validating the settings, loading the TLS files) and stops there.

Program blocks serve on 127.0.0.1, port 0, and stop their own servers; each has 60 seconds.

Shell blocks (console, sh, shell, bash) are not run, but each ``trioweb`` / ``python -m
trioweb`` command in them must parse with the real command line's parser, and each
``TRIOWEB_*`` variable they set must name a setting.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import importlib
import inspect
import io
import json
import logging
import os
import re
import shlex
import ssl
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import PIPE
from types import CodeType, ModuleType
from typing import Any

import pytest
import trio

import trioweb
import trioweb.config
import trioweb.exceptions
import trioweb.server.run
from trioweb.cli import build_parser
from trioweb.datastructures import Headers
from trioweb.request import Request
from trioweb.server.run import RunOptions

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
# The pages whose named blocks tests/test_examples.py writes into a project and tests.
PROJECT_PAGES = {"README.md", "getting-started.md", "testing.md"}
NAMED_FILE = re.compile(r"# [\w.-]+\.py\b")

PRELUDE = """\
import pytest
import trio

from trioweb import App, Blueprint
from trioweb.response import empty, file, file_stream, html, json, raw, redirect, stream, text

app = App("docs")
"""

TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclasses.dataclass(frozen=True)
class Block:
    page: str
    line: int
    info: str
    code: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    text = page.read_text()
    for fence in FENCE.finditer(text):
        line = text.count("\n", 0, fence.start()) + 1
        code = textwrap.dedent(fence["body"])
        yield Block(page.name, line, fence["info"].strip().split(" ")[0], code)


def python_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.info == "python"]


ALL_PYTHON = [block for page in PAGES for block in python_blocks(page)]


# --- matching blocks against examples/ ------------------------------------------------------


class _Plain(ast.NodeTransformer):
    """Drop what a page may leave out of an example: annotations and docstrings."""

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            return body[1:] if isinstance(first.value.value, str) else body
        return body

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if isinstance(node, ast.arg):
            node.annotation = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            node.body = self._body(node.body)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None  # a declaration only: nothing a page needs to show
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


def _statement_lists(tree: ast.AST) -> Iterator[list[str]]:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield [ast.dump(stmt) for stmt in body]


def _plain_statements(code: str) -> list[str]:
    tree = _Plain().visit(ast.parse(code))
    return [ast.dump(stmt) for stmt in tree.body]


def _tested_examples() -> dict[str, list[list[str]]]:
    """Each example module some test imports or serves -> its statement lists."""
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    found = {}
    for path in sorted((ROOT / "examples").glob("*.py")):
        name = path.stem
        used = re.search(rf"\bexamples[./]{name}\b", tests) or re.search(
            rf"^from examples import [^\n]*\b{name}\b", tests, re.MULTILINE
        )
        if used:
            tree = _Plain().visit(ast.parse(path.read_text()))
            found[name] = list(_statement_lists(tree))
    return found


TESTED_EXAMPLES = _tested_examples()


def example_of(block: Block) -> str | None:
    """The example under examples/ that holds this block's statements in order, if any."""
    try:
        wanted = _plain_statements(block.code)
    except SyntaxError:
        return None
    if not wanted:
        return None
    for name, bodies in TESTED_EXAMPLES.items():
        for body in bodies:
            for start in range(len(body) - len(wanted) + 1):
                if body[start : start + len(wanted)] == wanted:
                    return name
    return None


# --- classes -----------------------------------------------------------------------------


def _module_level_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls made when the block runs as a module not named ``__main__``."""
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            nodes: list[ast.AST] = [*stmt.decorator_list]
        else:
            nodes = [stmt]
        for node in nodes:
            yield from (call for call in ast.walk(node) if isinstance(call, ast.Call))


def classify(block: Block) -> tuple[str, str]:
    """``(class, detail)`` for a python block; see the module docstring."""
    page_blocks = [b for b in ALL_PYTHON if b.page == block.page]
    first_line = block.code.lstrip("\n").splitlines()[0]
    if block.page in PROJECT_PAGES:
        if NAMED_FILE.match(first_line):
            return "project", first_line
        if block.page == "README.md" and block == page_blocks[0]:
            return "project", "hello.py"
    example = example_of(block)
    if example is not None:
        return "example", f"examples/{example}.py"
    try:
        tree = ast.parse(block.code)
    except SyntaxError:
        return "broken", "does not compile"  # (test_python_block_compiles says where)
    for call in _module_level_calls(tree):
        if ast.unparse(call.func) == "trio.run":
            return "program", "calls trio.run"
    return "executed", ""


CLASSES = {block: classify(block) for block in ALL_PYTHON}


def test_the_pages_have_python_blocks_in_every_class() -> None:
    counts: dict[str, int] = {}
    for kind, _ in CLASSES.values():
        counts[kind] = counts.get(kind, 0) + 1
    assert set(counts) == {"project", "example", "program", "executed"}, counts


def test_project_pages_are_the_ones_test_examples_builds() -> None:
    source = (ROOT / "tests" / "test_examples.py").read_text()
    for page in PROJECT_PAGES - {"README.md"}:
        assert f'"docs/{page}"' in source
    assert '"README.md"' in source


@pytest.mark.parametrize("block", ALL_PYTHON, ids=str)
def test_python_block_compiles(block: Block) -> None:
    compile(block.code, str(block), "exec", flags=TOP_LEVEL_AWAIT, dont_inherit=True)


# --- executing a page's blocks -----------------------------------------------------------


def _comments(code: str) -> dict[int, tuple[str, bool]]:
    """Line -> (comment text without ``#``, whether the comment is the whole line)."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            whole = token.line[: token.start[1]].strip() == ""
            found[token.start[0]] = (token.string[1:].strip(), whole)
    return found


def _claim(stmt: ast.stmt, comments: dict[int, tuple[str, bool]]) -> str | None:
    """What a statement's comment says it gives: on its last line, or alone on the next."""
    end = stmt.end_lineno or stmt.lineno
    if end in comments and not comments[end][1]:
        return comments[end][0]
    following = comments.get(end + 1)
    if following is not None and following[1]:
        return following[0]
    return None


# ``raises Name: a remark`` or, as a traceback ends, ``Name: the message``.
RAISES = re.compile(r"raises (?P<name>[\w.]+)|(?P<raised>[A-Z]\w*|\w+(?:\.\w+)+): (?P<text>.*)")


def _exception_named(name: str) -> type[BaseException] | None:
    short = name.rpartition(".")[2]
    for namespace in (trioweb.exceptions, trioweb.config, builtins):
        found = getattr(namespace, short, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return None


_NO_CLAIM = object()


def _literal_claim(claim: str) -> object:
    """The value a comment says an expression has: a string or list literal that starts it
    (``"dark": the first value``), or `_NO_CLAIM`."""
    if not claim.startswith(('"', "'", "[")):
        return _NO_CLAIM
    # The literal is the longest prefix that parses: before a ``: remark``, or all of it.
    for end in [len(claim), *(i for i in range(len(claim) - 1, 0, -1) if claim[i] == ":")]:
        with contextlib.suppress(ValueError, SyntaxError):
            value = ast.literal_eval(claim[:end].strip())
            if isinstance(value, str | list):
                return value
    return _NO_CLAIM


async def _evaluate(code: CodeType, ns: dict[str, Any]) -> Any:
    result = eval(code, ns)
    if code.co_flags & inspect.CO_COROUTINE:  # a top-level await
        with trio.fail_after(10):
            result = await result
    return result


async def _run_statement(stmt: ast.stmt, claim: str | None, ns: dict[str, Any]) -> None:
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        # Shown as raised inside a handler: build the exception, which checks its arguments.
        stmt = ast.Expr(stmt.exc)
    expected: type[BaseException] | None = None
    message = None
    if claim is not None and (match := RAISES.match(claim)):
        expected = _exception_named(match["name"] or match["raised"])
        message = match["text"]
    literal: object = _NO_CLAIM
    if claim is not None and expected is None and isinstance(stmt, ast.Expr):
        literal = _literal_claim(claim)
    tree: ast.Module | ast.Expression
    if literal is not _NO_CLAIM and isinstance(stmt, ast.Expr):
        tree, mode = ast.Expression(body=stmt.value), "eval"
    else:
        tree, mode = ast.Module(body=[stmt], type_ignores=[]), "exec"
    code = compile(ast.fix_missing_locations(tree), "<block>", mode, flags=TOP_LEVEL_AWAIT)
    if expected is not None:
        with pytest.raises(expected) as raised:
            await _evaluate(code, ns)
        if message:
            assert message in str(raised.value)
        return
    result = await _evaluate(code, ns)
    if literal is not _NO_CLAIM:
        assert result == literal, f"line {stmt.lineno}: {result!r} != {literal!r}"


async def _run_block(block: Block, ns: dict[str, Any]) -> None:
    tree = ast.parse(block.code)
    comments = _comments(block.code)
    for stmt in tree.body:
        try:
            await _run_statement(stmt, _claim(stmt, comments), ns)
        except BaseException as exc:
            where = f"{block.page}:{block.line + stmt.lineno}"
            raise AssertionError(f"{where}: {ast.unparse(stmt)[:200]}\n{exc!r}") from exc
    for stmt in tree.body:
        if isinstance(stmt, ast.AsyncFunctionDef) and stmt.name.startswith("test_"):
            try:
                await _call_test(ns[stmt.name])
            except BaseException as exc:
                where = f"{block.page}:{block.line + stmt.lineno}"
                raise AssertionError(f"{where}: {stmt.name}() failed\n{exc!r}") from exc


async def _call_test(test: Any) -> None:
    """Call a test function a page shows, as pytest-trio would (``nursery`` is a fixture)."""
    wanted = set(inspect.signature(test).parameters)
    unknown = wanted - {"nursery"}
    assert not unknown, f"{test.__name__} takes fixtures the docs test cannot give: {unknown}"
    with trio.fail_after(10):
        if "nursery" in wanted:
            async with trio.open_nursery() as nursery:
                await test(nursery=nursery)
                nursery.cancel_scope.cancel()
        else:
            await test()


EXECUTED_PAGES = sorted({b.page for b, (kind, _) in CLASSES.items() if kind == "executed"})


@pytest.mark.parametrize("page", EXECUTED_PAGES)
async def test_a_pages_blocks_run_in_order(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns: dict[str, Any] = {"__name__": f"docs.{page}"}
    exec(PRELUDE, ns)
    monkeypatch.setattr(trioweb.server.run, "run_app", _run_until_serving)
    with READERS_WORLD.get(page, _nothing)(ns, tmp_path, monkeypatch):
        for block in ALL_PYTHON:
            if block.page == page and CLASSES[block][0] == "executed":
                await _run_block(block, ns)


# --- what a page assumes its reader has ------------------------------------------------------


def _run_until_serving(app: trioweb.App | None, options: RunOptions) -> int:
    """`trioweb.server.run.run_app` up to the point where it would bind and serve."""
    from trioweb.server.run import prepare_app, resolve_app, server_ssl_context

    prepare_app(app if app is not None else resolve_app(options), options)
    server_ssl_context(options)
    return 0


World = Callable[
    [dict[str, Any], Path, pytest.MonkeyPatch], contextlib.AbstractContextManager[None]
]


@contextlib.contextmanager
def _nothing(ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield


def _module(name: str, **attributes: Any) -> ModuleType:
    module = ModuleType(name)
    module.__dict__.update(attributes)
    return module


@contextlib.contextmanager
def _settings_module(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setitem(sys.modules, "settings", _module("settings", KEEP_ALIVE_TIMEOUT=20.0))
    yield
    assert ns["app"].config.KEEP_ALIVE_TIMEOUT == 20.0  # the last load() won


@contextlib.contextmanager
def _logging_files(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"err": {"class": "logging.StreamHandler"}},
        "loggers": {"trioweb": {"handlers": ["err"], "level": "INFO"}},
    }
    (tmp_path / "logging.json").write_text(json.dumps(config))
    ns["my_dict_config"] = config
    monkeypatch.chdir(tmp_path)
    # setup_logging reconfigures this process's loggers: put them back afterwards.
    names = ["", *(n for n in logging.root.manager.loggerDict if n.startswith("trioweb"))]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
    try:
        yield
    finally:
        for name in logging.root.manager.loggerDict:
            if name.startswith("trioweb") and name not in saved:
                logging.getLogger(name).handlers.clear()
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


@contextlib.contextmanager
def _request_with_cookies(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # The page's cookie block shows the header it reads: "# Cookie: a=1; b=2".
    (header,) = {
        line.partition("# Cookie: ")[2]
        for block in ALL_PYTHON
        if block.page == "requests.md"
        for line in block.code.splitlines()
        if line.startswith("# Cookie: ")
    }
    headers = Headers([(b"host", b"example.com"), (b"cookie", header.encode())])
    ns["request"] = Request("GET", b"/", headers, app=ns["app"])
    yield


@contextlib.contextmanager
def _static_folders(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "public" / "favicon.ico").write_bytes(b"\0\0\1\0")
    (tmp_path / "files").mkdir()
    monkeypatch.chdir(tmp_path)
    yield


@contextlib.contextmanager
def _tls_files(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    import trustme
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    issued = ca.issue_cert("example.com")
    chain = b"".join(blob.bytes() for blob in issued.cert_chain_pems)
    key = issued.private_key_pem.bytes()
    private = serialization.load_pem_private_key(key, None)
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"..."),  # the page's password
    )
    (tmp_path / "certs").mkdir()
    for name, content in {
        "certs/fullchain.pem": chain,
        "certs/privkey.pem": key,
        "fullchain.pem": chain,
        "privkey.pem": key,
        "cert.pem": chain,
        "key.pem": encrypted,
        "clients-ca.pem": ca.cert_pem.bytes(),
    }.items():
        (tmp_path / name).write_bytes(content)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    ns["context"] = context
    monkeypatch.chdir(tmp_path)
    yield


@contextlib.contextmanager
def _myapp_module(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # "With the routes and middleware of the examples above in myapp": the page's examples
    # each make an app; here they all extend one, which myapp holds.
    app = ns["app"]
    monkeypatch.setattr(trioweb, "App", lambda *args, **kwargs: app)
    monkeypatch.setitem(sys.modules, "myapp", _module("myapp", app=app))
    yield


@contextlib.contextmanager
def _the_pages_project_app(
    ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # The page's fragments extend the app of its project's myapp.py, which they import.
    (myapp,) = [b for b in ALL_PYTHON if b.page == "testing.md" and b.code.startswith("# myapp.py")]
    exec(myapp.code, ns)
    monkeypatch.setitem(sys.modules, "myapp", _module("myapp", app=ns["app"]))
    yield


READERS_WORLD: dict[str, World] = {
    "testing.md": _the_pages_project_app,
    "configuration.md": _settings_module,
    "logging.md": _logging_files,
    "requests.md": _request_with_cookies,
    "responses-and-files.md": _static_folders,
    "security.md": _tls_files,
    "websockets.md": _myapp_module,
}


def test_every_readers_world_is_a_page_with_executed_blocks() -> None:
    assert set(READERS_WORLD) <= set(EXECUTED_PAGES)


CHAT_CLIENT = "ws://127.0.0.1:8000/chat/"
PROGRAMS = [
    b for b, (kind, _) in CLASSES.items() if kind == "program" and CHAT_CLIENT not in b.code
]


@pytest.mark.parametrize("block", PROGRAMS, ids=str)
async def test_a_program_block_runs_to_the_end(block: Block, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with trio.fail_after(60):
        done = await trio.run_process(
            [sys.executable, "-c", block.code],
            cwd=tmp_path,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()


async def test_the_chat_client_block_talks_to_the_chat_example(tmp_path: Path) -> None:
    """websockets.md's terminal client, against examples/chat.py served on a free port."""
    from examples.chat import app as chat_app

    (block,) = [b for b in CLASSES if CHAT_CLIENT in b.code]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    async with trio.open_nursery() as nursery:
        server = await nursery.start(chat_app.serve, "127.0.0.1", 0)
        code = block.code.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
        argv = [sys.executable, "-c", code, "alice"]
        with trio.fail_after(60):
            client = await trio.lowlevel.open_process(
                argv, cwd=tmp_path, env=env, stdin=PIPE, stdout=PIPE, stderr=PIPE
            )
            assert client.stdin is not None
            assert client.stdout is not None
            seen = b""
            await client.stdin.send_all(b"hello everyone\n")
            while b"alice: hello everyone\n" not in seen:
                data = await client.stdout.receive_some()
                assert data, f"the client ended early: {seen!r}"
                seen += data
            await client.stdin.aclose()  # end of input: the client leaves
            assert await client.wait() == 0
        assert seen.startswith(b"* alice joined\n")
        await server.shutdown()


# --- shell blocks --------------------------------------------------------------------------

SHELL = {"console", "sh", "shell", "bash"}


def _commands(block: Block) -> Iterator[str]:
    """The command lines of a shell block (or ``$``-prompted lines of any block)."""
    text = re.sub(r"\\\n\s*", " ", block.code)
    for line in text.splitlines():
        if line.startswith("$ "):
            yield line[2:]
        elif block.info in SHELL and line.strip() and not line.startswith("#"):
            yield line


def _trioweb_invocations() -> Iterator[tuple[Block, list[str], list[str]]]:
    """(block, environment assignments, trioweb's arguments) for each trioweb command."""
    for page in PAGES:
        for block in blocks(page):
            for command in _commands(block):
                words = shlex.split(command, comments=True)
                for stop in ("&&", "||", "|", ";", "&"):
                    if stop in words:
                        words = words[: words.index(stop)]
                assignments = []
                while words and re.fullmatch(r"\w+=.*", words[0]):
                    assignments.append(words.pop(0))
                if words[:1] == ["trioweb"]:
                    yield block, assignments, words[1:]
                elif words[1:3] == ["-m", "trioweb"] and words[0].startswith("python"):
                    yield block, assignments, words[3:]


TRIOWEB_COMMANDS = list(_trioweb_invocations())


def test_the_pages_show_trioweb_commands() -> None:
    assert len(TRIOWEB_COMMANDS) >= 10


def test_options_named_in_a_trioweb_blocks_comments_exist() -> None:
    """``# or: --tls DIR`` after a trioweb command names a real option too."""
    options = set(re.findall(r"--[\w-]+", build_parser().format_help()))
    for block in {block for block, _, _ in TRIOWEB_COMMANDS}:
        for line in block.code.splitlines():
            comment = line.partition(" #")[2] if not line.startswith("#") else line
            for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", comment):
                assert option in options, f"{block}: {option} is not a trioweb option"


@pytest.mark.parametrize(
    ("block", "assignments", "args"),
    TRIOWEB_COMMANDS,
    ids=[f"{b}:{' '.join(a)[:40]}" for b, _, a in TRIOWEB_COMMANDS],
)
def test_a_documented_command_line_parses(
    block: Block, assignments: list[str], args: list[str]
) -> None:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            build_parser().parse_args(args)
        except SystemExit:
            pytest.fail(f"{block}: trioweb {' '.join(args)}: {errors.getvalue()}")
    settings = {field.name for field in dataclasses.fields(trioweb.config.Config)}
    for assignment in assignments:
        name = assignment.partition("=")[0]
        if name.startswith(trioweb.config.DEFAULT_ENV_PREFIX):
            setting = name.removeprefix(trioweb.config.DEFAULT_ENV_PREFIX)
            assert setting in settings, f"{block}: {name} is not a setting"


# --- the site -------------------------------------------------------------------------------

API_BLOCK = re.compile(r"^::: (?P<module>[\w.]+)\n(?P<options>(?:    .*\n)*)", re.MULTILINE)


def test_every_page_is_in_the_sites_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text().partition("\nnav:\n")[2]
    listed = set(re.findall(r"(?:: |- )([\w/.-]+\.md)$", nav, re.MULTILINE))
    pages = {path.relative_to(ROOT / "docs").as_posix() for path in ROOT.glob("docs/**/*.md")}
    assert listed == pages


def test_each_api_page_lists_its_modules_exports() -> None:
    """The API reference shows what ``__all__`` exports, all of it and nothing else."""
    documented = set()
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for block in API_BLOCK.finditer(page.read_text()):
            members = re.findall(r"^        - (\w+)$", block["options"], re.MULTILINE)
            if not members:
                continue
            module = importlib.import_module(block["module"])
            assert members == list(module.__all__), f"{page.name}: {block['module']}"
            documented.add(block["module"])
    assert documented >= {
        "trioweb.request",
        "trioweb.response",
        "trioweb.router",
        "trioweb.blueprints",
        "trioweb.views",
        "trioweb.exceptions",
        "trioweb.config",
        "trioweb.forms",
        "trioweb.uploads",
        "trioweb.files",
        "trioweb.static",
        "trioweb.cors",
        "trioweb.compression",
        "trioweb.sse",
        "trioweb.https",
        "trioweb.logs",
        "trioweb.testing",
        "trioweb.server.serve",
    }
