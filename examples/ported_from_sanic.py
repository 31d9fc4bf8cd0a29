"""A small API written for Sanic, ported to trioweb by changing its imports only.

Every Sanic habit below runs unchanged: exceptions with class attributes, ``InvalidUsage``
handlers, blueprint groups built from a list, versions spelled ``"v1"``, ``request.args``
lists, a plain ``def`` handler, dicts turned into JSON by response middleware, ``ctx_*``
route keywords, cookies set the dictionary way, ``request.token``, and ``url_for`` with
``_external``. Run it with ``python examples/ported_from_sanic.py`` and try::

    curl 'http://127.0.0.1:8000/v1/api/items?tag=a&tag=b'
    curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:8000/v1/api/admin
"""

from __future__ import annotations

import hashlib
from typing import Any

# With Sanic:
#   from sanic import Blueprint, Sanic, SanicException, json, text
#   from sanic.exceptions import InvalidUsage
from trioweb import App as Sanic
from trioweb import Blueprint, SanicException, json, text
from trioweb.exceptions import InvalidUsage

app = Sanic("ported")
app.config.SERVER_NAME = "api.example.com"


class ItemMissing(SanicException):
    status_code = 404
    message = "no such item"
    quiet = True


ITEMS = {1: "tea", 2: "coffee"}

items = Blueprint("items", url_prefix="/items")
admin = Blueprint("admin", url_prefix="/admin")


@items.get("/")
async def list_items(request: Any) -> Any:
    tags = request.args.getlist("tag")
    return {"items": sorted(ITEMS.values()), "tags": tags}  # a dict: see to_json below


@items.get("/<item_id:int>")
async def show_item(request: Any, item_id: int) -> Any:
    if item_id not in ITEMS:
        raise ItemMissing()
    return json(
        {
            "id": item_id,
            "name": ITEMS[item_id],
            "self": app.url_for(
                "items.show_item", item_id=item_id, _external=True, _scheme="https"
            ),
        }
    )


@items.post("/")
async def add_item(request: Any) -> Any:
    name = request.json.get("name") if isinstance(request.json, dict) else None
    if not name:
        raise InvalidUsage("an item needs a name")
    ITEMS[max(ITEMS) + 1] = name
    return json({"added": name}, status=201)


@items.get("/<name:file\\.(txt|csv)>")
async def export(request: Any, name: str) -> Any:
    return text(f"exporting as {name}")  # the regex group: "txt" or "csv"


@items.get("/digest")
def digest(request: Any) -> Any:  # plain def: runs in a worker thread
    body = ",".join(sorted(ITEMS.values())).encode()
    return text(hashlib.sha256(body).hexdigest())


@admin.get("/", ctx_needs_token=True)
async def admin_home(request: Any) -> Any:
    response = text(f"hello, holder of {request.token}")
    response.cookies["seen"] = "yes"
    response.cookies["seen"]["path"] = "/v1/api/admin"
    return response


api = Blueprint.group([items, admin], url_prefix="/api", version="v1")
app.blueprint(api)


@app.on_request
async def check_token(request: Any) -> Any:
    needs_token = request.route and getattr(request.route.ctx, "needs_token", False)
    if needs_token and request.token != "s3cret":
        return text("who are you?", status=401)
    return None


@app.on_response
async def to_json(request: Any, response: Any) -> Any:
    if isinstance(response, dict):
        return json(response)
    return None


@app.exception(InvalidUsage)
async def bad_input(request: Any, exc: Exception) -> Any:
    return json({"error": str(exc)}, status=400)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
