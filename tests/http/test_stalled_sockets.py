"""Hundreds of stalled sockets against `folionaut serve` under a 256-descriptor limit: normal requests are
still answered (issue 15: 300 silent sockets used to make every request fail with a reset)."""

from __future__ import annotations

import re
import resource
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import ENTRY, clean_env
from tests.helpers.prerequisites import missing
from tests.helpers.served import ServerProcess

DESCRIPTORS = 256
STALLED = 300
#: The server's descriptor limit, soft and hard, set before it starts (it cannot raise it).
LAUNCHER = (
    "import resource, runpy, sys\n"
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({DESCRIPTORS}, {DESCRIPTORS}))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


@pytest.fixture
def enough_descriptors_here() -> Iterator[None]:
    """This test process holds the stalled sockets: it needs more than the server may have."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = STALLED + 200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        missing(f"this test holds {wanted} sockets, above this machine's hard descriptor limit ({hard}): "
                "raise it (ulimit -Hn, LimitNOFILE)")
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_normal_requests_are_served_while_hundreds_of_sockets_stall(
    tmp_path: Path, enough_descriptors_here: None
) -> None:
    env = clean_env(tmp_path, HTTP_HEAD_TIMEOUT_MS="60000", METRICS_PUBLIC="true")
    command = [sys.executable, "-c", LAUNCHER, ENTRY, "serve", "--port", "0"]
    stalled: list[socket.socket] = []
    with ServerProcess(command, cwd=tmp_path, env=env) as server:
        server.wait_live(timeout=60)
        host, port = server.base_url.removeprefix("http://").split(":")
        try:
            for index in range(STALLED):
                # Some say nothing, some send half a request line: none ever finishes its head.
                sock = socket.create_connection((host, int(port)), timeout=5)
                if index % 2:
                    sock.sendall(b"GET /api/v1/content HT")
                stalled.append(sock)
            answered = [server.request("GET", "/api/health/live", timeout=10)[0] for _ in range(20)]
            content = server.request("GET", "/api/v1/content", timeout=10)[0]
            metrics = server.request("GET", "/api/metrics", timeout=10)[2]
        finally:
            for sock in stalled:
                sock.close()
        assert answered == [200] * 20 and content == 200, server.stderr
        shed = re.search(r'^http_connections_closed_total\{reason="shed"\} (\S+)$', str(metrics), re.M)
        assert shed is not None and float(shed.group(1)) >= STALLED - DESCRIPTORS, metrics
        assert "connection cap lowered to fit the open-file limit" in server.stderr
        assert "connection cap reached" in server.stderr
        assert server.stop() == 0
