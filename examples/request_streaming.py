"""The request-streaming example from Sanic's docs, ported: new imports, awaited writes.

Run it with ``python examples/request_streaming.py`` and try::

    curl -T README.md http://127.0.0.1:8000/bp_stream
    curl --data-binary 111 http://127.0.0.1:8000/stream        # -> AAA
"""

from trioweb import App
from trioweb.blueprints import Blueprint
from trioweb.response import stream, text
from trioweb.views import CompositionView, HTTPMethodView
from trioweb.views import stream as stream_decorator

bp = Blueprint("blueprint_request_stream")
app = App("request_stream")


class SimpleView(HTTPMethodView):
    @stream_decorator
    async def post(self, request):
        result = ""
        while True:
            body = await request.stream.get()
            if body is None:
                break
            result += body.decode("utf-8")
        return text(result)


@app.post("/stream", stream=True)
async def handler(request):
    async def streaming(response):
        while True:
            body = await request.stream.get()
            if body is None:
                break
            body = body.decode("utf-8").replace("1", "A")
            await response.write(body)

    return stream(streaming)


@bp.put("/bp_stream", stream=True)
async def bp_handler(request):
    result = ""
    while True:
        body = await request.stream.get()
        if body is None:
            break
        result += body.decode("utf-8").replace("1", "A")
    return text(result)


async def post_handler(request):
    result = ""
    while True:
        body = await request.stream.get()
        if body is None:
            break
        result += body.decode("utf-8")
    return text(result)


app.blueprint(bp)
app.add_route(SimpleView.as_view(), "/method_view")
view = CompositionView()
view.add(["POST"], post_handler, stream=True)
app.add_route(view, "/composition_view")

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
