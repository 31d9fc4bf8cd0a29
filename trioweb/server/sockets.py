"""Listening sockets: bound once, before trio runs, then wrapped as trio listeners.

`bind_sockets` is plain blocking code, so a parent process can bind before it forks or spawns
its workers, and every worker serves the same sockets (a second server on the same port then
fails instead of silently sharing it). `listeners_from_sockets` turns them into trio
listeners inside each serving process; `close_sockets` closes them and removes the Unix
socket files this process created.

Three sources, one at a time:

- TCP (``host``, ``port``): one socket per address ``getaddrinfo`` gives for ``host``
  (``"localhost"`` is usually both ``127.0.0.1`` and ``::1``; ``None`` or ``""`` is every
  interface, IPv4 and IPv6).
- A Unix socket (``unix=PATH``): a stale socket file left by a server that died is removed;
  a live one (something accepts on it) or a file that is not a socket is refused.
- An inherited descriptor (``fd=N``): a listening socket opened by systemd, a supervisor or a
  parent process; its family (TCP or Unix) is read from the socket.

Every failure is a `BindError` whose message is one line that names the address.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    import ssl as _ssl

__all__ = [
    "BindError",
    "bind_sockets",
    "close_sockets",
    "describe",
    "ensure_listening",
    "listeners_from_sockets",
]

#: How long `bind_sockets` waits to learn whether something accepts on an existing Unix
#: socket file. A live server answers a local connect at once; one whose accept queue is full
#: makes us wait, and counts as live.
_UNIX_PROBE_TIMEOUT = 1.0

#: Port 0 on a host with several addresses: the first socket gets a free port from the
#: kernel and the others are bound to the same one; if another program takes it in between,
#: start again with a new port, this many times.
_SAME_PORT_ATTEMPTS = 5

#: The Unix socket files this process created, by socket, with the file's identity
#: (device, inode): `close_sockets` removes a file only while it is still the one we bound.
_created_unix: weakref.WeakKeyDictionary[socket.socket, tuple[str, int, int]] = (
    weakref.WeakKeyDictionary()
)


class BindError(OSError):
    """A listening socket could not be opened; ``str(exc)`` is one line naming the address.

    For example ``address already in use: 127.0.0.1:8000`` or
    ``cannot bind 256.1.1.1:8000: Name or service not known``. ``errno`` is the underlying
    error's when there was one.
    """

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if errno_ is not None:
            self.errno = errno_

    def __str__(self) -> str:
        return self.message


def bind_sockets(
    host: str | None = "127.0.0.1",
    port: int = 8000,
    *,
    unix: str | None = None,
    unix_mode: int | None = None,
    fd: int | None = None,
    reuse_port: bool = False,
    backlog: int | None = None,
) -> list[socket.socket]:
    """Open listening sockets for a TCP address, a Unix socket path or an inherited fd.

    Blocking, and needs no trio: call it before ``trio.run`` (or in a thread). The sockets
    are listening, blocking, and not inherited by child processes unless handed over
    (``multiprocessing`` can pickle them on Unix). The caller owns them: pass them to
    `listeners_from_sockets`, and to `close_sockets` at the end.

    Args:
        host: The address to listen on; a name may give several (IPv4 and IPv6). ``None``
            or ``""`` listens on every interface. Ignored with ``unix`` or ``fd``.
        port: 0-65535; 0 lets the kernel choose (the same port for every address of
            ``host``). Ignored with ``unix`` or ``fd``.
        unix: A Unix socket path to listen on instead of TCP.
        unix_mode: The socket file's permission bits (``0o660``); without it the umask
            decides.
        fd: An open listening socket's descriptor to serve instead (it is adopted: closing
            the returned socket closes it).
        reuse_port: Set ``SO_REUSEPORT`` (TCP only), so independent processes may bind the
            same port and the kernel spreads connections among them. Off by default: a
            second server on a busy port should fail, not take half its traffic.
        backlog: The kernel's accept queue length; ``None`` is ``socket.SOMAXCONN``, the
            system's maximum, as trio chooses (the kernel caps larger values anyway).

    Returns:
        The listening sockets, at least one.

    Raises:
        BindError: the address is in use, cannot be resolved or bound, the port is out of
            range, the fd is not a listening socket, or the Unix path cannot be used.
        ValueError: more than one of ``unix``, ``fd`` given, or ``backlog`` below 1.
    """
    if unix is not None and fd is not None:
        raise ValueError("give unix= or fd=, not both")
    if backlog is not None and backlog < 1:
        raise ValueError(f"backlog must be at least 1, got {backlog}")
    listen_backlog = socket.SOMAXCONN if backlog is None else backlog
    if fd is not None:
        return [_adopt_fd(fd)]
    if unix is not None:
        return [_bind_unix(os.fspath(unix), unix_mode, listen_backlog)]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise BindError(f"port must be 0-65535, got {port!r}")
    return _bind_tcp(host or None, port, reuse_port, listen_backlog)


def ensure_listening(sock: socket.socket, backlog: int | None = None) -> socket.socket:
    """Check that ``sock`` (a socket you opened) can serve, and listen on it if not yet.

    Args:
        sock: A bound TCP or Unix stream socket (``sock=`` of ``app.serve``/``app.run``).
        backlog: The accept queue length if it must start listening (``SOMAXCONN``).

    Returns:
        ``sock``, listening.

    Raises:
        TypeError: ``sock`` is not a ``socket.socket``.
        BindError: it is not a stream socket, or cannot listen.
    """
    if not isinstance(sock, socket.socket):
        raise TypeError(f"sock= takes a socket.socket, got {type(sock).__name__}")
    if sock.type != socket.SOCK_STREAM:
        raise BindError(f"socket {describe(sock)} is not a stream (TCP or Unix) socket")
    try:
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            sock.listen(socket.SOMAXCONN if backlog is None else backlog)
    except OSError as exc:
        raise BindError(f"cannot listen on {describe(sock)}: {_reason(exc)}", exc.errno) from None
    return sock


def listeners_from_sockets(
    sockets: Sequence[socket.socket], ssl_context: _ssl.SSLContext | None = None
) -> list[trio.abc.Listener[trio.abc.Stream]]:
    """Wrap listening sockets as trio listeners (TLS-wrapped when ``ssl_context`` is given).

    Call inside trio. The listeners own the sockets from now on: closing a listener closes
    its socket. With TLS, the context's ALPN is set to offer ``http/1.1`` only (see
    `trioweb.server.tls.make_ssl_context`), so a client that asks for HTTP/2 gets HTTP/1.1.

    Args:
        sockets: Listening sockets, from `bind_sockets` or your own.
        ssl_context: A server-side ``ssl.SSLContext`` to serve https.

    Returns:
        One listener per socket.

    Raises:
        ValueError: a socket is not listening.
    """
    tcp = [trio.SocketListener(trio.socket.from_stdlib_socket(sock)) for sock in sockets]
    if ssl_context is None:
        return list(tcp)
    from .tls import make_ssl_context

    context = make_ssl_context(ssl_context)
    return [trio.SSLListener(listener, context, https_compatible=True) for listener in tcp]


def describe(sock: socket.socket | trio.socket.SocketType) -> str:
    """A socket's address as people write it.

    Returns:
        ``127.0.0.1:8000``, ``[::1]:8000``, ``unix:/run/app.sock`` (``unix:@name`` for a
        Linux abstract socket, ``unix:`` for an unnamed one), or ``fd N`` when the socket
        has no address we know how to show.
    """
    try:
        name = sock.getsockname()
    except OSError:
        return f"fd {sock.fileno()}"
    if sock.family == socket.AF_UNIX:
        return "unix:" + _unix_name(name)
    if isinstance(name, tuple) and len(name) >= 2:
        return _host_port(str(name[0]), int(name[1]))
    return f"fd {sock.fileno()}"


def close_sockets(sockets: Iterable[socket.socket]) -> None:
    """Close sockets, and remove the Unix socket files `bind_sockets` made in this process.

    A file is removed only if it is still the one this process bound (another server may
    have replaced it since). Sockets received from elsewhere (``fd=``, a parent process)
    leave their files alone. Safe to call twice.
    """
    for sock in sockets:
        created = _created_unix.pop(sock, None)
        sock.close()
        if created is None:
            continue
        path, device, inode = created
        try:
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) == (device, inode):
                os.unlink(path)
        except OSError:
            pass


# --- TCP ---------------------------------------------------------------------------------


def _bind_tcp(host: str | None, port: int, reuse_port: bool, backlog: int) -> list[socket.socket]:
    shown = _host_port(host or "*", port)
    try:
        infos = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise BindError(f"cannot bind {shown}: {_reason(exc)}") from None
    addresses: list[tuple[socket.AddressFamily, int, tuple[str, int]]] = []
    for family, _type, proto, _canon, sockaddr in infos:
        address = (family, proto, (str(sockaddr[0]), int(sockaddr[1])))
        if family in (socket.AF_INET, socket.AF_INET6) and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise BindError(f"cannot bind {shown}: no IPv4 or IPv6 address")
    for attempt in range(_SAME_PORT_ATTEMPTS):
        try:
            return _bind_all(addresses, port, reuse_port, backlog)
        except _PortTaken:
            if attempt == _SAME_PORT_ATTEMPTS - 1:
                raise BindError(
                    f"cannot bind {shown}: no free port common to all its addresses",
                    errno.EADDRINUSE,
                ) from None
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    """Port 0: the port chosen for the first address is taken on another."""


def _bind_all(
    addresses: list[tuple[socket.AddressFamily, int, tuple[str, int]]],
    port: int,
    reuse_port: bool,
    backlog: int,
) -> list[socket.socket]:
    bound: list[socket.socket] = []
    chosen = port
    try:
        for family, proto, (ip, _port) in addresses:
            try:
                sock = _bind_one(family, proto, ip, chosen, reuse_port, backlog)
            except BindError as exc:
                if port == 0 and bound and exc.errno == errno.EADDRINUSE:
                    raise _PortTaken from None
                # A name with several addresses (localhost: 127.0.0.1 and ::1) on a host
                # without IPv6 (many containers): serve the addresses that work.
                if len(addresses) > 1 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                raise
            bound.append(sock)
            if chosen == 0:
                chosen = int(sock.getsockname()[1])
        if not bound:
            # Every address was unavailable: report the first.
            family, proto, (ip, _port) = addresses[0]
            bound.append(_bind_one(family, proto, ip, chosen, reuse_port, backlog))
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound


def _bind_one(
    family: socket.AddressFamily, proto: int, ip: str, port: int, reuse_port: bool, backlog: int
) -> socket.socket:
    shown = _host_port(ip, port)
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
    except OSError as exc:
        raise BindError(f"cannot bind {shown}: {_reason(exc)}", exc.errno) from None
    try:
        # Restart at once after a crash, while old connections linger in TIME_WAIT (on
        # Unix this never lets two listeners share a port; SO_REUSEPORT does).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # One socket per family: "::" must not also claim IPv4, or binding "0.0.0.0"
            # next to it would fail.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((ip, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(f"address already in use: {shown}", exc.errno) from None
        raise BindError(f"cannot bind {shown}: {_reason(exc)}", exc.errno) from None
    except BaseException:
        sock.close()
        raise
    return sock


# --- Unix sockets ------------------------------------------------------------------------


def _bind_unix(path: str, mode: int | None, backlog: int) -> socket.socket:
    where = f"unix socket {path}"
    _remove_stale_unix_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        st = os.lstat(path)
        if mode is not None:
            os.chmod(path, mode)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(f"{where}: address already in use", exc.errno) from None
        raise BindError(f"{where}: {_reason(exc)}", exc.errno) from None
    except BaseException:
        sock.close()
        raise
    _created_unix[sock] = (path, st.st_dev, st.st_ino)
    return sock


def _remove_stale_unix_socket(path: str) -> None:
    """Remove ``path`` if it is a socket file nothing accepts on; refuse anything else."""
    where = f"unix socket {path}"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BindError(f"{where}: {_reason(exc)}", exc.errno) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise BindError(f"{where}: the path exists and is not a socket; not removing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_UNIX_PROBE_TIMEOUT)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        pass  # stale: its server is gone
    except FileNotFoundError:
        return  # removed meanwhile
    except TimeoutError:
        raise BindError(f"{where}: another server is listening on it", errno.EADDRINUSE) from None
    except OSError as exc:
        raise BindError(f"{where}: {_reason(exc)}", exc.errno) from None
    else:
        raise BindError(f"{where}: another server is listening on it", errno.EADDRINUSE)
    finally:
        probe.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BindError(f"{where}: cannot remove the stale socket: {_reason(exc)}") from None


# --- Inherited descriptors ---------------------------------------------------------------


def _adopt_fd(fd: int) -> socket.socket:
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise BindError(f"fd must be a file descriptor number, got {fd!r}")
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        if exc.errno == errno.ENOTSOCK:
            raise BindError(f"fd {fd} is not a listening socket (not a socket)") from None
        raise BindError(f"fd {fd} is not a listening socket: {_reason(exc)}") from None
    try:
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as exc:
        sock.detach()  # not ours to close
        raise BindError(f"fd {fd} is not a listening socket: {_reason(exc)}") from None
    if sock.type != socket.SOCK_STREAM or not listening:
        sock.detach()
        raise BindError(f"fd {fd} is not a listening socket")
    return sock


# --- Formatting --------------------------------------------------------------------------


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _unix_name(name: object) -> str:
    if isinstance(name, bytes):  # Linux abstract namespace: a leading NUL
        return "@" + name[1:].decode("utf-8", "backslashreplace") if name else ""
    text = str(name)
    return "@" + text[1:] if text.startswith("\0") else text


def _reason(exc: BaseException) -> str:
    """An OS error's reason without its ``[Errno N]`` prefix, on one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__
