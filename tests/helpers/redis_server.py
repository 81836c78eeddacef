"""A private redis-server on a free loopback port that a test can stop and restart.

Used to simulate a Redis outage mid-test without touching the shared Redis:

    server = RedisServer.start()
    try:
        ... server.url ...
        server.stop()      # outage
        server.restart()   # back on the same port, empty
    finally:
        server.stop()
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port_url() -> str:
    """A Redis URL nothing listens on (connection refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/0"


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def available(cls) -> bool:
        return shutil.which("redis-server") is not None

    @classmethod
    def start(cls) -> RedisServer:
        server = cls(free_port())
        server.restart()
        return server

    def restart(self) -> None:
        self.stop()
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            for _ in range(100):  # bounded: at most ~10 s
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.1)
        finally:
            client.close()
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None
