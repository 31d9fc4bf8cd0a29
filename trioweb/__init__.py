"""trioweb: a trio-native web framework with Sanic-style routes, views and blueprints.

Quick look::

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
from .exceptions import HTTPException
from .request import Request, StreamingRequest
from .response import (
    HTTPResponse,
    StreamingHTTPResponse,
    empty,
    html,
    json,
    raw,
    redirect,
    stream,
    text,
)
from .server.serve import Server
from .views import CompositionView, HTTPMethodView

__all__ = [
    "App",
    "Blueprint",
    "BlueprintGroup",
    "CompositionView",
    "Config",
    "HTTPException",
    "HTTPMethodView",
    "HTTPResponse",
    "Request",
    "Server",
    "StreamingHTTPResponse",
    "StreamingRequest",
    "empty",
    "html",
    "json",
    "raw",
    "redirect",
    "stream",
    "text",
]

__version__ = "0.1.0"
