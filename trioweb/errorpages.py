"""Default error pages, rendered as text, JSON or HTML.

The format comes from the route's ``error_format`` when it names one, else from the request:
the ``Accept`` header's preference among HTML, JSON and plain text, then a JSON request body,
then ``config.FALLBACK_ERROR_FORMAT``. Outside debug mode a page never shows the text of an
exception that is not an `HTTPException`: only its status phrase.
"""

from __future__ import annotations

import html as htmllib
import json as jsonlib
import traceback
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .exceptions import HTTPException
from .response import HTTPResponse

if TYPE_CHECKING:
    from .request import Request

__all__ = ["choose_format", "render_error"]

_ACCEPTABLE = {
    "text/html": "html",
    "application/json": "json",
    "text/plain": "text",
}


def _accept_preference(accept: str) -> str | None:
    """The format the ``Accept`` header ranks highest (ties go to the order listed)."""
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        fmt = _ACCEPTABLE.get(media)
        if fmt is None or quality <= 0:
            continue
        rank = (quality, -position)
        if best is None or rank > best:
            best, chosen = rank, fmt
    return chosen


def choose_format(request: Request | None, route_format: str | None, fallback: str) -> str:
    """Pick ``"text"``, ``"json"`` or ``"html"`` for an error page (see the module docstring)."""
    if route_format is not None and route_format != "auto":
        return route_format
    if request is not None:
        accept = request.headers.get("accept")
        if accept:
            preferred = _accept_preference(accept)
            if preferred is not None:
                return preferred
        if request.headers.get("content-type", "").startswith("application/json"):
            return "json"
    return fallback if fallback != "auto" else "text"


def render_error(exc: BaseException, fmt: str, debug: bool) -> HTTPResponse:
    """The error page for ``exc`` in ``fmt``; tracebacks only when ``debug`` is true."""
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.message
        headers = exc.headers
        context: dict[str, Any] = dict(exc.context)
        if debug:
            context.update(exc.extra)
    else:
        # Its text may hold secrets (paths, queries, keys); only the traceback in debug shows it.
        status, headers, context = 500, {}, {}
        message = HTTPStatus.INTERNAL_SERVER_ERROR.phrase
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    trace = "".join(traceback.format_exception(exc)) if debug else ""
    if fmt == "json":
        payload: dict[str, Any] = {"description": phrase, "status": status, "message": message}
        if context:
            payload["context"] = context
        if trace:
            payload["traceback"] = trace
        body = jsonlib.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
        return HTTPResponse(body, status, headers, "application/json")
    if fmt == "html":
        escape = htmllib.escape
        page = (
            "<!DOCTYPE html><html><head><meta charset=utf-8>"
            f"<title>{status} {escape(phrase)}</title></head><body>"
            f"<h1>{status} {escape(phrase)}</h1><p>{escape(message)}</p>"
        )
        if trace:
            page += f"<pre>{escape(trace)}</pre>"
        page += "</body></html>\n"
        return HTTPResponse(page, status, headers, "text/html; charset=utf-8")
    text = f"{status} {message}\n{trace}"
    return HTTPResponse(text, status, headers, "text/plain; charset=utf-8")
