"""Class-based views end to end: `HTTPMethodView`, `CompositionView` and the `stream` decorator.

Every test goes through ``app.test_client()``, so requests travel the real h11 connection code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from trioweb import App, Request
from trioweb.response import HTTPResponse, json, text
from trioweb.views import CompositionView, HTTPMethodView
from trioweb.views import stream as stream_decorator


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """An upload body httpx sends chunked, piece by piece."""
    for part in parts:
        yield part


# --- HTTPMethodView -------------------------------------------------------------------------


async def test_method_view_dispatches_on_http_method() -> None:
    class ItemView(HTTPMethodView):
        async def get(self, request: Request) -> HTTPResponse:
            return text("got")

        async def post(self, request: Request) -> HTTPResponse:
            return text(f"posted {request.body.decode()}", 201)

    app = App()
    app.add_route(ItemView.as_view(), "/item")
    async with app.test_client() as client:
        got = await client.get("/item")
        posted = await client.post("/item", content=b"x")
    assert (got.status_code, got.text) == (200, "got")
    assert (posted.status_code, posted.text) == (201, "posted x")


async def test_method_view_gets_a_fresh_instance_per_request() -> None:
    class CounterView(HTTPMethodView):
        def __init__(self) -> None:
            self.calls = 0

        async def get(self, request: Request) -> HTTPResponse:
            self.calls += 1
            return text(str(self.calls))

    app = App()
    app.add_route(CounterView.as_view(), "/count")
    async with app.test_client() as client:
        bodies = [(await client.get("/count")).text for _ in range(3)]
    assert bodies == ["1", "1", "1"]


async def test_as_view_arguments_reach_each_instance() -> None:
    class GreetView(HTTPMethodView):
        def __init__(self, greeting: str, *, punctuation: str) -> None:
            self.greeting = greeting
            self.punctuation = punctuation

        async def get(self, request: Request) -> HTTPResponse:
            return text(self.greeting + self.punctuation)

    app = App()
    app.add_route(GreetView.as_view("hello", punctuation="!"), "/greet")
    async with app.test_client() as client:
        response = await client.get("/greet")
    assert response.text == "hello!"


async def test_method_view_decorators_are_applied_in_list_order() -> None:
    calls: list[str] = []

    def tag(label: str) -> Callable[..., Any]:
        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            async def wrapped(request: Request, **params: Any) -> Any:
                calls.append(label)
                return await handler(request, **params)

            return wrapped

        return decorator

    class TaggedView(HTTPMethodView):
        # Applied first to last, so the last one wraps the others and runs first (as in Sanic).
        decorators = [tag("inner"), tag("outer")]

        async def get(self, request: Request) -> HTTPResponse:
            calls.append("view")
            return text("ok")

    app = App()
    app.add_route(TaggedView.as_view(), "/tagged")
    async with app.test_client() as client:
        response = await client.get("/tagged")
    assert response.text == "ok"
    assert calls == ["outer", "inner", "view"]


async def test_method_view_decorator_can_answer_instead_of_the_view() -> None:
    def require_token(handler: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(request: Request, **params: Any) -> Any:
            if request.headers.get("authorization") != "Bearer secret":
                return text("no", 401)
            return await handler(request, **params)

        return wrapped

    class SecretView(HTTPMethodView):
        decorators = [require_token]

        async def get(self, request: Request) -> HTTPResponse:
            return text("the secret")

    app = App()
    app.add_route(SecretView.as_view(), "/secret")
    async with app.test_client() as client:
        denied = await client.get("/secret")
        allowed = await client.get("/secret", headers={"Authorization": "Bearer secret"})
    assert (denied.status_code, denied.text) == (401, "no")
    assert (allowed.status_code, allowed.text) == (200, "the secret")


async def test_method_view_answers_405_with_allow_for_undefined_methods() -> None:
    class ReadOnlyView(HTTPMethodView):
        async def get(self, request: Request) -> HTTPResponse:
            return text("read")

        async def delete(self, request: Request) -> HTTPResponse:
            return text("deleted")

    app = App()
    app.add_route(ReadOnlyView.as_view(), "/thing")
    async with app.test_client() as client:
        response = await client.post("/thing", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"


async def test_method_view_explicit_methods_beyond_the_view_answer_405() -> None:
    class GetOnlyView(HTTPMethodView):
        async def get(self, request: Request) -> HTTPResponse:
            return text("read")

    app = App()
    app.add_route(GetOnlyView.as_view(), "/thing", methods=["GET", "PUT"])
    async with app.test_client() as client:
        response = await client.put("/thing", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_method_view_receives_path_params_as_keyword_arguments() -> None:
    class UserPostView(HTTPMethodView):
        async def get(self, request: Request, user_id: int, slug: str) -> HTTPResponse:
            return json({"user_id": user_id, "slug": slug, "type": type(user_id).__name__})

    app = App()
    app.add_route(UserPostView.as_view(), "/users/<user_id:int>/posts/<slug:slug>")
    async with app.test_client() as client:
        response = await client.get("/users/42/posts/hello-world")
    assert response.json() == {"user_id": 42, "slug": "hello-world", "type": "int"}


async def test_view_route_is_named_after_the_view_class() -> None:
    class ProfileView(HTTPMethodView):
        async def get(self, request: Request, user: str) -> HTTPResponse:
            return text(request.app.url_for("ProfileView", user=user, tab="info"))

    app = App()
    app.add_route(ProfileView.as_view(), "/profile/<user:alpha>")
    async with app.test_client() as client:
        response = await client.get("/profile/ada")
    assert response.text == "/profile/ada?tab=info"


async def test_stream_decorated_method_reads_the_body_through_request_stream() -> None:
    class UploadView(HTTPMethodView):
        @stream_decorator
        async def post(self, request: Request) -> HTTPResponse:
            assert request.stream is not None
            assert request.body == b""
            received = [chunk async for chunk in request.stream]
            return text(b"".join(received).decode())

    app = App()
    app.add_route(UploadView.as_view(), "/upload")
    async with app.test_client() as client:
        response = await client.post("/upload", content=chunks(b"ab", b"cd", b"ef"))
    assert (response.status_code, response.text) == (200, "abcdef")


async def test_non_streaming_method_of_a_streaming_view_gets_the_whole_body() -> None:
    seen: dict[str, object] = {}

    class MixedView(HTTPMethodView):
        @stream_decorator
        async def post(self, request: Request) -> HTTPResponse:
            body = await request.receive_body()
            return text(f"streamed {body.decode()}")

        async def put(self, request: Request) -> HTTPResponse:
            seen["stream"] = request.stream
            return text(f"buffered {request.body.decode()}")

    app = App()
    app.add_route(MixedView.as_view(), "/mixed")
    async with app.test_client() as client:
        streamed = await client.post("/mixed", content=b"one")
        buffered = await client.put("/mixed", content=chunks(b"tw", b"o"))
    assert streamed.text == "streamed one"
    assert buffered.text == "buffered two"
    assert seen["stream"] is None


async def test_head_is_served_by_get_without_a_body() -> None:
    calls: list[str] = []

    class PageView(HTTPMethodView):
        async def get(self, request: Request) -> HTTPResponse:
            calls.append(request.method)
            return text("page body")

    app = App()
    app.add_route(PageView.as_view(), "/page")
    async with app.test_client() as client:
        response = await client.head("/page")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len("page body"))
    assert calls == ["HEAD"]


# --- CompositionView --------------------------------------------------------------------------


async def list_items(request: Request) -> HTTPResponse:
    return text("items")


async def create_item(request: Request) -> HTTPResponse:
    return text(f"created {request.body.decode()}", 201)


async def test_composition_view_routes_each_method_to_its_handler() -> None:
    view = CompositionView()
    view.add(["GET"], list_items)
    view.add(["POST", "put"], create_item)
    app = App()
    app.add_route(view, "/items")
    async with app.test_client() as client:
        listed = await client.get("/items")
        posted = await client.post("/items", content=b"a")
        put = await client.put("/items", content=b"b")
    assert (listed.status_code, listed.text) == (200, "items")
    assert (posted.status_code, posted.text) == (201, "created a")
    assert (put.status_code, put.text) == (201, "created b")


async def test_composition_view_passes_path_params() -> None:
    async def show(request: Request, item_id: int) -> HTTPResponse:
        return text(f"item {item_id + 1}")

    view = CompositionView()
    view.add(["GET"], show)
    app = App()
    app.add_route(view, "/items/<item_id:int>")
    async with app.test_client() as client:
        response = await client.get("/items/41")
    assert response.text == "item 42"


async def test_composition_view_streaming_handler_reads_request_stream() -> None:
    seen: dict[str, object] = {}

    async def upload(request: Request) -> HTTPResponse:
        assert request.stream is not None
        parts = []
        while (chunk := await request.stream.get()) is not None:
            parts.append(chunk)
        return text(b"".join(parts).decode())

    async def replace(request: Request) -> HTTPResponse:
        seen["stream"] = request.stream
        return text(request.body.decode())

    view = CompositionView()
    view.add(["POST"], upload, stream=True)
    view.add(["PUT"], replace)
    app = App()
    app.add_route(view, "/upload")
    async with app.test_client() as client:
        streamed = await client.post("/upload", content=chunks(b"x" * 3, b"y" * 3))
        buffered = await client.put("/upload", content=b"whole")
    assert streamed.text == "xxxyyy"
    assert buffered.text == "whole"
    assert seen["stream"] is None


async def test_composition_view_answers_405_for_other_methods() -> None:
    view = CompositionView()
    view.add(["GET"], list_items)
    view.add(["POST"], create_item)
    app = App()
    app.add_route(view, "/items")
    async with app.test_client() as client:
        response = await client.delete("/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_composition_view_explicit_methods_beyond_its_handlers_answer_405() -> None:
    view = CompositionView()
    view.add(["GET"], list_items)
    app = App()
    app.add_route(view, "/items", methods=["GET", "DELETE"])
    async with app.test_client() as client:
        response = await client.delete("/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_composition_view_rejects_a_method_added_twice() -> None:
    view = CompositionView()
    view.add(["GET", "POST"], list_items)
    with pytest.raises(ValueError, match="method POST is already registered in this view"):
        view.add(["post"], create_item)


async def test_composition_view_rejects_methods_given_as_a_string() -> None:
    view = CompositionView()
    with pytest.raises(TypeError, match="methods must be a list of names, not the string 'GET'"):
        view.add("GET", list_items)  # type: ignore[arg-type]


async def test_composition_view_rejects_unknown_methods() -> None:
    view = CompositionView()
    with pytest.raises(ValueError, match="'BREW' is not an HTTP method"):
        view.add(["BREW"], list_items)


async def test_attach_routes_a_view_as_in_sanic() -> None:
    class Hello(HTTPMethodView):
        async def get(self, request: Request) -> HTTPResponse:
            return text("hello")

    app = App("attach")
    Hello.attach(app, "/hello", name="greeting")
    async with app.test_client() as client:
        response = await client.get("/hello")
    assert response.text == "hello"
    assert app.url_for("greeting") == "/hello"
