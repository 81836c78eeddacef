"""A `folionaut serve` (or zipapp) subprocess: start it, learn its port, probe it, stop it.

The server prints ``listening on http://HOST:PORT`` on stderr (JSON log line or
text); with ``--port 0`` that line is the only way to learn the port. Used by
tests and by scripts/startup_bench.py, so every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LISTENING = re.compile(r"listening on (http://[0-9.]+:\d+)")


class ServerProcess:
    """``with ServerProcess([...], cwd=...) as server: server.get("/api/health/live")``."""

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env = dict(os.environ if env is None else env)
        self.started_at = 0.0
        self.base_url = ""
        self.stderr_lines: list[str] = []
        self._url_found = threading.Event()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self._read_stderr, daemon=True).start()
        return self

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line.rstrip("\n"))
            match = LISTENING.search(line)
            if match and not self.base_url:
                self.base_url = match.group(1)
                self._url_found.set()
        self._url_found.set()  # stderr closed: the process is gone

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def wait_listening(self, timeout: float = 60.0) -> str:
        if not self._url_found.wait(timeout) or not self.base_url:
            raise RuntimeError(f"server did not report its address within {timeout}s:\n{self.stderr}")
        return self.base_url

    def wait_live(self, timeout: float = 60.0) -> float:
        """Wait for 200 on /api/health/live; return seconds since start()."""
        deadline = time.monotonic() + timeout
        self.wait_listening(timeout)
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/api/health/live", timeout=2)
                if status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.005)
        raise RuntimeError(f"/api/health/live never answered 200:\n{self.stderr}")

    def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], Any]:
        """One HTTP request; returns (status, headers, parsed JSON or text)."""
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if data is not None else {}
        sent.update(headers or {})
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                status, got, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, got, raw = exc.code, dict(exc.headers), exc.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, got, json.loads(text)
        except ValueError:
            return status, got, text

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit code (SIGKILL and raise if it hangs)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise RuntimeError(f"server ignored SIGTERM for {timeout}s:\n{self.stderr}") from None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
