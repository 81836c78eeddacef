"""The fast path, fenced: every trick that buys read-path speed at some cost in plainness.

Public reads are nearly all the traffic, and ``scripts/bench.py`` holds them to
a bare aiohttp app serving the same bytes (figures and method:
``docs/benchmarks.md``). What makes that possible is listed here, each with
its measured gain (side by side with the previous build, from the benchmark
page) and the test that guards it. Tricks that reach into aiohttp live in this
package; the others live where their subject does and point back here.

aiohttp internals are used by ``prepared.py`` (it subclasses
``StreamResponse`` and sets its private fields as aiohttp's own ``Response``
does) and ``server_protocol.py`` (it subclasses ``RequestHandler``, ``Server``
and ``AppRunner``). aiohttp is pinned to the minor release these tests pass on
(``pyproject.toml``); ``tests/http/test_prepared.py`` compares the bytes on the
wire with aiohttp's, and ``tests/http/test_server_protocol.py`` checks the
internals the protocol reads; they fail first when an upgrade changes them.

1. Pre-serialised responses (``prepared.PreparedResponse``; heads made once per
   representation by ``http/published.PublishedResponses`` and kept on it, so they
   go when it goes): status line, fixed headers and
   body in one write, no header multidict unless a header is added. A 304 went
   from 24.9 to 18.7 µs of CPU; with 2–3 and 10–13 the cached bundle went from
   0.60 to 0.96 of the ceiling. Guard: tests/http/test_prepared.py (keep-alive,
   Connection: close, HTTP/1.0, HEAD, 304, pipelining), tests/content/test_etag.py.
2. Deadlines without a timer per request (``deadlines.InFlightRequests``):
   requests whose deadlines share a 10 ms slot share one timer; two dict
   operations per request instead of ``asyncio.timeout``'s timer (~8 µs under
   uvloop). Same semantics. Guard: tests/http/test_inflight.py,
   tests/http/test_edge.py (504 on a slow handler).
3. The request's task is passed in, not looked up: ``asyncio.current_task()``
   and ``get_running_loop()`` each make a ``getpid`` system call on CPython 3.11
   (expensive on these VMs). With 4 and 5, ~3 µs a request; the page notes a
   full run cannot tell it from noise, and it stays because the third round
   showed the remaining gap *is* such ~1 µs pieces. Guard: tests/http/test_inflight.py.
4. The in-flight count lives in the edge (no second middleware layer, ~0.8 µs
   each in aiohttp). Guard: tests/cli/test_serve.py (shutdown waits for a
   request in flight).
5. Request metrics as plain numbers (``observability/metrics.HttpRequestStats``):
   dict arithmetic per request, Prometheus families built at scrape, instead of
   two locked ``prometheus_client`` calls (~1 µs). Guard:
   tests/observability/test_http_stats.py.
6. Each route's facts (deadline, limiter, access, label, streams) worked out
   once (``http/edge.py``, ``by_route``), not per request; a route that does not
   stream pays one boolean test for streaming (no ``StreamEdge`` is made). Guard:
   tests/http/test_openapi.py, tests/http/test_rate_limiting.py,
   tests/http/test_edge_streams.py.
7. Request ids from a random prefix and a counter (no ``urandom`` per request,
   as ``uuid4`` makes). Guard: tests/http/test_edge.py (ids unique, echoed).
8. The in-process cache is an ``OrderedDict`` of slots on the app clock
   (``cache/memory.py``): ``cachetools.TTLCache.get`` cost 0.8 µs a hit; a hit
   moves its key to the end (LRU) and eviction pops from the front, O(1) (the
   plain dict it replaced scanned every entry per insert once full: 140 µs
   instead of 0.8, issue 23). A hit is answered without an await
   (``PublishedReads.cached``). Guard: tests/cache/test_memory_cache.py,
   tests/content/test_read_cache.py.
9. Client-address hashes remembered per peer (``resilience/ratelimit.ClientHashes``):
   parsing and hashing cost ~3 µs. In-process limiter on/off 0.60 → 0.70.
   Guard: tests/http/test_rate_limiting.py.
10. The Redis limiter's takes of one event-loop turn share one script run
    (``resilience/ratelimit.py``): Redis limiter on/off 0.23 → 0.48. Guard:
    tests/resilience/test_ratelimit_redis.py.
11. ``Date`` formatted once a second (``prepared.http_date``), as aiohttp does
    for its own responses, without importing its private helper. Guard:
    tests/http/test_prepared.py.
12. Public routes that are not idempotent call their handler directly
    (``http/edge.py``, ``direct``): no access/idempotency/audit frame, one
    coroutine fewer per read. Cached type/slug read: 210k → 187k instructions
    (``scripts/instructions_bench.py``, 1,000 requests). Guard: every public-read
    test, tests/http/test_edge.py.
13. Large bodies after the head in slices of the cached bytes, the socket drained
    between them (``prepared.LARGE_BODY``), instead of one joined copy per response:
    32 readers of a 22.7 MB bundle held 32 copies (RSS 828 MB, issue 23; after:
    93.5 MB, docs/benchmarks.md, "Read path at scale"). Guard: tests/http/test_prepared.py
    (large cases; a slow pipelined reader).
14. Encodings made once per content version and kept with the cached bytes
    (``cache/read_through.ReadThroughCache.variant``; zstd/gzip in
    ``http/content_coding.py``, large bodies in a worker thread), and the coding
    chosen once per distinct ``Accept-Encoding`` value (``PublishedResponses._coding``):
    a cached gzip bundle at 1,000 items ran at 1.26 × the ceiling serving the same
    gzip bytes (docs/benchmarks.md). Guard: tests/http/test_content_coding.py.
15. Lists and the bundle are rendered from each item's stored ``data`` text as it
    is (``content.models.wire_from_row``, ``orjson.Fragment``), not parsed and
    encoded again: half of a 10,000-item rebuild. Guard:
    tests/content/test_public_reads.py (odd spacing and non-object values read
    the same in lists, the bundle and single reads).
16. Connection limits inside aiohttp's protocol (``server_protocol.EdgeProtocol``,
    issue 15): a head timer only on a connection's first request or when a read
    leaves a head incomplete, a body timer only when a parsed request's body is
    not all there, the HTTP version checked on the parsed message; a whole head in
    one read (nearly every request) arms no timer. Not a speed-up but a cost kept
    small: instructions per cached read in docs/benchmarks.md ("Edge hardening").
    Guard: tests/http/test_server_protocol.py, tests/http/test_stalled_sockets.py.
"""
