"""The response-streaming example from Sanic's docs, ported: new imports, awaited writes."""

from trioweb import App
from trioweb.response import stream

app = App(__name__)


@app.route("/")
async def test(request):
    async def sample_streaming_fn(response):
        await response.write("foo,")
        await response.write("bar")

    return stream(sample_streaming_fn, content_type="text/csv")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
