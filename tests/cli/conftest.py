"""Real `python folionaut.py …` subprocesses in a temp directory with a clean environment."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(REPO_ROOT / "folionaut.py")
LISTENING = re.compile(r"listening on http://(?P<host>[^:\s\"]+):(?P<port>\d+)")
START_TIMEOUT = 30.0


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """Only what Python needs: no setting leaks in from the developer's or CI's environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(extra)
    return env


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, ENTRY, *args], cwd=cwd, env=env or clean_env(cwd),
                          capture_output=True, text=True, timeout=timeout)


class ServeProcess:
    """`folionaut.py serve` running; stderr collected line by line by a reader thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, ENTRY, "serve", *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.host, self.port = "", 0

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, pattern: re.Pattern[str] | str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Block until a stderr line matches (bounded); fail with everything seen so far."""
        pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        for line in self.lines:
            if (match := pattern.search(line)) is not None:
                return match
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern.pattern!r} within {timeout}s:\n" + "\n".join(self.lines))
            if line is None:
                pytest.fail(f"process ended (rc={self.proc.wait()}) before {pattern.pattern!r}:\n"
                            + "\n".join(self.lines))
            self.lines.append(line)
            if (match := pattern.search(line)) is not None:
                return match

    def wait_for_count(self, pattern: str, count: int, timeout: float = START_TIMEOUT) -> None:
        """Block until ``count`` stderr lines match (bounded by ``timeout`` overall)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while sum(1 for line in self.lines if compiled.search(line)) < count:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.01, remaining))
            except queue.Empty:
                pytest.fail(f"fewer than {count} lines matching {pattern!r} within {timeout}s:\n" + self.stderr)
            if line is None:
                pytest.fail(f"process ended before {count} lines matching {pattern!r}:\n" + self.stderr)
            self.lines.append(line)

    def wait_listening(self) -> ServeProcess:
        match = self.wait_for_line(LISTENING)
        self.host, self.port = match["host"], int(match["port"])
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal, wait (bounded), drain stderr; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail("serve did not exit within the timeout after the signal:\n" + "\n".join(self.lines))
        self._reader.join(timeout=10)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty directory to run in: nothing configured, like a first run."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def start_serve(workdir: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start `folionaut.py serve` (default: --port 0 in workdir); every process is stopped at teardown."""
    started: list[ServeProcess] = []

    def start(args: list[str] | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
              wait: bool = True) -> ServeProcess:
        process = ServeProcess(["--port", "0"] if args is None else args, cwd or workdir, env or clean_env(workdir))
        started.append(process)
        return process.wait_listening() if wait else process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=10)
