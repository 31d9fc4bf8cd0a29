"""Proxy headers: ``client_ip``, ``remote_addr``, ``scheme`` and ``host`` behind proxies.

The test client's peer is 127.0.0.1, so ``client_ip == "127.0.0.1"`` means no proxy header was
believed. Every setting is tested with what it must trust and what it must ignore: a client
can send any header, so an untrusted or spoofed one must change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from trioweb import App, Request
from trioweb.datastructures import Headers
from trioweb.proxy import node_address, parse_forwarded_header, resolve_forwarded
from trioweb.response import HTTPResponse, json

PEER = "127.0.0.1"
SECRET = "s3cret"


async def seen(headers: dict[str, str] | list[tuple[str, str]], **config: Any) -> dict[str, Any]:
    """What a handler on an app with ``config`` reports for a GET with ``headers``."""
    app = App()
    app.config.update(config)

    @app.get("/p")
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "client_ip": request.client_ip,
                "remote_addr": request.remote_addr,
                "ip": request.ip,
                "scheme": request.scheme,
                "host": request.host,
                "url": request.url,
            }
        )

    async with app.test_client() as client:
        response = await client.get("/p", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


UNTRUSTED = {"scheme": "http", "host": "testserver", "url": "http://testserver/p"}

SPOOFS = {
    "X-Forwarded-For": "6.6.6.6, 7.7.7.7",
    "X-Real-IP": "6.6.6.6",
    "Forwarded": f'for=6.6.6.6;proto=https;host=evil.example;secret="{SECRET}x"',
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


# --- nothing is trusted by default --------------------------------------------------------------


async def test_by_default_every_proxy_header_is_ignored() -> None:
    assert await seen(SPOOFS) == {
        "client_ip": PEER,
        "remote_addr": "",
        "ip": PEER,
        **UNTRUSTED,
    }


async def test_proxies_count_zero_trusts_nothing() -> None:
    assert (await seen(SPOOFS, PROXIES_COUNT=0))["client_ip"] == PEER


# --- PROXIES_COUNT and X-Forwarded-For -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "3.3.3.3"), (2, "2.2.2.2"), (3, "1.1.1.1")],
)
async def test_proxies_count_takes_the_nth_address_from_the_right(
    count: int, expected: str
) -> None:
    result = await seen({"X-Forwarded-For": "1.1.1.1, 2.2.2.2,3.3.3.3"}, PROXIES_COUNT=count)
    assert (result["client_ip"], result["remote_addr"], result["ip"]) == (expected, expected, PEER)


async def test_spoofed_leftmost_entries_are_ignored() -> None:
    # The client sent "6.6.6.6"; the one proxy appended the address it saw, 9.9.9.9.
    headers = {"X-Forwarded-For": "6.6.6.6, 9.9.9.9"}
    assert (await seen(headers, PROXIES_COUNT=1))["client_ip"] == "9.9.9.9"


async def test_entries_of_repeated_header_lines_are_one_list() -> None:
    headers = [("X-Forwarded-For", "1.1.1.1, 2.2.2.2"), ("X-Forwarded-For", "3.3.3.3")]
    assert (await seen(headers, PROXIES_COUNT=2))["client_ip"] == "2.2.2.2"


async def test_proxies_count_beyond_the_list_trusts_nothing() -> None:
    headers = {
        "X-Forwarded-For": "1.1.1.1, 2.2.2.2",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
    }
    assert await seen(headers, PROXIES_COUNT=3) == {
        "client_ip": PEER,
        "remote_addr": "",
        "ip": PEER,
        **UNTRUSTED,
    }


async def test_proxies_count_without_the_header_trusts_nothing() -> None:
    assert await seen({"X-Forwarded-Proto": "https"}, PROXIES_COUNT=1) == {
        "client_ip": PEER,
        "remote_addr": "",
        "ip": PEER,
        **UNTRUSTED,
    }


async def test_trusted_x_forwarded_proto_and_host() -> None:
    headers = {
        "X-Forwarded-For": "1.1.1.1",
        "X-Forwarded-Proto": "HTTPS",
        "X-Forwarded-Host": "shop.example:8443",
    }
    assert await seen(headers, PROXIES_COUNT=1) == {
        "client_ip": "1.1.1.1",
        "remote_addr": "1.1.1.1",
        "ip": PEER,
        "scheme": "https",
        "host": "shop.example:8443",
        "url": "https://shop.example:8443/p",
    }


async def test_appended_proto_and_host_lists_are_read_at_the_same_position() -> None:
    headers = {
        "X-Forwarded-For": "6.6.6.6, 1.1.1.1, 10.0.0.1",
        "X-Forwarded-Proto": "ftp, https, http",
        "X-Forwarded-Host": "evil.example, shop.example, internal",
    }
    result = await seen(headers, PROXIES_COUNT=2)
    assert (result["client_ip"], result["scheme"], result["host"]) == (
        "1.1.1.1",
        "https",
        "shop.example",
    )


async def test_malformed_proto_and_host_are_ignored_even_when_trusted() -> None:
    headers = {
        "X-Forwarded-For": "1.1.1.1",
        "X-Forwarded-Proto": "ht tp",
        "X-Forwarded-Host": "evil.example/path",
    }
    result = await seen(headers, PROXIES_COUNT=1)
    assert (result["scheme"], result["host"]) == ("http", "testserver")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("1.1.1.1:5555", "1.1.1.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("unknown", ""),
        ("not-an-ip", ""),
    ],
)
async def test_x_forwarded_for_entries_are_normalised(entry: str, expected: str) -> None:
    result = await seen({"X-Forwarded-For": entry}, PROXIES_COUNT=1)
    assert result["remote_addr"] == expected
    assert result["client_ip"] == (expected or PEER)


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
async def test_an_invalid_proxies_count_stops_the_server_from_starting(bad: Any) -> None:
    app = App()
    app.config.PROXIES_COUNT = bad

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return json(request.client_ip)  # pragma: no cover - never served

    with pytest.raises(ValueError, match="PROXIES_COUNT must be None or an int >= 0"):
        async with app.test_client():
            pass  # pragma: no cover


# --- REAL_IP_HEADER ------------------------------------------------------------------------------


async def test_real_ip_header_is_used_when_set() -> None:
    headers = {"X-Real-IP": "4.4.4.4", "X-Forwarded-Proto": "https"}
    result = await seen(headers, REAL_IP_HEADER="x-real-ip")
    assert (result["client_ip"], result["remote_addr"], result["scheme"]) == (
        "4.4.4.4",
        "4.4.4.4",
        "https",
    )


async def test_real_ip_header_wins_over_x_forwarded_for() -> None:
    headers = {"X-Real-IP": "4.4.4.4", "X-Forwarded-For": "1.1.1.1"}
    result = await seen(headers, REAL_IP_HEADER="X-Real-IP", PROXIES_COUNT=1)
    assert result["client_ip"] == "4.4.4.4"


async def test_missing_real_ip_header_falls_back_to_proxies_count() -> None:
    headers = {"X-Forwarded-For": "1.1.1.1"}
    result = await seen(headers, REAL_IP_HEADER="x-real-ip", PROXIES_COUNT=1)
    assert result["client_ip"] == "1.1.1.1"
    assert (await seen(headers, REAL_IP_HEADER="x-real-ip"))["client_ip"] == PEER


async def test_other_real_ip_headers_are_not_read() -> None:
    result = await seen({"X-Real-IP": "4.4.4.4"}, REAL_IP_HEADER="cf-connecting-ip")
    assert result["client_ip"] == PEER


# --- FORWARDED_SECRET and RFC 7239 Forwarded ------------------------------------------------------


async def test_forwarded_element_with_the_secret_is_trusted() -> None:
    headers = {
        "Forwarded": f"for=6.6.6.6;proto=https, for=1.2.3.4;proto=https;host=shop.example;"
        f"secret={SECRET}"
    }
    assert await seen(headers, FORWARDED_SECRET=SECRET) == {
        "client_ip": "1.2.3.4",
        "remote_addr": "1.2.3.4",
        "ip": PEER,
        "scheme": "https",
        "host": "shop.example",
        "url": "https://shop.example/p",
    }


async def test_the_secret_may_be_the_proxys_by_identifier() -> None:
    # Sanic's documented setup: the proxy names itself by="_secret" instead of secret=.
    headers = {"Forwarded": "for=6.6.6.6, for=1.2.3.4;proto=https;by=_proxySecret"}
    report = await seen(headers, FORWARDED_SECRET="_proxySecret")
    assert (report["client_ip"], report["scheme"]) == ("1.2.3.4", "https")
    guessed = {"Forwarded": "for=6.6.6.6;proto=https;by=_proxyGuess"}
    assert await seen(guessed, FORWARDED_SECRET="_proxySecret") == {
        "client_ip": PEER,
        "remote_addr": "",
        "ip": PEER,
        **UNTRUSTED,
    }


async def test_wrong_forwarded_secret_is_ignored() -> None:
    headers = {"Forwarded": "for=6.6.6.6;proto=https;host=evil.example;secret=guess"}
    assert await seen(headers, FORWARDED_SECRET=SECRET) == {
        "client_ip": PEER,
        "remote_addr": "",
        "ip": PEER,
        **UNTRUSTED,
    }


async def test_forwarded_is_ignored_without_a_secret_configured() -> None:
    headers = {"Forwarded": f"for=1.2.3.4;proto=https;secret={SECRET}"}
    assert (await seen(headers))["client_ip"] == PEER


async def test_the_rightmost_element_with_the_secret_wins() -> None:
    # A client that learnt the secret once cannot override the proxy's own, later element.
    headers = [
        ("Forwarded", f"for=6.6.6.6;secret={SECRET}"),
        ("Forwarded", f"for=1.2.3.4;secret={SECRET}, for=10.0.0.1"),
    ]
    assert (await seen(headers, FORWARDED_SECRET=SECRET))["client_ip"] == "1.2.3.4"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f'for="[2001:DB8::17]:4711";secret={SECRET}', "2001:db8::17"),
        (f'FOR="1.2.3.4:80"; Secret="{SECRET}"', "1.2.3.4"),
        (f"for=_hidden;secret={SECRET}", "_hidden"),
        (f'for="_Obf:_port";secret={SECRET}', "_Obf"),
    ],
)
async def test_forwarded_for_forms(value: str, expected: str) -> None:
    result = await seen({"Forwarded": value}, FORWARDED_SECRET=SECRET)
    assert (result["client_ip"], result["remote_addr"]) == (expected, expected)


async def test_forwarded_for_unknown_keeps_the_peer_but_trusts_proto() -> None:
    headers = {"Forwarded": f"for=unknown;proto=https;secret={SECRET}"}
    result = await seen(headers, FORWARDED_SECRET=SECRET)
    assert (result["client_ip"], result["remote_addr"], result["scheme"]) == (PEER, "", "https")


async def test_x_forwarded_headers_are_not_trusted_by_a_forwarded_match() -> None:
    headers = {
        "Forwarded": f"for=1.2.3.4;secret={SECRET}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
    }
    result = await seen(headers, FORWARDED_SECRET=SECRET, PROXIES_COUNT=1)
    assert (result["client_ip"], result["scheme"], result["host"]) == (
        "1.2.3.4",
        "http",
        "testserver",
    )


async def test_forwarded_without_a_match_falls_back_to_x_forwarded_for() -> None:
    headers = {"Forwarded": "for=6.6.6.6;secret=guess", "X-Forwarded-For": "1.1.1.1"}
    result = await seen(headers, FORWARDED_SECRET=SECRET, PROXIES_COUNT=1)
    assert result["client_ip"] == "1.1.1.1"


@pytest.mark.parametrize(
    "value",
    [
        # A client's unterminated quote swallows the proxy's element up to its first quote.
        f'for=6.6.6.6;x=", for="[::1]";secret={SECRET}',
        # A repeated parameter makes the element invalid.
        f"for=6.6.6.6;for=1.1.1.1;secret={SECRET}",
        # Pairs must be separated by ";".
        f"for=6.6.6.6 secret={SECRET}",
    ],
)
async def test_malformed_forwarded_elements_are_not_trusted(value: str) -> None:
    assert (await seen({"Forwarded": value}, FORWARDED_SECRET=SECRET))["client_ip"] == PEER


async def test_client_junk_before_the_proxys_element_does_not_hide_it() -> None:
    value = f'for=6.6.6.6;x="unterminated, for=1.2.3.4;secret={SECRET}'
    assert (await seen({"Forwarded": value}, FORWARDED_SECRET=SECRET))["client_ip"] == "1.2.3.4"


async def test_numeric_secret_from_the_environment_still_matches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIOWEB_FORWARDED_SECRET", "12345")  # read as the str "12345"
    headers = {"Forwarded": "for=1.2.3.4;secret=12345"}
    assert (await seen(headers))["client_ip"] == "1.2.3.4"


# --- the parsers directly ------------------------------------------------------------------------


def test_parse_forwarded_header_elements() -> None:
    assert parse_forwarded_header(
        ['for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"', ",,"]
    ) == [
        {"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"},
        {"for": "[2001:db8:cafe::17]:4711"},
    ]


def test_parse_forwarded_header_unescapes_quoted_pairs() -> None:
    assert parse_forwarded_header(['for="_a\\"b";host="x, y"']) == [{"for": '_a"b', "host": "x, y"}]


def test_parse_forwarded_header_marks_malformed_elements() -> None:
    assert parse_forwarded_header(["for=a;for=b, junk here, for=c"]) == [None, None, {"for": "c"}]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:8080", "192.0.2.1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("[2001:db8::1]:80", "2001:db8::1"),
        ("[2001:db8::1", ""),
        ("unknown", ""),
        ("_gazonk", "_gazonk"),
        ("", ""),
        ("example.com", ""),
    ],
)
def test_node_address(node: str, expected: str) -> None:
    assert node_address(node) == expected


def test_resolve_forwarded_without_settings_reads_nothing() -> None:
    headers = Headers.from_pairs([("x-forwarded-for", "1.1.1.1"), ("x-real-ip", "2.2.2.2")])
    assert not resolve_forwarded(headers).trusted


# --- port, path and X-Scheme (Sanic's "other X-headers") ---------------------------------------


@pytest.mark.parametrize(
    ("pairs", "port", "path", "proto"),
    [
        pytest.param(
            [("x-forwarded-port", "8443"), ("x-forwarded-path", "/app/a%2Cb,c")],
            8443,
            "/app/a,b,c",
            None,
            id="port-and-path",
        ),
        pytest.param([("x-scheme", "HTTPS")], None, None, "https", id="x-scheme"),
        pytest.param(
            [("x-scheme", "ws"), ("x-forwarded-proto", "https")],
            None,
            None,
            "https",
            id="x-forwarded-proto-wins",
        ),
        pytest.param([("x-forwarded-port", "0")], None, None, None, id="port-zero"),
        pytest.param([("x-forwarded-port", "65536")], None, None, None, id="port-too-big"),
        pytest.param([("x-forwarded-port", "\xb2")], None, None, None, id="port-not-ascii"),
        pytest.param([("x-forwarded-path", "app")], None, None, None, id="path-not-absolute"),
    ],
)
def test_x_headers_report_port_path_and_x_scheme(
    pairs: list[tuple[str, str]], port: int | None, path: str | None, proto: str | None
) -> None:
    headers = Headers.from_pairs([("x-forwarded-for", "1.2.3.4"), *pairs])
    forwarded = resolve_forwarded(headers, proxies_count=1)
    assert (forwarded.port, forwarded.path, forwarded.proto) == (port, path, proto)


def test_forwarded_element_reports_port_and_path() -> None:
    headers = Headers.from_pairs(
        [("forwarded", f'for=1.2.3.4;port=1234;path="/With%20Space";secret={SECRET}')]
    )
    forwarded = resolve_forwarded(headers, forwarded_secret=SECRET)
    assert (forwarded.port, forwarded.path) == (1234, "/With Space")
