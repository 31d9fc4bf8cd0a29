"""Server TLS contexts from what users pass as ``ssl=``: a context, a dict, or a folder.

The forms are Sanic's (``app.run(ssl=...)``), plus keywords for the command line's
``--tls-cert/--tls-key/--tls-ca``:

- an ``ssl.SSLContext`` you made (used as it is, except for ALPN, below);
- a dict: ``{"cert": "fullchain.pem", "key": "privkey.pem", "password": "..."}``, plus
  ``"ca"`` to require client certificates;
- a folder holding ``fullchain.pem`` and ``privkey.pem`` (what certbot writes).

ALPN offers ``http/1.1`` only, on your own context too: trioweb speaks HTTP/1.1, and a
server that agreed to ``h2`` would have to hang up on the client. Clients that offer ``h2``
and ``http/1.1`` (browsers, curl, httpx with ``http2=True``) then use HTTP/1.1.
"""

from __future__ import annotations

import os
import ssl as _ssl
from collections.abc import Mapping
from typing import Any, overload

__all__ = ["TLSError", "make_ssl_context"]

#: What a TLS server offers in ALPN; the client picks one of them or goes without ALPN.
ALPN_PROTOCOLS = ["http/1.1"]

# The keys of Sanic's ssl= dict; "names" picks a certificate by SNI among several, which
# trioweb does not do yet, so with a single certificate it is accepted and not needed.
_DICT_KEYS = frozenset({"cert", "key", "password", "ca", "names"})


class TLSError(ValueError):
    """The TLS settings cannot make a context; ``str(exc)`` is one line naming the file."""


@overload
def make_ssl_context(
    ssl: _ssl.SSLContext,
    *,
    cert: None = None,
    key: None = None,
    ca: None = None,
    password: None = None,
) -> _ssl.SSLContext: ...
@overload
def make_ssl_context(
    ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    cert: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
    ca: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> _ssl.SSLContext | None: ...
def make_ssl_context(
    ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    cert: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
    ca: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> _ssl.SSLContext | None:
    """A server-side TLS context from any of the forms ``ssl=`` accepts, or ``None``.

    A context made here comes from ``ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)``
    (the ``ssl`` module's secure defaults) with TLS 1.2 as the oldest version. With ``ca``,
    every client must present a certificate signed by it (``CERT_REQUIRED``: the handshake
    fails without one); for optional client certificates pass your own context with
    ``verify_mode = ssl.CERT_OPTIONAL``. On every context, this one or yours, ALPN is set to
    offer ``http/1.1`` only (your context is changed in place).

    Args:
        ssl: An ``ssl.SSLContext``; a dict with ``cert``, ``key`` and optionally
            ``password`` and ``ca``; or a folder holding ``fullchain.pem`` and
            ``privkey.pem``. ``None`` to use the keywords.
        cert: The certificate chain file (PEM, the server's certificate first).
        key: The private key file (PEM); without it the key is read from ``cert``.
        ca: CA certificates (a PEM file or a folder) that client certificates must chain to.
        password: The private key's password, when it is encrypted.

    Returns:
        The context, or ``None`` when nothing asks for TLS.

    Raises:
        TLSError: a file is missing or unreadable, is not PEM, the key does not match the
            certificate, the password is missing or wrong, or a context was made for
            clients (``ssl.create_default_context()`` without ``Purpose.CLIENT_AUTH``).
        TypeError: ``ssl`` is none of the forms, or a context comes with file keywords.
    """
    files = (cert, key, ca, password)
    if isinstance(ssl, _ssl.SSLContext):
        if any(value is not None for value in files):
            raise TypeError("give an ssl.SSLContext or cert=/key=/ca=/password=, not both")
        return _serve_http11(ssl)
    if ssl is None:
        if cert is None:
            if any(value is not None for value in files):
                raise TLSError("TLS needs a certificate: key=, ca= or password= without cert=")
            return None
        return _from_files(cert, key, ca, password)
    if any(value is not None for value in files):
        raise TypeError("give ssl= or cert=/key=/ca=/password=, not both")
    if isinstance(ssl, Mapping | str | os.PathLike):
        return _from_files(*files_of(ssl))
    if isinstance(ssl, list | tuple):
        raise TypeError(
            "ssl= with several certificates (chosen by SNI) is not supported; "
            "give one context, dict or folder"
        )
    raise TypeError(
        "ssl= takes an ssl.SSLContext, a dict with 'cert' and 'key', or a folder holding "
        f"fullchain.pem and privkey.pem; got {type(ssl).__name__}"
    )


def files_of(
    ssl: Mapping[str, Any] | str | os.PathLike[str],
) -> tuple[str, str | None, str | None, str | None]:
    """The certificate, key, CA and password a dict or a certbot folder names, checked.

    A folder gives its ``fullchain.pem`` and ``privkey.pem``. Nothing is read here.

    Raises:
        TLSError: an unknown dict key, a dict without ``cert``, or a folder that is none.
    """
    if isinstance(ssl, Mapping):
        unknown = sorted(str(name) for name in ssl if name not in _DICT_KEYS)
        if unknown:
            raise TLSError(
                f"ssl= dict: unknown key {unknown[0]!r}; the keys are 'cert', 'key', "
                "'password', 'ca'"
            )
        cert = ssl.get("cert")
        if not cert:
            raise TLSError("ssl= dict: 'cert' (the certificate chain file) is required")
        return cert, ssl.get("key"), ssl.get("ca"), ssl.get("password")
    folder = os.fspath(ssl)
    if not os.path.isdir(folder):
        raise TLSError(
            f"ssl={folder!r}: not a folder (it should hold fullchain.pem and privkey.pem; "
            "for separate files give {'cert': ..., 'key': ...})"
        )
    return os.path.join(folder, "fullchain.pem"), os.path.join(folder, "privkey.pem"), None, None


def _from_files(
    cert: str | os.PathLike[str],
    key: str | os.PathLike[str] | None,
    ca: str | os.PathLike[str] | None,
    password: str | None,
) -> _ssl.SSLContext:
    cert = os.fspath(cert)
    key = os.fspath(key) if key is not None else None
    for what, path in (("certificate", cert), ("key", key), ("CA", ca)):
        if path is not None and not os.path.exists(path):
            raise TLSError(f"TLS {what} file not found: {os.fspath(path)}")
    context = _ssl.create_default_context(_ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = _ssl.TLSVersion.TLSv1_2
    asked: list[bool] = []

    def give_password() -> str:
        # A callable, never None: OpenSSL would otherwise prompt on the terminal.
        asked.append(True)
        return password or ""

    try:
        context.load_cert_chain(cert, key, give_password)
    except OSError as exc:
        raise TLSError(_load_error(exc, cert, key, password, bool(asked))) from None
    if ca is not None:
        try:
            context.load_verify_locations(
                cafile=None if os.path.isdir(ca) else ca, capath=ca if os.path.isdir(ca) else None
            )
        except OSError as exc:
            raise TLSError(f"TLS CA {os.fspath(ca)}: {_ssl_reason(exc)}") from None
        context.verify_mode = _ssl.CERT_REQUIRED
    return _serve_http11(context)


def _load_error(exc: OSError, cert: str, key: str | None, password: str | None, asked: bool) -> str:
    key_file = key if key is not None else cert
    if not isinstance(exc, _ssl.SSLError):
        return f"cannot read TLS files {cert}, {key_file}: {exc.strerror or exc}"
    if exc.reason == "KEY_VALUES_MISMATCH":
        return f"TLS key {key_file} does not match the certificate in {cert}"
    if asked and password is None:
        return f"TLS key {key_file} is encrypted: give its password"
    if asked:
        return f"TLS key {key_file}: wrong password"
    if not _pem_has(cert, "CERTIFICATE-----"):
        return f"TLS certificate {cert}: no PEM certificate in it"
    if not _pem_has(key_file, "PRIVATE KEY-----"):
        return f"TLS key {key_file}: no PEM private key in it"
    return f"cannot load TLS certificate {cert} and key {key_file}: {_ssl_reason(exc)}"


def _pem_has(path: str, marker: str) -> bool:
    try:
        with open(path, "rb") as file:
            return marker.encode() in file.read(1 << 20)
    except OSError:
        return False


def _ssl_reason(exc: OSError) -> str:
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return text.split(" (_ssl.c", 1)[0]


def _serve_http11(context: _ssl.SSLContext) -> _ssl.SSLContext:
    """Check that ``context`` is one a server can use, and make its ALPN offer HTTP/1.1."""
    if context.check_hostname:
        raise TLSError(
            "this ssl.SSLContext is for clients (check_hostname is on, and clients would "
            "need certificates): make it with ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)"
        )
    context.set_alpn_protocols(ALPN_PROTOCOLS)
    return context
