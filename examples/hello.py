"""The README's example: a greeting and a streaming upper-caser.

Run it with ``python examples/hello.py`` and try::

    curl --data-binary 'make me loud' http://127.0.0.1:8000/upper
"""

from trioweb import App, HTTPResponse, Request, StreamingHTTPResponse, StreamingRequest
from trioweb.response import stream, text

app = App("hello")


@app.get("/")
async def hello(request: Request) -> HTTPResponse:
    return text("Hello, world")


@app.post("/upper", stream=True)
async def upper(request: StreamingRequest) -> StreamingHTTPResponse:
    async def body(response: StreamingHTTPResponse) -> None:
        async for chunk in request.stream:  # a trio memory channel of bytes
            await response.write(chunk.upper())  # waits while the client is slow

    return stream(body)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
