"""trioweb serving the benchmark endpoints.

    python bench/hello.py 8002
"""

from __future__ import annotations

import sys

from trioweb import App, Request
from trioweb.response import HTTPResponse, text

app = App("bench")
app.config.ACCESS_LOG = False


@app.get("/")
async def hello(request: Request) -> HTTPResponse:
    return text("Hello, world")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8002,
            access_log=False)
