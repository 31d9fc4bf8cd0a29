"""HTTP/1.1 over one stream; the only part of trioweb that imports h11.

One connection, as data flows::

    connection nursery (one per connection)
      the connection task is the reader: socket -> h11 -> events -> the lifecycle table
        head -> app.plan(): route, streaming?, body limit, websocket?, routing error
        buffered route:  the reader reads the whole body (bounded by its limit), then runs
                         the exchange itself: no task, no channel
        streaming route: the exchange runs as a task in this nursery; the reader feeds the
                         body into a memory channel (`trioweb.server.feed`) whose receive
                         end is ``request.stream``; at the body's end the channel closes and
                         the reader reads on: end of file means the client left, and the
                         exchange is cancelled
      writer: response -> h11 -> the transport (waits while the client is not reading)
      keep-alive: the next request on the same connection; pipelined ones in order

Modules: `connection` (the reader task and buffered exchanges), `streaming` (a streaming
route's exchange), `body` (body readers by framing), `writer` (the response writer),
`errors` (h11's parse errors as trioweb's). HTTP's rules for one exchange are in
`trioweb.server.exchange`, the phases and deadlines in `trioweb.server.lifecycle`.
"""

from .connection import ConnectionHost, HTTP11Connection

__all__ = ["ConnectionHost", "HTTP11Connection"]
