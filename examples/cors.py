"""CORS: an API that the company's web front end calls with cookies, and a public blueprint.

Run it with ``python examples/cors.py`` and ask as a browser would before a JSON POST::

    curl -i -X OPTIONS http://127.0.0.1:8000/notes \\
        -H 'Origin: https://app.example.com' \\
        -H 'Access-Control-Request-Method: POST' \\
        -H 'Access-Control-Request-Headers: content-type'

That answers 204 with the CORS headers; from ``https://evil.example`` it answers 403.
"""

import re

from trioweb import App, Blueprint
from trioweb.cors import cors
from trioweb.response import json

app = App("cors_example")

# The front end, and its preview deployments (https://<branch>.preview.example.com), may
# call the API with the user's cookies and read the X-Request-Id header of each answer.
cors(
    app,
    ["https://app.example.com", re.compile(r"https://[a-z0-9-]+\.preview\.example\.com")],
    allow_credentials=True,
    expose_headers=["X-Request-Id"],
    max_age=3600,
)

NOTES = ["buy milk"]


@app.get("/notes")
async def list_notes(request):
    return json(NOTES, headers={"X-Request-Id": request.id})


@app.post("/notes")
async def add_note(request):
    NOTES.append(request.json["text"])
    return json(NOTES, status=201, headers={"X-Request-Id": request.id})


# Anyone may read the status page, from any site, without cookies.
public = Blueprint("public", url_prefix="/public")
cors(public, "*")


@public.get("/status")
async def status(request):
    return json({"ok": True})


app.blueprint(public)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
