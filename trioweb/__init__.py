"""trioweb: a trio-native web framework with Sanic-style routes, views and blueprints.

Quick look:

    from trioweb import App
    from trioweb.response import text

    app = App("hello")

    @app.get("/")
    async def hello(request):
        return text("Hello, world")

    app.run()
"""

from .app import App
from .blueprints import Blueprint, BlueprintGroup
from .config import Config
from .exceptions import (
    BadRequest,
    ExpectationFailed,
    FileNotFound,
    Forbidden,
    HeaderNotFound,
    HTTPException,
    InternalServerError,
    InvalidHeader,
    MethodNotAllowed,
    NotFound,
    RangeNotSatisfiable,
    SanicException,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from .request import Request, StreamingRequest
from .response import (
    HTTPResponse,
    StreamingHTTPResponse,
    empty,
    file,
    html,
    json,
    raw,
    redirect,
    stream,
    text,
)
from .server.serve import Server
from .sse import ServerSentEvent, event_stream
from .views import CompositionView, HTTPMethodView

# Besides App and its parts, the exceptions and response helpers Sanic exports from its top
# level are here too, so ported imports keep working.

__all__ = [
    "App",
    "BadRequest",
    "Blueprint",
    "BlueprintGroup",
    "CompositionView",
    "Config",
    "ExpectationFailed",
    "FileNotFound",
    "Forbidden",
    "HTTPException",
    "HTTPMethodView",
    "HTTPResponse",
    "HeaderNotFound",
    "InternalServerError",
    "InvalidHeader",
    "MethodNotAllowed",
    "NotFound",
    "RangeNotSatisfiable",
    "Request",
    "SanicException",
    "Server",
    "ServerError",
    "ServerSentEvent",
    "ServiceUnavailable",
    "StreamingHTTPResponse",
    "StreamingRequest",
    "Unauthorized",
    "empty",
    "event_stream",
    "file",
    "html",
    "json",
    "raw",
    "redirect",
    "stream",
    "text",
]

# The one place the version is written: pyproject.toml reads it from here when building.
__version__ = "0.1.0"
