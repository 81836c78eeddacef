"""Content codings of public reads (RFC 9110 §8.4, §12.5.3): which we can make, which a request accepts.

    Accept-Encoding = #( codings [ weight ] )
    codings         = content-coding / "identity" / "*"
    weight          = OWS ";" OWS "q=" qvalue

- ``zstd`` (``compression.zstd`` from Python 3.14, its backport
  ``backports.zstd`` before: a dependency) and gzip (the standard library).
  Brotli is left out on purpose: at the levels a service can afford, zstd's
  ratio equals it in a quarter of the time, and its wheel would add 1.4 MB to
  ``folionaut.pyz`` (docs/benchmarks.md, "Compression"). A build without zstd
  still answers, with gzip.
- The coding with the highest q wins; among equals, the order of ``CODINGS``
  (smallest output first). A coding with q=0 is refused; ``*`` stands for every
  coding not named; ``x-gzip`` means gzip (§8.4.1.3); names are case-insensitive.
  A member that does not parse is ignored, not the whole header.
- No header means identity (what browsers and proxies that send nothing expect),
  as does a header that accepts none of ours, even with ``identity;q=0``: we
  have nothing better to offer, and a full answer is more useful than a 406.
- Bodies under ``MIN_ENCODED_BYTES`` are never encoded: the headers would eat
  the gain. Levels depend on the size: the best ratio up to 1 MiB, a fast
  level above (an encoding is made once per content version, but a 20 MB
  bundle at gzip 9 would still keep its first reader waiting for seconds).
  Large bodies are encoded in a worker thread (zlib and zstd release
  the GIL), so other requests are answered meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import zlib
from collections.abc import Callable
from typing import Any

__all__ = ["CODINGS", "MIN_ENCODED_BYTES", "choose_coding", "encode", "parse_accept_encoding"]

MIN_ENCODED_BYTES = 1024
_LARGE = 1 << 20
_IN_THREAD = 64 * 1024


def _gzip(body: bytes, large: bool) -> bytes:
    # A gzip member with mtime 0: the same body gives the same bytes on every instance.
    compressor = zlib.compressobj(5 if large else 9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    return zstd


def _zstd(body: bytes, large: bool) -> bytes:
    return bytes(_zstd_module().compress(body, level=3 if large else 15))


def _available() -> dict[str, Callable[[bytes, bool], bytes]]:
    # Found, not imported: the module is loaded on the first encoding (start-up time).
    codecs: dict[str, Callable[[bytes, bool], bytes]] = {}
    if importlib.util.find_spec("compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd"):
        codecs["zstd"] = _zstd
    codecs["gzip"] = _gzip
    return codecs


_CODECS = _available()
#: The codings we can make, best first (the tie-break between equal q-values).
CODINGS: tuple[str, ...] = tuple(_CODECS)
_ALIASES = {"x-gzip": "gzip"}
_OWS = " \t"


def _qvalue(text: str) -> float | None:
    """qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); None when it does not parse."""
    if not text or len(text) > 5 or text[0] not in "01" or (len(text) > 1 and text[1] != "."):
        return None
    if not text[2:].isdigit() and text[2:] != "":
        return None
    value = float(text)
    return value if value <= 1 else None


def parse_accept_encoding(header: str) -> dict[str, float]:
    """coding (lower case, aliases resolved) → q. Unparseable members are left out."""
    accepted: dict[str, float] = {}
    for member in header.split(","):
        name, _, params = member.partition(";")
        name = name.strip(_OWS).lower()
        if not name:
            continue
        q: float | None = 1.0
        for param in params.split(";") if params else ():
            key, _, value = param.strip(_OWS).partition("=")
            if key.strip(_OWS).lower() == "q":
                q = _qvalue(value.strip(_OWS))
        if q is None:
            continue
        name = _ALIASES.get(name, name)
        accepted[name] = max(q, accepted[name]) if name in accepted else q  # named twice: the kinder
    return accepted


def choose_coding(header: str | None, available: tuple[str, ...] = CODINGS) -> str:
    """The coding to answer with: one of ``available`` or ``"identity"``."""
    if not header:
        return "identity"
    accepted = parse_accept_encoding(header)
    anything = accepted.get("*", 0.0)
    best, best_q = "identity", 0.0
    for coding in available:
        q = accepted.get(coding, anything)
        if q > best_q:
            best, best_q = coding, q
    identity_q = accepted.get("identity")
    if identity_q is not None and identity_q > best_q:
        return "identity"
    return best


async def encode(coding: str, body: bytes) -> bytes | None:
    """``body`` in ``coding``, or None when it should go as it is (tiny, or encoding does not shrink it)."""
    if len(body) < MIN_ENCODED_BYTES:
        return None
    codec = _CODECS[coding]
    large = len(body) > _LARGE
    if len(body) > _IN_THREAD:
        encoded = await asyncio.to_thread(codec, body, large)
    else:
        encoded = codec(body, large)
    return encoded if len(encoded) < len(body) else None
