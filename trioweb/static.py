"""Static files: the routes `app.static()` registers, and the path rules that keep them safe.

`static_routes` turns the arguments of ``static()`` (Sanic's, plus ``max_age`` and
``chunk_size``) into the routes to add; `resolve_static_target` maps a request's sub-path to
what may be served. The rules, checked on every request:

- the sub-path is plain and relative: no ``..`` or ``.`` segment, no empty segment (an
  absolute path), no backslash, no NUL byte; nothing is percent-decoded here (the router
  decoded the parameter once);
- the path is resolved with every symlink and must lie inside the served tree: the root, and
  (only when allowed) directories outside it reached through a symlink. A symlink leading out
  of the tree is followed only with ``follow_external_symlink_files`` (to a file) or
  ``follow_external_symlink_dirs`` (to a directory);
- only regular files are sent; a directory is answered with its index file, a listing, a
  directory handler, or 404; FIFOs and devices are 404 (reading one could block forever);
- a precompressed sibling (``app.js.br``, ``.zst``, ``.gz``: see docs/compression.md) is
  found next to the real file and must pass the same containment check.

The file system is touched in worker threads, never on the event loop.
"""

from __future__ import annotations

import html
import os
import re
import stat
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

import trio

from .compression import PRECOMPRESSED_SUFFIXES, acceptable_encodings, is_compressible
from .exceptions import NotFound
from .files import FileResponse, guess_content_type
from .response import _UNSET, BaseHTTPResponse, HTTPResponse, redirect

if TYPE_CHECKING:
    from .request import Request

__all__ = [
    "DEFAULT_PATTERN",
    "STREAM_LARGE_FILES_THRESHOLD",
    "DirectoryHandler",
    "StaticRoute",
    "StaticTarget",
    "resolve_static_target",
    "static_routes",
]

#: ``static()``'s default ``pattern``, Sanic's: every sub-path.
DEFAULT_PATTERN = r"/?.+"
#: The size from which ``stream_large_files=True`` reads a file in pieces: Sanic's 1 MiB.
STREAM_LARGE_FILES_THRESHOLD = 1024 * 1024
# A listing holds its page in memory: past this many entries the rest are left out (and the
# page says so), so a huge directory cannot make one request allocate without bound. Ten
# thousand rows is already more than a person scrolls through.
_LISTING_LIMIT = 10_000


# -- resolving a sub-path ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaticTarget:
    """What a static sub-path resolved to: a regular file, or a directory without an index."""

    #: The real path (every symlink resolved).
    path: str
    stat_result: os.stat_result
    #: The name the URL (or the index list) gave it: its content type is guessed from this.
    name: str
    #: The directories whose contents may be served: the root first, then any directory
    #: outside it entered through an allowed symlink.
    trees: tuple[str, ...]

    @property
    def is_dir(self) -> bool:
        """Whether this is a directory (one whose index files are all missing)."""
        return stat.S_ISDIR(self.stat_result.st_mode)


def _relative_parts(sub_path: str) -> list[str]:
    """The segments of a URL sub-path, or `NotFound` for anything but a plain relative path.

    Belt and braces: the containment check is what makes serving safe; this refuses the
    shapes of traversal up front, so no odd path reaches the file system at all.
    """
    if "\x00" in sub_path or "\\" in sub_path:
        raise NotFound()
    if sub_path == "":
        return []
    parts = sub_path.split("/")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # "dir/" names the directory
    for part in parts:
        # "" catches absolute paths ("/etc/passwd") and "a//b"; "." and ".." are traversal.
        if part in ("", ".", ".."):
            raise NotFound()
    return parts


def _realpath(path: str) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None  # a NUL byte, or a path the OS refuses outright


def _inside(tree: str, path: str) -> bool:
    return os.path.commonpath([tree, path]) == tree


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None  # missing, unreadable, a symlink loop, a name too long: all "not here"


def _entry(
    directory: str, name: str, trees: Sequence[str], follow_files: bool, follow_dirs: bool
) -> tuple[str, os.stat_result] | None:
    """``name`` in the real ``directory``, resolved, if it may be served; else ``None``."""
    real = _realpath(os.path.join(directory, name))
    found = None if real is None else _stat(real)
    if real is None or found is None:
        return None
    if any(_inside(tree, real) for tree in trees):
        return real, found
    # Only a symlink can lead out of the trees (``name`` is one plain segment).
    if (follow_files and stat.S_ISREG(found.st_mode)) or (
        follow_dirs and stat.S_ISDIR(found.st_mode)
    ):
        return real, found
    return None


def _follow(
    root: str, parts: Sequence[str], follow_files: bool, follow_dirs: bool
) -> tuple[str, os.stat_result, tuple[str, ...]]:
    """Walk ``parts`` down from ``root``: the real path, its stat and the trees, or NotFound."""
    real = _realpath(os.path.join(root, *parts))
    if real is not None and _inside(root, real):
        found = _stat(real)
        if found is None:
            raise NotFound()
        return real, found, (root,)
    if not (follow_files or follow_dirs):
        raise NotFound()
    # Somewhere a symlink leads out: check each step, so only allowed ones are followed.
    trees = [root]
    current, found = root, None
    for part in parts:
        step = _entry(current, part, trees, follow_files, follow_dirs)
        if step is None:
            raise NotFound()
        current, found = step
        if stat.S_ISDIR(found.st_mode) and not any(_inside(tree, current) for tree in trees):
            trees.append(current)
    if found is None:
        raise NotFound()
    return current, found, tuple(trees)


def _resolve(
    root: str, sub_path: str, index: Sequence[str], follow_files: bool, follow_dirs: bool
) -> StaticTarget:
    parts = _relative_parts(sub_path)
    path, found, trees = _follow(root, parts, follow_files, follow_dirs)
    name = parts[-1] if parts else os.path.basename(root)
    if stat.S_ISREG(found.st_mode):
        return StaticTarget(path, found, name, trees)
    if not stat.S_ISDIR(found.st_mode):
        raise NotFound()  # a FIFO or a device: reading one could block forever
    for index_name in index:
        entry = _entry(path, index_name, trees, follow_files, False)
        if entry is not None and stat.S_ISREG(entry[1].st_mode):
            return StaticTarget(entry[0], entry[1], index_name, trees)
    return StaticTarget(path, found, name, trees)


async def resolve_static_target(
    root: str,
    sub_path: str,
    index: Sequence[str] = (),
    *,
    follow_external_symlink_files: bool = False,
    follow_external_symlink_dirs: bool = False,
) -> StaticTarget:
    """Map the sub-path of a static URL to a regular file or a directory inside ``root``.

    The rules are this module's (see its docstring). A directory is answered with the first
    of ``index`` that is a regular file in it, else with the directory itself.

    Args:
        root: The directory served, already resolved with ``os.path.realpath``.
        sub_path: The decoded path below the static route's prefix; ``""`` is ``root``.
        index: File names tried in order when the path is a directory.
        follow_external_symlink_files: Serve symlinks to files outside the tree.
        follow_external_symlink_dirs: Serve files in symlinked directories outside the tree.

    Raises:
        NotFound: nothing may be served at ``sub_path``.
    """
    return await trio.to_thread.run_sync(
        _resolve,
        root,
        sub_path,
        tuple(index),
        follow_external_symlink_files,
        follow_external_symlink_dirs,
    )


def _precompressed_sibling(
    target: StaticTarget, codings: Sequence[str], follow_files: bool
) -> tuple[str, os.stat_result, str] | None:
    """The first of ``codings`` with a regular sibling file next to ``target``, if any.

    The sibling is looked for next to the real file and must lie in the served trees (or be
    an allowed external symlink), exactly like the file itself.
    """
    directory, name = os.path.split(target.path)
    for coding in codings:
        suffix = PRECOMPRESSED_SUFFIXES[coding]
        entry = _entry(directory, name + suffix, target.trees, follow_files, False)
        if entry is not None and stat.S_ISREG(entry[1].st_mode):
            return entry[0], entry[1], coding
    return None


# -- directory listings -----------------------------------------------------------------------


class DirectoryHandler(Protocol):
    """What ``static(directory_handler=...)`` takes: it answers requests for a directory."""

    async def handle(self, request: Request, path: str) -> BaseHTTPResponse:
        """The response for a directory; ``path`` is the request's (decoded) path."""
        ...


def _listing_page(
    target: StaticTarget,
    sub_path: str,
    display_path: str,
    pattern: re.Pattern[str] | None,
    follow_files: bool,
    follow_dirs: bool,
) -> str:
    prefix = "/".join(_relative_parts(sub_path))
    prefix = prefix + "/" if prefix else ""
    rows: list[tuple[bool, str, os.stat_result]] = []
    truncated = False
    try:
        with os.scandir(target.path) as scan:
            for item in scan:
                if len(rows) >= _LISTING_LIMIT:
                    truncated = True
                    break
                try:
                    item.name.encode("utf-8")
                except UnicodeEncodeError:
                    continue  # not valid UTF-8: no URL the router decodes can name it
                if item.is_symlink():
                    entry = _entry(target.path, item.name, target.trees, follow_files, follow_dirs)
                    if entry is None:
                        continue  # broken, or a symlink out of the tree that is not followed
                    found = entry[1]
                else:
                    # In a real directory of the tree, so inside it: no realpath needed (one
                    # lstat per path component, per entry, made big listings slow).
                    try:
                        found = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                is_dir = stat.S_ISDIR(found.st_mode)
                if not is_dir and not stat.S_ISREG(found.st_mode):
                    continue
                if not is_dir and pattern and not pattern.fullmatch("/" + prefix + item.name):
                    continue
                rows.append((not is_dir, item.name, found))
    except OSError:
        raise NotFound() from None  # unreadable: as if it were not there
    rows.sort(key=lambda row: (row[0], row[1]))
    title = html.escape(f"Index of {display_path}")
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title></head>",
        f"<body><h1>{title}</h1>",
        "<table><thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>",
        "<tbody>",
    ]
    if prefix:
        lines.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
    for is_file, name, found in rows:
        slash = "" if is_file else "/"
        # "./" keeps a name with a colon from reading as a URL scheme.
        href = html.escape("./" + quote(name, safe="") + slash)
        size = str(found.st_size) if is_file else "-"
        try:
            modified = datetime.fromtimestamp(found.st_mtime, UTC).strftime("%Y-%m-%d %H:%M")
        except (ValueError, OverflowError):
            modified = "-"  # a time past year 9999 (some file systems keep one)
        lines.append(
            f'<tr><td><a href="{href}">{html.escape(name)}{slash}</a></td>'
            f"<td>{size}</td><td>{modified}</td></tr>"
        )
    lines.append("</tbody></table>")
    if truncated:
        lines.append(f"<p>Only the first {_LISTING_LIMIT} entries are listed.</p>")
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"


# -- the routes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaticRoute:
    """One route a ``static()`` call adds: its handler, URI and the suffix of its name."""

    handler: Callable[..., Awaitable[BaseHTTPResponse]]
    uri: str
    #: ``""`` for the main route, ``"_index"`` for a directory's own URI.
    name_suffix: str


@dataclass(frozen=True, slots=True)
class _StaticFiles:
    """The options of one ``static()`` call; its methods are the route handlers."""

    root: str
    file_name: str  # set when one file is served (``root`` is then its folder), else ""
    type_name: str  # for one file: the name its content type is guessed from
    pattern: re.Pattern[str] | None  # None: every path (the default pattern)
    use_modified_since: bool
    use_content_range: bool
    threshold: int
    content_type: str | None
    index: tuple[str, ...]
    directory_view: bool
    directory_handler: DirectoryHandler | None
    follow_files: bool
    follow_dirs: bool
    max_age: int | None
    chunk_size: int
    precompressed: bool

    async def serve_directory(self, request: Request, __file_uri__: str = "") -> BaseHTTPResponse:
        if self.pattern is not None and not self.pattern.fullmatch("/" + __file_uri__):
            raise NotFound()
        target, sibling = await trio.to_thread.run_sync(
            self._find, __file_uri__, self.index, None, self._codings(request)
        )
        if not target.is_dir:
            return self._file_response(target, target.name, sibling)
        if self.directory_handler is not None:
            return await self.directory_handler.handle(request, request.path)
        if not self.directory_view:
            raise NotFound()
        if not request.raw_path.endswith("/"):
            # Relative links in the listing need the slash; Sanic redirects the same way.
            query = request.query_string
            return redirect(request.raw_path + "/" + (f"?{query}" if query else ""))
        page = await trio.to_thread.run_sync(
            _listing_page,
            target,
            __file_uri__,
            request.path,
            self.pattern,
            self.follow_files,
            self.follow_dirs,
        )
        return HTTPResponse(page, 200, None, "text/html; charset=utf-8")

    async def serve_file(self, request: Request) -> BaseHTTPResponse:
        # Checked per request: the file may have been replaced (by a symlink, even).
        target, sibling = await trio.to_thread.run_sync(
            self._find, self.file_name, (), self.type_name, self._codings(request)
        )
        if target.is_dir:
            raise NotFound()
        return self._file_response(target, self.type_name, sibling)

    def _codings(self, request: Request) -> list[str]:
        """The precompressed codings to look for, best first: those the client accepts."""
        if not self.precompressed:
            return []
        return acceptable_encodings(request.headers.get("accept-encoding"), PRECOMPRESSED_SUFFIXES)

    def _mime_type(self, type_name: str) -> str:
        return self.content_type or guess_content_type(type_name)

    def _varies(self, mime_type: str) -> bool:
        """Whether a precompressed sibling may answer for a file of this type."""
        return self.precompressed and is_compressible(mime_type.split(";")[0].strip().lower())

    def _find(
        self, sub_path: str, index: tuple[str, ...], type_name: str | None, codings: list[str]
    ) -> tuple[StaticTarget, tuple[str, os.stat_result, str] | None]:
        """Resolve ``sub_path`` and look for its sibling, in one trip to a worker thread."""
        target = _resolve(self.root, sub_path, index, self.follow_files, self.follow_dirs)
        if target.is_dir or not codings:
            return target, None
        if not self._varies(self._mime_type(type_name or target.name)):
            return target, None
        return target, _precompressed_sibling(target, codings, self.follow_files)

    def _file_response(
        self,
        target: StaticTarget,
        type_name: str,
        sibling: tuple[str, os.stat_result, str] | None,
    ) -> FileResponse:
        path, found = target.path, target.stat_result
        mime_type = self._mime_type(type_name)
        headers: dict[str, str] | None = None
        if self._varies(mime_type):
            # Which file answers depends on Accept-Encoding, even when it is the original.
            headers = {"Vary": "Accept-Encoding"}
            if sibling is not None:
                path, found, headers["Content-Encoding"] = sibling
        modified = self.use_modified_since
        return FileResponse(
            path,
            found,
            headers=headers,
            mime_type=mime_type,
            max_age=self.max_age,
            chunk_size=None if found.st_size < self.threshold else self.chunk_size,
            last_modified=_UNSET if modified else None,  # _UNSET: the file's own
            etag=modified,
            conditional=modified,
            ranges=self.use_content_range,
        )


def _stream_threshold(stream_large_files: bool | int, chunk_size: int) -> int:
    if isinstance(stream_large_files, bool):
        # False is not "never": a whole large file in memory is what trioweb never does, so
        # anything past one chunk is still read in pieces.
        return STREAM_LARGE_FILES_THRESHOLD if stream_large_files else chunk_size
    if not isinstance(stream_large_files, int) or stream_large_files < 0:
        raise ValueError(
            "stream_large_files must be True, False or a size in bytes (0 or more), "
            f"not {stream_large_files!r}"
        )
    return stream_large_files


def static_routes(
    uri: str,
    file_or_directory: str | os.PathLike[str],
    *,
    pattern: str | re.Pattern[str] = DEFAULT_PATTERN,
    use_modified_since: bool = True,
    use_content_range: bool = False,
    stream_large_files: bool | int = False,
    content_type: str | None = None,
    resource_type: str | None = None,
    index: str | Sequence[str] | None = None,
    directory_view: bool = False,
    directory_handler: DirectoryHandler | None = None,
    follow_external_symlink_files: bool = False,
    follow_external_symlink_dirs: bool = False,
    max_age: int | None = None,
    chunk_size: int = 64 * 1024,
    precompressed: bool = True,
) -> list[StaticRoute]:
    """Check the arguments of ``static()`` and build the routes it adds (GET and HEAD each).

    The arguments are those of `trioweb.registrar.RouteRegistrar.static`. ``file_or_directory``
    is resolved now, symlinks included: that real path is the root every request is checked
    against (a blocking call, but made at startup).

    Raises:
        FileNotFoundError: ``file_or_directory`` is neither a directory nor a file.
        TypeError: an argument has the wrong type, or ``resource_type`` does not match what
            is there.
        ValueError: a value is out of range: ``chunk_size``, ``max_age``,
            ``stream_large_files``, ``resource_type``, ``pattern``, or ``directory_handler``
            given with ``index`` or ``directory_view``.
    """
    if not isinstance(file_or_directory, str | os.PathLike):
        raise TypeError(
            f"static() serves a path (str or os.PathLike), not {type(file_or_directory).__name__}"
        )
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size!r}")
    if max_age is not None and max_age < 0:
        raise ValueError(f"max_age must not be negative, got {max_age}")
    if resource_type not in (None, "file", "dir"):
        raise ValueError(f"resource_type must be 'file', 'dir' or None, not {resource_type!r}")
    if directory_handler is not None:
        if index or directory_view:
            raise ValueError(
                "directory_handler answers directories itself: pass index or "
                "directory_view to it, not to static()"
            )
        if not callable(getattr(directory_handler, "handle", None)):
            raise TypeError("directory_handler must have an async handle(request, path) method")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError(f"content_type must be a str, not {type(content_type).__name__}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from None
    indexes = (index,) if isinstance(index, str) else tuple(index or ())
    threshold = _stream_threshold(stream_large_files, chunk_size)

    root = os.path.realpath(file_or_directory)
    is_dir, is_file = os.path.isdir(root), os.path.isfile(root)
    if not (is_dir or is_file):
        raise FileNotFoundError(f"static() has nothing to serve at {file_or_directory!r}")
    if resource_type == "dir" and not is_dir:
        raise TypeError(f"resource_type='dir', but {file_or_directory!r} is a file")
    if resource_type == "file" and not is_file:
        raise TypeError(f"resource_type='file', but {file_or_directory!r} is a directory")

    file_name = ""
    if is_file:
        root, file_name = os.path.split(root)
    files = _StaticFiles(
        root=root,
        file_name=file_name,
        # One file's type comes from the name given, which a symlink's target may not share.
        type_name=os.path.basename(os.fspath(file_or_directory)),
        pattern=None if compiled.pattern == DEFAULT_PATTERN else compiled,
        use_modified_since=use_modified_since,
        use_content_range=use_content_range,
        threshold=threshold,
        content_type=content_type,
        index=indexes,
        directory_view=directory_view,
        directory_handler=directory_handler,
        follow_files=follow_external_symlink_files,
        follow_dirs=follow_external_symlink_dirs,
        max_age=max_age,
        chunk_size=chunk_size,
        precompressed=bool(precompressed),
    )
    if file_name:
        return [StaticRoute(files.serve_file, uri, "")]
    routes = [StaticRoute(files.serve_directory, uri.rstrip("/") + "/<__file_uri__:path>", "")]
    if indexes or directory_view or directory_handler is not None:
        routes.append(StaticRoute(files.serve_directory, uri, "_index"))
    return routes
