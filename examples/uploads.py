"""An upload service: files land on disk, however large, with the form limits doing their job.

Two routes show the two ways in:

- ``POST /upload`` is an ordinary route. The server parses the form while the body arrives;
  files larger than ``FORM_SPOOL_SIZE`` wait in temporary files, and the handler moves each
  to the upload folder with ``await upload.save(path)``.
- ``POST /upload/stream`` streams: ``request.multipart()`` hands over each part as it
  arrives, and ``await part.save(path)`` writes it straight to its place, so a 10 GB upload
  needs no more memory than a small one and no temporary copy.

Both answer with what they stored: each file's field, stored name and size, and the text
fields. Run it with ``python examples/uploads.py`` and try::

    curl -F title=holiday -F photo=@beach.jpg http://127.0.0.1:8000/upload
    curl -F video=@big.mp4 http://127.0.0.1:8000/upload/stream
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from trioweb import App, Request, json
from trioweb.response import HTTPResponse

app = App("uploads")
# The ordinary route holds a whole body (its files spooled to disk): allow 1 GiB.
app.config.REQUEST_MAX_SIZE = 1024**3

UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR") or tempfile.mkdtemp(prefix="uploads-"))


def stored_name(client_name: str | None) -> str:
    """A name of our own for an upload: the client's name is only a hint (it may say
    ``../../etc/passwd``), so keep a tame version of its last part after a random prefix."""
    tail = re.sub(r"[^A-Za-z0-9._-]", "_", (client_name or "").replace("\\", "/").split("/")[-1])
    return f"{uuid.uuid4().hex[:12]}-{tail.lstrip('.') or 'upload'}"


@app.post("/upload")
async def upload(request: Request) -> HTTPResponse:
    stored: list[dict[str, Any]] = []
    for field, uploads in request.files.items():
        for upload in uploads:
            name = stored_name(upload.name)
            await upload.save(UPLOAD_DIR / name)
            stored.append({"field": field, "stored": name, "size": upload.size})
    return json({"files": stored, "fields": dict(request.form)})


@app.post("/upload/stream", stream=True)
async def upload_stream(request: Request) -> HTTPResponse:
    stored: list[dict[str, Any]] = []
    fields: dict[str, list[str]] = {}
    async for part in request.multipart():
        if part.filename is None:
            fields.setdefault(part.name, []).append(await part.text())
            continue
        name = stored_name(part.filename)
        size = await part.save(UPLOAD_DIR / name)
        stored.append({"field": part.name, "stored": name, "size": size})
    return json({"files": stored, "fields": fields})


if __name__ == "__main__":
    print(f"storing uploads in {UPLOAD_DIR}")
    app.run(port=int(os.environ.get("PORT", "8000")))
