"""A JSON API: a to-do list whose request bodies are checked by a small hand-written validator.

A body that is JSON but not a valid to-do gets a ``422`` whose JSON names each bad
field; a body that is not JSON at all gets ``400``. Every error, 404 and 405 included, is a
JSON document, because the app's fallback error format is JSON.

Run it with ``python examples/json_api.py`` and try::

    curl -d '{"title": "buy milk"}' http://127.0.0.1:8000/todos
    curl -X PATCH -d '{"done": true}' http://127.0.0.1:8000/todos/1
    curl http://127.0.0.1:8000/todos
    curl 'http://127.0.0.1:8000/todos?done=false'
    curl -d '{"title": "", "done": "yes"}' http://127.0.0.1:8000/todos     # 422, two fields
    curl -X DELETE http://127.0.0.1:8000/todos/1
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from trioweb import App, HTTPException, NotFound, Request
from trioweb.exceptions import BadRequest
from trioweb.response import HTTPResponse, empty, json

app = App("json_api")
# Errors are JSON whatever the client's Accept header says (curl sends */*).
app.config.FALLBACK_ERROR_FORMAT = "json"

TITLE_MAX = 200


class ValidationFailed(HTTPException):
    """422: the body is JSON but breaks the rules; ``context["errors"]`` maps field to problem.

    The default JSON error page shows an exception's ``context``, so no error handler is
    needed: ``{"status": 422, "message": "...", "context": {"errors": {...}}, ...}``.
    """

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("the to-do is not valid", context={"errors": errors})


@dataclass
class Todo:
    id: int
    title: str
    done: bool = False
    tags: list[str] = field(default_factory=list[str])


def string_list(value: Any) -> list[str] | None:
    """``value`` if it is a list of non-empty strings, else ``None``."""
    if not isinstance(value, list):
        return None
    items: list[Any] = value
    strings = [item for item in items if isinstance(item, str) and item]
    return strings if len(strings) == len(items) else None


def validate(body: Any, *, partial: bool) -> dict[str, Any]:
    """The fields of a to-do from a parsed JSON body, checked.

    Args:
        body: What ``request.json`` gave.
        partial: True for PATCH: every field is optional, but at least one is needed.

    Returns:
        The valid fields, by name.

    Raises:
        ValidationFailed: with one message per bad or unknown field.
    """
    if not isinstance(body, dict):
        raise ValidationFailed({"body": "expected a JSON object"})
    given = cast("dict[str, Any]", body)  # JSON object keys are strings
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    if "title" in given:
        title = given["title"]
        if not isinstance(title, str) or not title.strip():
            errors["title"] = "must be a non-empty string"
        elif len(title) > TITLE_MAX:
            errors["title"] = f"must be at most {TITLE_MAX} characters"
        else:
            fields["title"] = title.strip()
    elif not partial:
        errors["title"] = "is required"
    if "done" in given:
        if isinstance(given["done"], bool):
            fields["done"] = given["done"]
        else:
            errors["done"] = "must be true or false"
    if "tags" in given:
        tags = string_list(given["tags"])
        if tags is None:
            errors["tags"] = "must be a list of non-empty strings"
        else:
            fields["tags"] = list(dict.fromkeys(tags))  # in order, without repeats
    for unknown in sorted(set(given) - {"title", "done", "tags"}):
        errors[unknown] = "is not a field of a to-do"
    if partial and not given:
        errors["body"] = "give at least one of title, done, tags"
    if errors:
        raise ValidationFailed(errors)
    return fields


class TodoList:
    """The to-dos, kept in memory: a real app would use its database here."""

    def __init__(self) -> None:
        self.todos: dict[int, Todo] = {}
        self.ids = itertools.count(1)

    def get(self, todo_id: int) -> Todo:
        try:
            return self.todos[todo_id]
        except KeyError:
            raise NotFound(f"no to-do {todo_id}") from None


@app.before_server_start
async def open_store(app: App) -> None:
    # A fresh list each time the app starts (each test client gets its own, too).
    app.ctx.todos = TodoList()


def todos_of(request: Request) -> TodoList:
    store: TodoList = request.app.ctx.todos
    return store


@app.get("/todos")
async def list_todos(request: Request) -> HTTPResponse:
    todos = list(todos_of(request).todos.values())
    done = request.args.get("done")
    if done is not None:
        if done not in ("true", "false"):
            raise BadRequest("done must be true or false")
        todos = [todo for todo in todos if todo.done == (done == "true")]
    return json([asdict(todo) for todo in todos])


@app.post("/todos")
async def create_todo(request: Request) -> HTTPResponse:
    fields = validate(request.json, partial=False)
    store = todos_of(request)
    todo = Todo(id=next(store.ids), **fields)
    store.todos[todo.id] = todo
    location = request.app.url_for("get_todo", todo_id=todo.id)
    return json(asdict(todo), status=201, headers={"Location": location})


@app.get("/todos/<todo_id:int>")
async def get_todo(request: Request, todo_id: int) -> HTTPResponse:
    return json(asdict(todos_of(request).get(todo_id)))


@app.patch("/todos/<todo_id:int>")
async def update_todo(request: Request, todo_id: int) -> HTTPResponse:
    todo = todos_of(request).get(todo_id)
    for name, value in validate(request.json, partial=True).items():
        setattr(todo, name, value)
    return json(asdict(todo))


@app.delete("/todos/<todo_id:int>")
async def delete_todo(request: Request, todo_id: int) -> HTTPResponse:
    store = todos_of(request)
    store.get(todo_id)  # 404 if it is not there
    del store.todos[todo_id]
    return empty()


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
