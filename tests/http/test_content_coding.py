"""Compressed public reads: Accept-Encoding with q-values, Vary, one ETag per coding, 304 per coding,
each encoding made once per content version, tiny bodies left alone."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from folionaut.cache.base import bundle_key
from folionaut.http.app import create_app
from folionaut.http.content_coding import CODINGS, MIN_ENCODED_BYTES, choose_coding, parse_accept_encoding
from folionaut.http.state import RUNTIME
from folionaut.settings import Settings

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

ADMIN = "/api/v1/admin/content"
BUNDLE = "/api/v1/content/bundle"
DECODE = {"gzip": gzip.decompress, "zstd": zstd.decompress}
#: A request without Accept-Encoding (aiohttp's client adds one of its own unless told not to).
PLAIN: dict[str, Any] = {"skip_auto_headers": ["Accept-Encoding"]}


def test_every_coding_the_service_can_make_is_there() -> None:
    assert CODINGS == ("zstd", "gzip")  # the dependency is installed: a missing one shows here


@pytest.mark.parametrize(("header", "chosen"), [
    (None, "identity"),
    ("", "identity"),
    ("gzip", "gzip"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip, deflate, br, zstd", "zstd"),  # equal q: the smallest output
    ("gzip, deflate, br", "gzip"),  # br is not made here
    ("gzip;q=1.0, zstd;q=0.5", "gzip"),
    ("zstd;q=0.3, gzip;q=0.1", "zstd"),
    ("zstd;q=0, gzip", "gzip"),
    ("*", "zstd"),
    ("*;q=0.5, gzip;q=0.9", "gzip"),
    ("*;q=0", "identity"),
    ("gzip;q=0", "identity"),
    ("identity", "identity"),
    ("identity;q=1, gzip;q=0.5", "identity"),
    ("gzip, identity;q=0", "gzip"),
    ("identity;q=0", "identity"),  # nothing else we could send: a whole answer beats a 406
    ("deflate, compress", "identity"),
    ("gzip;q=2, zstd;q=x, br;q=0.001", "identity"),  # bad q-values leave only that member out
    ("gzip;q=2, zstd;q=0.001", "zstd"),
    (" gzip ; q=0.8 ,, zstd ; Q=0.9 ", "zstd"),
])
def test_the_coding_follows_accept_encoding(header: str | None, chosen: str) -> None:
    assert choose_coding(header) == chosen


def test_parse_keeps_each_codings_best_q() -> None:
    assert parse_accept_encoding("gzip;q=0.1, gzip;q=0.7, br") == {"gzip": 0.7, "br": 1.0}


async def raw_client(aiohttp_client: Any, settings: Settings) -> Any:
    # auto_decompress off: the test sees the bytes on the wire, as a cache between would.
    return await aiohttp_client(create_app(settings), auto_decompress=False)


async def publish_portfolio(client: Any, headers: dict[str, str], count: int = 12) -> None:
    for number in range(count):
        response = await client.post(ADMIN, headers=headers, json={
            "type": "project", "slug": f"p-{number}", "status": "published",
            "data": {"title": f"Project {number}", "summary": "A portfolio item with some words " * 6}})
        assert response.status == 201


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
async def test_the_bundle_comes_encoded_with_its_own_etag_and_a_304_per_coding(
        aiohttp_client: Any, settings: Settings, admin_headers: dict[str, str], coding: str) -> None:
    client = await raw_client(aiohttp_client, settings)
    await publish_portfolio(client, admin_headers)
    plain = await client.get(BUNDLE, **PLAIN)
    plain_body = await plain.read()
    assert len(plain_body) > MIN_ENCODED_BYTES
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"

    encoded = await client.get(BUNDLE, headers={"Accept-Encoding": f"{coding}, identity;q=0.5"})
    body = await encoded.read()
    assert encoded.status == 200
    assert encoded.headers["Content-Encoding"] == coding
    assert encoded.headers["Vary"] == "Accept-Encoding"
    assert int(encoded.headers["Content-Length"]) == len(body) < len(plain_body)
    assert DECODE[coding](body) == plain_body
    etag = encoded.headers["ETag"]
    assert etag == plain.headers["ETag"][:-1] + f'-{coding}"'  # a representation of its own (RFC 9110 §8.8.3)

    # The client revalidates with what it holds, asking the same way: 304, saying the same about caching.
    again = await client.get(BUNDLE, headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["ETag"] == etag and again.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in again.headers
    # The identity copy's ETag validates the identity copy only, and the other way round.
    assert (await client.get(BUNDLE, headers={"If-None-Match": plain.headers["ETag"]}, **PLAIN)).status == 304
    assert (await client.get(BUNDLE, headers={"If-None-Match": etag}, **PLAIN)).status == 200
    crossed = await client.get(BUNDLE, headers={"Accept-Encoding": coding, "If-None-Match": plain.headers["ETag"]})
    assert crossed.status == 200 and crossed.headers["Content-Encoding"] == coding
    # HEAD: the same head, no body.
    head = await client.head(BUNDLE, headers={"Accept-Encoding": coding})
    assert head.headers["Content-Length"] == str(len(body)) and head.headers["ETag"] == etag


async def test_each_encoding_is_made_once_per_content_version(
        aiohttp_client: Any, settings: Settings, admin_headers: dict[str, str]) -> None:
    app = create_app(settings)
    client = await aiohttp_client(app, auto_decompress=False)
    await publish_portfolio(client, admin_headers)
    first = await client.get(BUNDLE, headers={"Accept-Encoding": "gzip"})
    first_body = await first.read()
    entry = app[RUNTIME].content_cache.peek(bundle_key())
    assert entry is not None
    variant = entry.variants["gzip"]
    for _ in range(3):
        response = await client.get(BUNDLE, headers={"Accept-Encoding": "gzip"})
        assert await response.read() == first_body
    assert app[RUNTIME].content_cache.peek(bundle_key()).variants["gzip"] is variant  # kept, not remade

    # A new version of the content: new bytes, a new ETag, encoded anew.
    created = await client.post(ADMIN, headers=admin_headers, json={
        "type": "post", "slug": "news", "status": "published", "data": {"title": "News"}})
    assert created.status == 201
    after = await client.get(BUNDLE, headers={"Accept-Encoding": "gzip"})
    assert after.headers["ETag"] != first.headers["ETag"]
    assert b'"news"' in gzip.decompress(await after.read())


async def test_tiny_bodies_go_as_they_are(aiohttp_client: Any, settings: Settings,
                                          admin_headers: dict[str, str]) -> None:
    client = await raw_client(aiohttp_client, settings)
    created = await client.post(ADMIN, headers=admin_headers, json={
        "type": "project", "slug": "tiny", "status": "published", "data": {"title": "T"}})
    assert created.status == 201
    response = await client.get("/api/v1/content/project/tiny", headers={"Accept-Encoding": "gzip, zstd"})
    body = await response.read()
    assert len(body) < MIN_ENCODED_BYTES
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"
    assert b'"tiny"' in body
    plain = await client.get("/api/v1/content/project/tiny", **PLAIN)
    assert response.headers["ETag"] == plain.headers["ETag"]  # the same representation, so the same tag
    conditional = await client.get("/api/v1/content/project/tiny",
                                   headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]})
    assert conditional.status == 304


async def test_a_browser_client_decodes_what_it_asked_for(client: Any, admin_headers: dict[str, str]) -> None:
    # aiohttp's client (as a browser) sends Accept-Encoding and decodes: the JSON reads the same.
    await publish_portfolio(client, admin_headers)
    response = await client.get("/api/v1/content", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    items = (await response.json())["data"]
    assert sorted(item["slug"] for item in items) == sorted(f"p-{n}" for n in range(12))
