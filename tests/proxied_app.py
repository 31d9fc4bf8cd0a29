"""The app tests/test_nginx.py serves behind nginx: it reports what it sees of the client."""

from __future__ import annotations

from trioweb import App, Request, json

app = App("proxied")


@app.get("/whoami")
async def whoami(request: Request) -> object:
    return json(
        {
            "ip": request.ip,
            "client_ip": request.client_ip,
            "scheme": request.scheme,
            "host": request.host,
            "url": app.url_for("whoami", _external=True, _server=request.host),
        }
    )
