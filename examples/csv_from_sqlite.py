"""Stream database rows to the client as CSV while they are read: the trio version of the
asyncpg example in Sanic's streaming docs.

sqlite3 blocks, so each batch of rows is fetched in a worker thread with
``trio.to_thread.run_sync``; the event loop keeps serving other requests meanwhile. Each
``await response.write()`` waits while the client is slow, so a slow client slows the reading
of the database instead of filling memory.

Run it with ``python examples/csv_from_sqlite.py`` and fetch ``/numbers.csv?upto=100000``.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import trio

from trioweb import App, Request
from trioweb.exceptions import BadRequest
from trioweb.response import StreamingHTTPResponse, stream

app = App("csv_from_sqlite")
app.config.DATABASE = ":memory:"

BATCH = 1000
MAX_ROWS = 10_000_000


def _connect(path: str | Path) -> sqlite3.Connection:
    # Worker threads use the connection one at a time, never concurrently.
    return sqlite3.connect(path, check_same_thread=False)


@app.get("/numbers.csv")
async def numbers(request: Request) -> StreamingHTTPResponse:
    try:
        upto = int(request.args.get("upto", "10"))
    except ValueError:
        raise BadRequest("upto must be a whole number") from None
    if not 0 <= upto <= MAX_ROWS:
        raise BadRequest(f"upto must be between 0 and {MAX_ROWS}")

    async def stream_rows(response: StreamingHTTPResponse) -> None:
        db = await trio.to_thread.run_sync(_connect, request.app.config.DATABASE)
        try:
            cursor = await trio.to_thread.run_sync(
                db.execute,
                "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series "
                "WHERE n < ?) SELECT n, n * n FROM series WHERE n <= ?",
                (upto, upto),
            )
            await response.write("n,square\n")
            while rows := await trio.to_thread.run_sync(cursor.fetchmany, BATCH):
                buffer = io.StringIO()
                csv.writer(buffer).writerows(rows)
                await response.write(buffer.getvalue())
        finally:
            await trio.to_thread.run_sync(db.close)

    return stream(stream_rows, content_type="text/csv; charset=utf-8")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
