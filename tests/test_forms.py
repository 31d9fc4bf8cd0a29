"""Form bodies: ``request.form`` and ``request.files``, end to end and through `FormParser`.

Requests go through ``app.test_client()`` (httpx builds the multipart bodies with ``files=``
and ``data=``); malformed bodies are written by hand, because httpx only builds good ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from trioweb import App, Request
from trioweb.datastructures import RequestParameters
from trioweb.exceptions import BadRequest
from trioweb.forms import File, Form, FormParser
from trioweb.response import HTTPResponse, json

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def report(request: Request) -> dict[str, Any]:
    """What a handler saw: every field and every file, with repeats (grouped by name)."""
    return {
        "form": [[k, v] for k, values in request.form.items() for v in values],
        "files": [
            [k, f.name, f.type, f.body.decode("latin-1")]
            for k, files in request.files.items()
            for f in files
        ],
    }


async def post(**kwargs: Any) -> Any:
    """POST to a handler that reports its form; return the JSON report (asserting a 200)."""

    async def handler(request: Request) -> HTTPResponse:
        return json(report(request))

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        response = await client.post("/", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def post_status(body: bytes, content_type: str) -> tuple[int, str]:
    """POST a raw body to a handler that touches ``request.files``; return status and text."""

    async def handler(request: Request) -> HTTPResponse:
        return json(len(request.files))

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        response = await client.post("/", content=body, headers={"Content-Type": content_type})
    return response.status_code, response.text


# --- urlencoded --------------------------------------------------------------------------------


async def test_urlencoded_fields_repeats_and_blanks_dropped() -> None:
    body = {"name": "Zoë Smith", "tag": ["a", "b"], "empty": ""}
    assert await post(data=body) == {
        # A blank value is dropped, as Sanic (and request.args) do.
        "form": [["name", "Zoë Smith"], ["tag", "a"], ["tag", "b"]],
        "files": [],
    }


async def test_urlencoded_plus_percent_and_bare_names() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    content = b"a=x+y%2Bz&bare&c=%C3%A9"
    assert await post(content=content, headers=headers) == {
        # A bare name has an empty value: dropped, as in request.args.
        "form": [["a", "x y+z"], ["c", "é"]],
        "files": [],
    }


async def test_get_form_can_keep_blank_values() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "form": request.form,
                "kept": request.get_form(keep_blank_values=True),
                "cached": request.get_form(keep_blank_values=True)
                is request.get_form(keep_blank_values=True),
            }
        )

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        response = await client.post(
            "/",
            content=b"a=1&empty=&bare&a=2",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.json() == {
        "form": {"a": ["1", "2"]},
        "kept": {"a": ["1", "2"], "empty": [""], "bare": [""]},
        "cached": True,
    }


async def test_multipart_blank_fields_are_kept() -> None:
    # Sanic drops blank values only from urlencoded bodies; an empty multipart field stays.
    assert (await post(data={"empty": ""}, files={"f": ("f", b"x")}))["form"] == [["empty", ""]]


async def test_urlencoded_charset_parameter_is_honoured() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
    content = b"name=Zo%EB&raw=\xe9"
    assert (await post(content=content, headers=headers))["form"] == [
        ["name", "Zoë"],
        ["raw", "é"],
    ]


async def test_urlencoded_invalid_utf8_becomes_replacement_characters() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await post(content=b"k=%FF", headers=headers))["form"] == [["k", "\ufffd"]]


async def test_urlencoded_unknown_charset_is_400() -> None:
    status, text = await post_status(b"a=1", "application/x-www-form-urlencoded; charset=nope")
    assert (status, text) == (400, "400 unknown charset 'nope' in the form's Content-Type\n")


def _refuses_replace(codec: str) -> bool:
    try:
        b"a\xff".decode(codec, "replace")
    except UnicodeError:
        return True
    return False


# punycode honours errors="replace" from Python 3.13 on: there it is a usable text codec.
@pytest.mark.parametrize(
    "charset", ["rot13", "base64", "idna", *(["punycode"] if _refuses_replace("punycode") else [])]
)
async def test_urlencoded_charset_that_is_no_text_codec_is_400(charset: str) -> None:
    # Python knows these names, but they are no text encodings (or refuse errors="replace"):
    # decoding with them raised, and the client got a 500.
    status, text = await post_status(
        b"a=%FF", f"application/x-www-form-urlencoded; charset={charset}"
    )
    assert (status, text) == (400, f"400 unknown charset '{charset}' in the form's Content-Type\n")


# --- multipart ---------------------------------------------------------------------------------


async def test_multipart_fields_and_files() -> None:
    files = [
        ("upload", ("a.txt", b"first", "text/plain")),
        ("upload", ("b.bin", b"\x00\xff", "application/octet-stream")),
        ("avatar", ("me.png", b"PNG", "image/png")),
    ]
    assert await post(data={"title": "Hello", "tag": ["x", "y"]}, files=files) == {
        "form": [["title", "Hello"], ["tag", "x"], ["tag", "y"]],
        "files": [
            ["upload", "a.txt", "text/plain", "first"],
            ["upload", "b.bin", "application/octet-stream", "\x00\xff"],
            ["avatar", "me.png", "image/png", "PNG"],
        ],
    }


async def test_files_first_and_getlist() -> None:
    async def handler(request: Request) -> HTTPResponse:
        first = request.files["upload"][0]  # files["upload"] is the list, as in Sanic
        assert request.files.get("upload") is first
        return json(
            {
                "first": [first.name, first.body.decode()],
                "all": [f.name for f in request.files.getlist("upload")],
                "get": request.files.get("missing"),
                "none": request.files.getlist("missing"),
            }
        )

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    files = [("upload", ("1.txt", b"one")), ("upload", ("2.txt", b"two"))]
    async with app.test_client() as client:
        response = await client.post("/", files=files)
    assert response.json() == {
        "first": ["1.txt", "one"],
        "all": ["1.txt", "2.txt"],
        "get": None,
        "none": [],
    }


async def test_multipart_non_ascii_names_values_and_filenames() -> None:
    files = {"fichier": ("résumé.txt", "contenu é".encode(), "text/plain; charset=utf-8")}
    assert await post(data={"clé": "valeur ü"}, files=files) == {
        "form": [["clé", "valeur ü"]],
        "files": [["fichier", "résumé.txt", "text/plain; charset=utf-8", "contenu Ã©"]],
    }


async def test_multipart_body_keeps_crlf_and_boundary_lookalikes() -> None:
    content = b"line1\r\n--b0undar\r\n--\r\nend\r\n"
    files = {"f": ("x", content, "application/octet-stream")}
    assert (await post(files=files))["files"][0][3] == content.decode()


def raw_multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    """A multipart body from already-formatted parts (headers, blank line, content)."""
    delimiter = f"--{boundary}\r\n".encode()
    return b"".join(delimiter + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode()


async def test_part_without_content_type_is_text_plain_and_empty_filename_is_a_file() -> None:
    body = raw_multipart(
        b'Content-Disposition: form-data; name="doc"; filename="n.txt"\r\n\r\nabc',
        b'Content-Disposition: form-data; name="empty"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n",
    )
    assert await post(content=body, headers={"Content-Type": MULTIPART}) == {
        "form": [],
        "files": [
            ["doc", "n.txt", "text/plain", "abc"],
            ["empty", "", "application/octet-stream", ""],
        ],
    }


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        pytest.param(b"filename*=UTF-8''na%C3%AFve.txt", "naïve.txt", id="utf-8"),
        pytest.param(b"filename*=utf-8'en'%E2%82%AC%20rates.csv", "€ rates.csv", id="language"),
        pytest.param(b"filename*=ISO-8859-1''caf%E9.txt", "café.txt", id="latin-1"),
        pytest.param(
            b"filename=\"fallback.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt", "été.txt", id="both"
        ),
        pytest.param(b"filename*=\"UTF-8''quoted%21.txt\"", "quoted!.txt", id="quoted"),
        pytest.param(b"filename*=nope''x%C3%A9.txt", "xé.txt", id="unknown-charset-as-utf-8"),
        pytest.param(b"filename*=base64''x%C3%A9.txt", "xé.txt", id="bytes-codec-as-utf-8"),
        pytest.param(b"filename*=idna''x%C3%A9.txt", "xé.txt", id="idna-as-utf-8"),
        pytest.param(b"filename*=UTF-8''..%2F..%2Fetc%00", "../../etc\x00", id="decoded-as-sent"),
    ],
)
async def test_rfc_5987_filename_makes_a_file(disposition: bytes, name: str) -> None:
    body = raw_multipart(
        b'Content-Disposition: form-data; name="f"; ' + disposition + b"\r\n\r\nabc"
    )
    assert await post(content=body, headers={"Content-Type": MULTIPART}) == {
        "form": [],
        "files": [["f", name, "text/plain", "abc"]],
    }


async def test_a_filename_star_inside_a_quoted_value_is_not_a_parameter() -> None:
    body = raw_multipart(
        b'Content-Disposition: form-data; name="f"; filename="a; filename*=UTF-8\'\'b"\r\n\r\nx'
    )
    files = (await post(content=body, headers={"Content-Type": MULTIPART}))["files"]
    assert files == [["f", "a; filename*=UTF-8''b", "text/plain", "x"]]


async def test_form_and_files_are_parsed_once_and_cached() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"form": request.form is request.form, "files": request.files is request.files})

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        response = await client.post("/", data={"a": "1"}, files={"f": ("f", b"x")})
    assert response.json() == {"form": True, "files": True}


async def test_other_content_types_give_an_empty_form_and_no_files() -> None:
    assert await post(json={"name": "x"}) == {"form": [], "files": []}
    assert await post(content=b"name=x", headers={"Content-Type": "text/plain"}) == {
        "form": [],
        "files": [],
    }


async def test_urlencoded_body_has_no_files() -> None:
    assert (await post(data={"a": "1"}))["files"] == []


# --- malformed multipart bodies are 400 ---------------------------------------------------------

GOOD_PART = b'Content-Disposition: form-data; name="a"\r\n\r\n1'


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        pytest.param(
            raw_multipart(GOOD_PART),
            "multipart/form-data",
            "multipart/form-data request has no boundary parameter",
            id="missing-boundary",
        ),
        pytest.param(
            b"this is not multipart at all",
            MULTIPART,
            "malformed multipart/form-data body: ",
            id="no-framing",
        ),
        pytest.param(
            raw_multipart(GOOD_PART)[:-12],
            MULTIPART,
            "malformed multipart/form-data body: the closing boundary is missing",
            id="truncated",
        ),
        pytest.param(
            raw_multipart(GOOD_PART, boundary="other"),
            MULTIPART,
            "malformed multipart/form-data body: ",
            id="wrong-boundary",
        ),
        pytest.param(
            raw_multipart(b"Content-Type: text/plain\r\n\r\nx"),
            MULTIPART,
            "a multipart/form-data part has no Content-Disposition header",
            id="no-disposition",
        ),
        pytest.param(
            raw_multipart(b"Content-Disposition: form-data\r\n\r\nx"),
            MULTIPART,
            'a multipart/form-data part has no "name" in Content-Disposition',
            id="no-name",
        ),
    ],
)
async def test_malformed_multipart_is_400(body: bytes, content_type: str, message: str) -> None:
    status, text = await post_status(body, content_type)
    assert status == 400
    assert text.startswith(f"400 {message}"), text


async def test_bad_form_does_not_stop_the_connection_serving() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(dict(request.form))

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        bad = await client.post("/", content=b"junk", headers={"Content-Type": MULTIPART})
        good = await client.post("/", data={"a": "1"})
    assert (bad.status_code, good.status_code, good.json()) == (400, 200, {"a": ["1"]})


# --- streaming routes --------------------------------------------------------------------------


async def test_streaming_route_form_is_empty_until_the_body_is_received() -> None:
    async def handler(request: Request) -> HTTPResponse:
        before = {"form": dict(request.form), "files": len(request.files)}
        await request.receive_body()
        return json({"before": before, "after": report(request)})

    app = App()
    app.add_route(handler, "/", methods=["POST"], stream=True)
    async with app.test_client() as client:
        response = await client.post("/", data={"a": "1"}, files={"f": ("f.txt", b"x")})
    assert response.json() == {
        "before": {"form": {}, "files": 0},
        "after": {"form": [["a", "1"]], "files": [["f", "f.txt", "text/plain", "x"]]},
    }


# --- FormParser and File directly ---------------------------------------------------------------


async def parse(content_type: str, body: bytes, step: int | None = None) -> Form:
    """Feed ``body`` to a `FormParser` whole, or ``step`` bytes at a time."""
    parser = FormParser(content_type)
    step = step or max(len(body), 1)
    for start in range(0, len(body), step):
        await parser.feed(body[start : start + step])
    return await parser.finish()


async def test_form_parser_of_an_empty_urlencoded_body_is_empty() -> None:
    form = await parse("application/x-www-form-urlencoded", b"")
    assert (len(form.fields), len(form.files)) == (0, 0)


def test_form_parser_refuses_multipart_without_a_boundary() -> None:
    with pytest.raises(BadRequest, match="no boundary parameter"):
        FormParser("multipart/form-data")


def test_form_parser_refuses_a_type_that_is_no_form() -> None:
    with pytest.raises(ValueError, match="not a form content type"):
        FormParser("application/json")


async def test_form_parser_content_type_is_case_insensitive() -> None:
    form = await parse(f"Multipart/Form-Data; boundary={BOUNDARY}", raw_multipart(GOOD_PART))
    assert form.fields == {"a": ["1"]}


@pytest.mark.parametrize("step", [None, 1, 7])
async def test_form_parser_gives_the_same_form_whole_or_byte_by_byte(step: int | None) -> None:
    body = raw_multipart(
        GOOD_PART,
        b'Content-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/csv\r\n\r\nx,y\r\n1,2",
    )
    form = await parse(MULTIPART, body, step)
    assert form.fields == {"a": ["1"]}
    upload = form.files.get("f")
    assert upload is not None
    assert (upload.name, upload.type, upload.body) == ("a.txt", "text/csv", b"x,y\r\n1,2")
    urlencoded = await parse("application/x-www-form-urlencoded", b"a=1&b=&a=%C3%A9+x", step)
    assert urlencoded.fields == {"a": ["1", "é x"]}
    assert urlencoded.all_fields == {"a": ["1", "é x"], "b": [""]}


def test_file_in_memory_compares_by_value_and_is_slotted() -> None:
    upload = File("a.txt", "text/plain", b"x")
    assert not hasattr(upload, "__dict__")
    assert upload == File("a.txt", "text/plain", b"x")
    assert upload != File("a.txt", "text/plain", b"y")
    assert (upload.size, upload.in_memory) == (1, True)


def test_file_body_must_be_bytes() -> None:
    with pytest.raises(TypeError, match=r"File\.body must be bytes, not str"):
        File("a.txt", "text/plain", "x")  # type: ignore[arg-type]


def test_request_parameters_are_generic_over_their_values() -> None:
    files = RequestParameters.from_pairs([("f", File("a", "t", b"1")), ("f", File("b", "t", b"2"))])
    first = files.get("f")
    assert first is not None
    assert first.name == "a"
    assert [f.name for f in files["f"]] == ["a", "b"]
    assert [f.name for f in files.getlist("f")] == ["a", "b"]
    assert RequestParameters[str].from_pairs([("k", "v")]).getlist("k") == ["v"]
