"""``file`` and ``file_stream``: headers, conditional requests (304), byte ranges (206/416).

Most tests go through ``app.test_client()`` (the real h11 code over memory streams); a few
call `FileResponse` directly to see how it writes; the last ones use a real socket (rules in
``tests/netutil.py``: port 0, ``fail_after``, the test closes its client first).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from trioweb import App
from trioweb.files import FileResponse, content_disposition, guess_content_type
from trioweb.request import Request
from trioweb.response import BaseHTTPResponse, HeaderList, file, file_stream

from .netutil import TIMEOUT, running

CONTENT = bytes(range(256)) * 1000  # 256,000 bytes, every offset's value is predictable
SIZE = len(CONTENT)
MTIME_NS = 1_700_000_000_123_456_789
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"  # MTIME_NS to the second
ETAG = f'"{MTIME_NS:x}-{SIZE:x}"'
EARLIER = "Tue, 14 Nov 2023 22:13:19 GMT"
LATER = "Tue, 14 Nov 2023 22:13:21 GMT"

Make = Callable[[Path], Awaitable[BaseHTTPResponse]]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return path


def make_app(path: Path, make: Make) -> App:
    app = App("files")

    @app.route("/f", methods=["GET", "POST"])
    async def handler(request: Request) -> BaseHTTPResponse:
        return await make(path)

    return app


async def get(
    path: Path, make: Make, headers: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    async with make_app(path, make).test_client() as client:
        return await client.request(method, "/f", headers=headers)


def whole(path: Path) -> Awaitable[BaseHTTPResponse]:
    return file(path)


def streamed(path: Path) -> Awaitable[BaseHTTPResponse]:
    return file_stream(path, chunk_size=4096)


# Every conditional and range behaviour holds for both helpers.
both = pytest.mark.parametrize("make", [whole, streamed], ids=["file", "file_stream"])
both_ranges = pytest.mark.parametrize("helper", [file, file_stream], ids=["file", "file_stream"])


# --- whole files and their headers ----------------------------------------------------------------


@both
async def test_the_whole_file_with_validators_and_length(data_file: Path, make: Make) -> None:
    r = await get(data_file, make)
    assert r.status_code == 200
    assert r.content == CONTENT
    assert r.headers["content-length"] == str(SIZE)
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["last-modified"] == LAST_MODIFIED
    assert r.headers["etag"] == ETAG
    assert "transfer-encoding" not in r.headers
    assert "cache-control" not in r.headers


async def test_the_etag_changes_when_the_file_is_rewritten(data_file: Path) -> None:
    first = (await get(data_file, whole)).headers["etag"]
    os.utime(data_file, ns=(MTIME_NS + 1, MTIME_NS + 1))
    assert (await get(data_file, whole)).headers["etag"] != first


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.txt", "text/plain; charset=utf-8"),
        ("page.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("data.json", "application/json"),
        ("image.png", "image/png"),
        ("archive.unknownext", "application/octet-stream"),
        ("no-extension", "application/octet-stream"),
    ],
)
async def test_the_content_type_is_guessed_from_the_name(
    tmp_path: Path, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    r = await get(path, whole)
    assert r.headers["content-type"] == expected


async def test_mime_type_overrides_the_guess(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, mime_type="text/csv"))
    assert r.headers["content-type"] == "text/csv"


def test_guess_content_type_adds_a_charset_only_to_text() -> None:
    assert guess_content_type("a.txt") == "text/plain; charset=utf-8"
    assert guess_content_type(Path("a.gif")) == "image/gif"


async def test_filename_makes_it_an_attachment_with_an_ascii_fallback(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, filename="résumé 2024.txt"))
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"resume 2024.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt"
    )


def test_content_disposition_never_lets_quotes_or_newlines_through() -> None:
    assert content_disposition('a"b\\c\r\nd') == (
        "attachment; filename=\"a_b_c__d\"; filename*=UTF-8''a%22b%5Cc%0D%0Ad"
    )
    assert content_disposition("日本.txt").startswith('attachment; filename=".txt";')
    assert content_disposition("日本").startswith('attachment; filename="download";')


async def test_max_age_and_no_store_set_cache_control(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, max_age=3600))
    assert r.headers["cache-control"] == "public, max-age=3600"
    r = await get(data_file, lambda p: file_stream(p, no_store=True))
    assert r.headers["cache-control"] == "no-store"


async def test_max_age_with_no_store_or_negative_is_refused(data_file: Path) -> None:
    with pytest.raises(ValueError, match="contradict"):
        await file(data_file, max_age=10, no_store=True)
    with pytest.raises(ValueError, match="max_age must not be negative"):
        await file_stream(data_file, max_age=-1)


async def test_given_headers_override_computed_ones_but_not_the_length(data_file: Path) -> None:
    given = {"cache-control": "private", "Content-Length": "1", "X-Extra": "yes"}
    r = await get(data_file, lambda p: file(p, max_age=60, headers=given))
    assert r.headers.get_list("cache-control") == ["private"]
    assert r.headers["content-length"] == str(SIZE)
    assert r.headers["x-extra"] == "yes"
    assert r.content == CONTENT


@both
async def test_head_sends_the_headers_and_length_only(data_file: Path, make: Make) -> None:
    r = await get(data_file, make, method="HEAD")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(SIZE)
    assert r.headers["etag"] == ETAG


async def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    r = await get(path, streamed)
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "0")


async def test_a_missing_file_raises_at_call_time_and_is_a_server_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError):
        await file(missing)
    with pytest.raises(FileNotFoundError):
        await file_stream(missing)
    r = await get(missing, whole)
    assert r.status_code == 500
    assert "nope.txt" not in r.text


async def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        await file(tmp_path)


async def test_file_stream_rejects_a_non_positive_chunk_size(data_file: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        await file_stream(data_file, chunk_size=0)


async def test_another_status_sends_the_file_whole_whatever_the_request(data_file: Path) -> None:
    # A custom error page is a file, not a cacheable, rangeable resource.
    headers = {"If-None-Match": ETAG, "Range": "bytes=0-1"}
    r = await get(data_file, lambda p: file(p, status=404), headers)
    assert r.status_code == 404
    assert r.content == CONTENT


# --- how the body is written ----------------------------------------------------------------------


class RecordingWriter:
    """A `ResponseWriter` that records what a response asks it to send."""

    def __init__(self) -> None:
        self.started = False
        self.calls: list[tuple[str, Any]] = []

    async def send_head(self, status: int, headers: HeaderList) -> None:
        self.started = True
        self.calls.append(("head", status))

    async def send_data(self, data: bytes) -> None:
        self.calls.append(("data", data))

    async def send_end(self) -> None:
        self.calls.append(("end", None))

    async def send_complete(self, status: int, headers: HeaderList, body: bytes) -> None:
        self.started = True
        self.calls.append(("complete", body))


async def test_file_stream_reads_and_sends_one_chunk_at_a_time(data_file: Path) -> None:
    writer = RecordingWriter()
    await (await file_stream(data_file, chunk_size=10_000)).write_to(writer)
    pieces = [data for kind, data in writer.calls if kind == "data"]
    assert writer.calls[0] == ("head", 200)
    assert writer.calls[-1] == ("end", None)
    assert [len(p) for p in pieces] == [10_000] * 25 + [6_000]
    assert b"".join(pieces) == CONTENT


async def test_file_reads_the_selected_bytes_in_one_go(data_file: Path) -> None:
    writer = RecordingWriter()
    await (await file(data_file)).write_to(writer)
    assert writer.calls == [("complete", CONTENT)]


async def test_a_file_that_shrank_fails_instead_of_sending_short(data_file: Path) -> None:
    response = await file_stream(data_file)
    await trio.Path(data_file).write_bytes(b"short")
    with pytest.raises(RuntimeError, match="shrank"):
        await response.write_to(RecordingWriter())


async def test_for_request_leaves_the_original_response_alone(data_file: Path) -> None:
    seen: list[BaseHTTPResponse] = []
    original = await file(data_file)
    app = App()

    @app.get("/f")
    async def handler(request: Request) -> BaseHTTPResponse:
        return original

    @app.on_response
    async def record(request: Request, response: BaseHTTPResponse) -> None:
        seen.append(response)

    async with app.test_client() as client:
        r = await client.get("/f", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    # Response middleware sees the 206 the client gets; the handler's response is unchanged.
    assert isinstance(seen[0], FileResponse)
    assert seen[0].status == 206
    assert original.status == 200
    assert original.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in original.headers


# --- conditional requests -------------------------------------------------------------------------


def assert_not_modified(r: httpx.Response, *, cache_control: str | None = None) -> None:
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == ETAG
    assert r.headers["last-modified"] == LAST_MODIFIED
    assert r.headers.get("cache-control") == cache_control
    assert "content-type" not in r.headers
    assert "content-length" not in r.headers
    assert "accept-ranges" not in r.headers


@both
@pytest.mark.parametrize(
    "if_none_match",
    [ETAG, f"W/{ETAG}", f'"other", {ETAG}', "*", f'"x",W/{ETAG} , "y"'],
    ids=["exact", "weak", "in-list", "star", "weak-in-list"],
)
async def test_a_matching_if_none_match_is_304(
    data_file: Path, make: Make, if_none_match: str
) -> None:
    assert_not_modified(await get(data_file, make, {"If-None-Match": if_none_match}))


async def test_304_keeps_cache_control(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, max_age=60), {"If-None-Match": ETAG})
    assert_not_modified(r, cache_control="public, max-age=60")


@pytest.mark.parametrize("if_none_match", ['"other"', f'"{MTIME_NS:x}"', ETAG.strip('"'), ""])
async def test_a_different_if_none_match_is_200(data_file: Path, if_none_match: str) -> None:
    r = await get(data_file, whole, {"If-None-Match": if_none_match})
    assert (r.status_code, r.content) == (200, CONTENT)


@pytest.mark.parametrize("since", [LAST_MODIFIED, LATER, "Wed, 01 Jan 2059 00:00:00 GMT"])
async def test_if_modified_since_not_older_than_the_file_is_304(
    data_file: Path, since: str
) -> None:
    assert_not_modified(await get(data_file, streamed, {"If-Modified-Since": since}))


@pytest.mark.parametrize("since", [EARLIER, "not a date", "Tue, 99 Nov 2023 25:61:00 GMT", ""])
async def test_if_modified_since_older_or_unparseable_is_200(data_file: Path, since: str) -> None:
    r = await get(data_file, streamed, {"If-Modified-Since": since})
    assert (r.status_code, r.content) == (200, CONTENT)


async def test_if_none_match_takes_precedence_over_if_modified_since(data_file: Path) -> None:
    headers = {"If-None-Match": '"other"', "If-Modified-Since": LATER}
    r = await get(data_file, whole, headers)
    assert r.status_code == 200


async def test_head_is_conditional_too(data_file: Path) -> None:
    assert_not_modified(await get(data_file, whole, {"If-None-Match": ETAG}, method="HEAD"))


async def test_only_get_and_head_are_conditional(data_file: Path) -> None:
    r = await get(data_file, whole, {"If-None-Match": ETAG, "Range": "bytes=0-1"}, "POST")
    assert (r.status_code, r.content) == (200, CONTENT)


# --- byte ranges ----------------------------------------------------------------------------------


@both
@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-9", 0, 9),
        ("bytes=1000-70000", 1000, 70000),  # crosses file_stream's chunk boundaries
        ("bytes=250000-", 250000, SIZE - 1),  # open end
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix
        ("bytes=-999999999", 0, SIZE - 1),  # a suffix longer than the file is all of it
        ("bytes=255990-999999999", 255990, SIZE - 1),  # end clamped
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),  # the last byte
        ("BYTES=5-9", 5, 9),  # the unit is case-insensitive
        ("bytes= 5-9", 5, 9),  # whitespace around a spec is allowed
        ("bytes=5-9,", 5, 9),  # an empty list element is not a second range
    ],
)
async def test_one_satisfiable_range_is_206(
    data_file: Path, make: Make, header: str, first: int, last: int
) -> None:
    r = await get(data_file, make, {"Range": header})
    assert r.status_code == 206
    assert r.content == CONTENT[first : last + 1]
    assert r.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.headers["content-length"] == str(last - first + 1)
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["etag"] == ETAG
    assert r.headers["accept-ranges"] == "bytes"


@both
@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",  # starts at the end
        f"bytes={SIZE + 10}-{SIZE + 20}",
        "bytes=9-3",  # ends before it starts
        "bytes=-0",  # a zero-length suffix
        "bytes=abc",
        "bytes=-",
        "bytes=1-2-3",
        "bytes=0x10-20",
        "bytes=",
        "bytes=5 - 9",  # whitespace inside a spec is malformed
    ],
)
async def test_an_unsatisfiable_or_malformed_byte_range_is_416(
    data_file: Path, make: Make, header: str
) -> None:
    r = await get(data_file, make, {"Range": header})
    assert r.status_code == 416
    assert r.content == b""
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.headers["content-length"] == "0"
    assert "content-type" not in r.headers


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-9",  # multipart/byteranges is not supported: the whole file instead
        "bytes=0-1, 999999999-",
        "items=0-5",  # another unit is ignored
        "0-5",
        "",
    ],
)
async def test_ranges_that_are_ignored_give_the_whole_file(data_file: Path, header: str) -> None:
    r = await get(data_file, streamed, {"Range": header})
    assert (r.status_code, r.content) == (200, CONTENT)
    assert "content-range" not in r.headers


HUGE = "9" * 5000  # more digits than Python converts to an int (4300)


@both
@pytest.mark.parametrize(
    ("header", "status", "first", "last"),
    [
        (f"bytes=0-{HUGE}", 206, 0, SIZE - 1),  # an end past the file is clamped
        (f"bytes=-{HUGE}", 206, 0, SIZE - 1),  # a suffix longer than the file is all of it
        (f"bytes={'0' * 5000}5-9", 206, 5, 9),  # leading zeros are still a small number
        (f"bytes={HUGE}-", 416, 0, 0),  # starts beyond the end
    ],
    ids=["huge-end", "huge-suffix", "zero-padded", "huge-start"],
)
async def test_byte_positions_with_thousands_of_digits_are_not_a_server_error(
    data_file: Path, make: Make, header: str, status: int, first: int, last: int
) -> None:
    r = await get(data_file, make, {"Range": header})
    assert r.status_code == status
    if status == 206:
        assert r.content == CONTENT[first : last + 1]


@pytest.mark.parametrize(
    "date",
    [
        f"Mon, 01 Jan {HUGE[:30]} 00:00:00 GMT",  # a year beyond a C long
        f"Mon, 01 Jan 2000 {HUGE[:30]}:00:00 GMT",  # an hour beyond a C long
        f"Mon, 01 Jan 2000 00:00:00 +{HUGE[:30]}",  # a zone offset beyond a C long
    ],
    ids=["year", "hour", "zone"],
)
async def test_an_overflowing_date_is_ignored_not_a_server_error(
    data_file: Path, date: str
) -> None:
    r = await get(data_file, whole, {"If-Modified-Since": date})
    assert (r.status_code, r.content) == (200, CONTENT)
    r = await get(data_file, whole, {"Range": "bytes=0-9", "If-Range": date})
    assert (r.status_code, r.content) == (200, CONTENT)


async def test_head_ignores_range(data_file: Path) -> None:
    r = await get(data_file, whole, {"Range": "bytes=0-9"}, method="HEAD")
    assert r.status_code == 200
    assert r.headers["content-length"] == str(SIZE)
    assert "content-range" not in r.headers


async def test_ranges_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    r = await get(path, whole, {"Range": "bytes=0-"})
    assert (r.status_code, r.headers["content-range"]) == (416, "bytes */0")
    r = await get(path, whole, {"Range": "bytes=-5"})  # no byte to select: the empty file
    assert (r.status_code, r.content) == (200, b"")


@pytest.mark.parametrize("if_range", [ETAG, LAST_MODIFIED])
async def test_a_matching_if_range_honours_the_range(data_file: Path, if_range: str) -> None:
    r = await get(data_file, streamed, {"Range": "bytes=10-19", "If-Range": if_range})
    assert (r.status_code, r.content) == (206, CONTENT[10:20])


@pytest.mark.parametrize("if_range", ['"other"', f"W/{ETAG}", EARLIER, LATER, "garbage", ""])
async def test_a_non_matching_if_range_sends_the_whole_file(data_file: Path, if_range: str) -> None:
    # A weak tag never matches If-Range, and a date must equal Last-Modified exactly.
    r = await get(data_file, streamed, {"Range": "bytes=10-19", "If-Range": if_range})
    assert (r.status_code, r.content) == (200, CONTENT)


async def test_a_conditional_match_wins_over_a_range(data_file: Path) -> None:
    r = await get(data_file, whole, {"Range": "bytes=0-9", "If-None-Match": ETAG})
    assert r.status_code == 304


async def test_if_range_with_a_non_matching_etag_ignores_even_a_bad_range(
    data_file: Path,
) -> None:
    r = await get(data_file, whole, {"Range": "bytes=9-3", "If-Range": '"other"'})
    assert r.status_code == 200


# --- Sanic's signatures ---------------------------------------------------------------------------


async def test_file_takes_sanics_positional_order(data_file: Path) -> None:
    # location, status, request_headers, validate_when_requested, mime_type, headers, filename
    r = await get(data_file, lambda p: file(p, 200, None, True, "text/csv", {"X-A": "1"}, "a.csv"))
    assert r.headers["content-type"] == "text/csv"
    assert r.headers["x-a"] == "1"
    assert r.headers["content-disposition"].startswith('attachment; filename="a.csv"')


async def test_file_stream_takes_sanics_positional_order(data_file: Path) -> None:
    # location, status, chunk_size, mime_type, headers, filename
    r = await get(data_file, lambda p: file_stream(p, 200, 1000, "text/csv", {"X-A": "1"}))
    assert (r.content, r.headers["content-type"], r.headers["x-a"]) == (CONTENT, "text/csv", "1")


async def test_file_stream_reads_64_kib_at_a_time_by_default(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (3 * 65536 + 10))
    writer = RecordingWriter()
    await (await file_stream(big)).write_to(writer)
    pieces = [data for kind, data in writer.calls if kind == "data"]
    assert [len(p) for p in pieces] == [65536, 65536, 65536, 10]


async def test_file_with_a_mime_type_in_the_old_third_place_says_so(data_file: Path) -> None:
    with pytest.raises(TypeError, match="third argument is request_headers"):
        await file(data_file, 200, "text/csv")  # type: ignore[arg-type]


async def test_the_type_is_guessed_from_filename_before_the_path(tmp_path: Path) -> None:
    path = tmp_path / "upload-7f3a"
    path.write_bytes(b"%PDF")
    r = await get(path, lambda p: file(p, filename="report.pdf"))
    assert r.headers["content-type"] == "application/pdf"


async def test_request_headers_decide_the_304_in_the_handler(data_file: Path) -> None:
    app = App()
    statuses: list[int] = []

    @app.get("/f")
    async def handler(request: Request) -> BaseHTTPResponse:
        response = await file(data_file, request_headers=request.headers)
        statuses.append(response.status)  # known here, before the response is returned
        return response

    async with app.test_client() as client:
        r = await client.get("/f", headers={"if-modified-since": LAST_MODIFIED})
        assert_not_modified(r)
        r = await client.get("/f", headers={"If-None-Match": '"other"'})
        assert (r.status_code, r.content) == (200, CONTENT)
    assert statuses == [304, 200]


async def test_request_headers_may_be_a_plain_dict(data_file: Path) -> None:
    response = await file(data_file, request_headers={"If-None-Match": ETAG})
    assert response.status == 304
    response = await file(
        data_file, request_headers={"If-None-Match": ETAG}, validate_when_requested=False
    )
    assert response.status == 200


async def test_validate_when_requested_false_never_answers_304(data_file: Path) -> None:
    r = await get(
        data_file,
        lambda p: file(p, validate_when_requested=False),
        {"If-None-Match": ETAG, "If-Modified-Since": LATER},
    )
    assert (r.status_code, r.content) == (200, CONTENT)
    assert (r.headers["etag"], r.headers["last-modified"]) == (ETAG, LAST_MODIFIED)


@pytest.mark.parametrize(
    "last_modified",
    [
        datetime(2020, 2, 3, 4, 5, 6, 789, tzinfo=UTC),
        datetime(2020, 2, 3, 4, 5, 6),  # naive: UTC
        datetime(2020, 2, 3, 5, 5, 6, tzinfo=timezone(timedelta(hours=1))),
        1580702706.5,
        1580702706,
    ],
)
async def test_last_modified_may_be_given(data_file: Path, last_modified: Any) -> None:
    given = "Mon, 03 Feb 2020 04:05:06 GMT"
    r = await get(data_file, lambda p: file(p, last_modified=last_modified))
    assert r.headers["last-modified"] == given
    r = await get(
        data_file, lambda p: file(p, last_modified=last_modified), {"If-Modified-Since": given}
    )
    assert r.status_code == 304
    r = await get(
        data_file,
        lambda p: file(p, last_modified=last_modified),
        {"If-Modified-Since": "Mon, 03 Feb 2020 04:05:05 GMT"},
    )
    assert r.status_code == 200


async def test_last_modified_none_sends_none(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, last_modified=None), {"If-Modified-Since": LATER})
    assert (r.status_code, r.content) == (200, CONTENT)
    assert "last-modified" not in r.headers
    assert r.headers["etag"] == ETAG


async def test_a_bad_last_modified_is_refused(data_file: Path) -> None:
    with pytest.raises(TypeError, match="last_modified must be a datetime"):
        await file(data_file, last_modified="yesterday")  # type: ignore[arg-type]


async def test_max_age_may_be_a_float(data_file: Path) -> None:
    r = await get(data_file, lambda p: file(p, max_age=90.9))
    assert r.headers["cache-control"] == "public, max-age=90"


@dataclass
class Span:
    """Sanic's range shape: ``start`` and ``end`` (inclusive)."""

    start: int
    end: int


@both_ranges
async def test_a_given_range_is_sent_as_206(data_file: Path, helper: Any) -> None:
    r = await get(data_file, lambda p: helper(p, _range=Span(10, 19)))
    assert (r.status_code, r.content) == (206, CONTENT[10:20])
    assert r.headers["content-range"] == f"bytes 10-19/{SIZE}"
    r = await get(data_file, lambda p: helper(p, _range=Span(SIZE - 2, SIZE + 100)))
    assert (r.status_code, r.content) == (206, CONTENT[-2:])


async def test_a_given_range_outside_the_file_is_refused(data_file: Path) -> None:
    with pytest.raises(ValueError, match="is not inside"):
        await file(data_file, _range=Span(SIZE, SIZE + 5))
    with pytest.raises(ValueError, match="is not inside"):
        await file_stream(data_file, _range=Span(9, 3))


async def test_a_304_keeps_the_callers_other_headers_and_cookies(data_file: Path) -> None:
    app = App()

    @app.get("/f")
    async def handler(request: Request) -> BaseHTTPResponse:
        response = await file(
            data_file,
            filename="data.bin",
            headers={"X-Trace": "7", "Content-Language": "en", "Vary": "Accept"},
        )
        response.add_cookie("seen", "1")
        return response

    async with app.test_client() as client:
        r = await client.get("/f", headers={"If-None-Match": ETAG})
    assert_not_modified(r)
    assert (r.headers["x-trace"], r.headers["vary"]) == ("7", "Accept")
    assert "seen=1" in r.headers["set-cookie"]
    assert "content-disposition" not in r.headers
    assert "content-language" not in r.headers


# --- through a real socket ------------------------------------------------------------------------


async def test_a_large_streamed_file_and_a_range_over_a_socket(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    payload = os.urandom(3 * 1024 * 1024 + 7)
    big.write_bytes(payload)
    app = make_app(big, lambda p: file_stream(p, chunk_size=64 * 1024))
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            async with httpx.AsyncClient(base_url=server.url) as client:
                r = await client.get("/f")
                assert (r.status_code, r.content) == (200, payload)
                etag = r.headers["etag"]
                r = await client.get("/f", headers={"Range": "bytes=1000000-", "If-Range": etag})
                assert r.status_code == 206
                assert r.content == payload[1_000_000:]
                size = len(payload)
                assert r.headers["content-range"] == f"bytes 1000000-{size - 1}/{size}"
                r = await client.get("/f", headers={"If-None-Match": etag})
                assert (r.status_code, r.content) == (304, b"")
                r = await client.head("/f")
                assert (r.status_code, r.content) == (200, b"")
                assert r.headers["content-length"] == str(len(payload))
