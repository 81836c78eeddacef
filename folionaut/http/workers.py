"""``folionaut serve --workers N``: a supervisor and N worker processes serving one port.

One Python process runs on one core; a server with more cores serves more with
more processes. The supervisor (this module, in the process the command
started) does what must happen once, then starts the workers and looks after
them; each worker is the ordinary server (``http/server.py``), told it is one
of a group.

1. Migrations run once, here, before any worker starts (workers never migrate).
2. The group's private directory is made (``/dev/shm`` when there is one, mode
   0700): the workers' sockets to each other, the rate-limit tables they share
   and their metrics files (``core/workers.py``). It is removed at the end.
3. The port is reserved by a socket of the supervisor's own, bound with
   ``SO_REUSEPORT`` but never listening (``--port 0`` picks it here, once); every
   worker then binds the same port with ``SO_REUSEPORT`` and the kernel spreads
   new connections over the listening ones.
4. The workers are forked (the supervisor has no threads and no event loop by
   then). A worker that dies is replaced (its gauges dropped from the metrics,
   its counts kept); one that keeps dying within ``QUICK_EXIT_SECONDS`` of its
   start is started again after a growing pause, and the server gives up (exit 1)
   after ``MAX_QUICK_EXITS`` such deaths in a row.
5. SIGTERM or SIGINT: every worker is sent SIGTERM and drains as a single
   server does (no new connections, in-flight requests finish within the
   shutdown grace); whoever is still running after that (plus a margin) is killed.

Across workers the service behaves as one process: rate limits are exact (Redis
when configured, else the shared tables), a content write's cache invalidation
reaches every worker before it is acknowledged, MCP sessions and idempotency
records are shared (Redis, or the database), and ``/api/metrics`` shows the
whole server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from folionaut.core.logging import get_logger
from folionaut.core.workers import WorkerGroup
from folionaut.http.server import SHUTDOWN_GRACE_SECONDS, run
from folionaut.observability.metrics_files import forget_worker
from folionaut.resilience.ratelimit_shared import create_table
from folionaut.runtime import Runtime
from folionaut.settings import Settings

__all__ = ["MAX_QUICK_EXITS", "QUICK_EXIT_SECONDS", "run_workers"]

log = get_logger("workers")

#: A worker that exits sooner than this after starting counts as a failed start.
QUICK_EXIT_SECONDS = 10.0
#: The server gives up after this many failed starts in a row.
MAX_QUICK_EXITS = 5
#: Workers still running this long after the shutdown grace are killed.
KILL_MARGIN_SECONDS = 5.0
_LIMITERS = ("content", "chat", "sign_in")
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(slots=True)
class _Slot:
    index: int
    pid: int = 0
    started_at: float = 0.0
    ready: bool = False
    quick_exits: int = 0
    restart_at: float = 0.0


@dataclass(slots=True)
class _Supervisor:
    settings: Settings
    group_dir: Path
    ready_read: int
    ready_write: int
    slots: list[_Slot] = field(default_factory=list)
    stopping_since: float | None = None
    failed: str | None = None
    announced: bool = False

    def group(self, index: int) -> WorkerGroup:
        return WorkerGroup(index, len(self.slots), self.group_dir)

    def start(self, slot: _Slot, closing: list[int]) -> None:
        pid = os.fork()
        if pid == 0:
            _worker(self.settings, self.group(slot.index), self.ready_write, closing)
        slot.pid, slot.started_at, slot.ready = pid, time.monotonic(), False
        log.info("started worker %d", slot.index, extra={"pid": pid})

    def reap(self) -> None:
        """Collect every worker that exited; replace it unless stopping."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is None:
                continue
            forget_worker(self.group_dir / "metrics", pid)
            slot.pid = 0
            code = os.waitstatus_to_exitcode(status)
            if self.stopping_since is not None:
                continue
            lived = time.monotonic() - slot.started_at
            log.warning("worker %d exited (%s) after %.1f s; starting it again", slot.index,
                        f"signal {-code}" if code < 0 else f"code {code}", lived)
            slot.quick_exits = slot.quick_exits + 1 if lived < QUICK_EXIT_SECONDS else 0
            if slot.quick_exits >= MAX_QUICK_EXITS:
                self.failed = f"worker {slot.index} failed {slot.quick_exits} times in a row; giving up"
                return
            slot.restart_at = time.monotonic() + min(5.0, 0.1 * 2 ** slot.quick_exits) if slot.quick_exits else 0.0

    def read_ready(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for line in os.read(self.ready_read, 4096).split():
                index = int(line)
                if 0 <= index < len(self.slots):
                    self.slots[index].ready = True
        if not self.announced and all(slot.ready for slot in self.slots):
            self.announced = True
            log.info("listening on http://%s:%s with %d workers", self.settings.host, self.settings.port,
                     len(self.slots), extra={"environment": self.settings.environment})

    def stop(self) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
            log.info("stopping: telling %d workers to finish in-flight requests", self.alive())
        for slot in self.slots:
            if slot.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGTERM)

    def alive(self) -> int:
        return sum(1 for slot in self.slots if slot.pid)


def run_workers(settings: Settings) -> int:
    """Serve with ``settings.workers`` processes until SIGTERM/SIGINT; the exit code (0: stopped cleanly)."""
    count = settings.workers
    asyncio.run(_migrate(settings))
    if threading.active_count() > 1:  # forking a process with threads copies locks some thread holds
        log.warning("%d threads are running before the workers are started", threading.active_count())
    group_dir = Path(tempfile.mkdtemp(prefix="folionaut-workers-", dir=_shared_memory_dir()))
    placeholder: socket.socket | None = None
    try:
        (group_dir / "metrics").mkdir()
        for name in _LIMITERS:
            create_table(WorkerGroup(0, count, group_dir).limiter_table(name))
        placeholder = _reserve_port(settings.host, settings.port)
        settings = settings.replace(port=placeholder.getsockname()[1])
        return _supervise(settings, group_dir, count, placeholder)
    finally:
        if placeholder is not None:
            placeholder.close()
        shutil.rmtree(group_dir, ignore_errors=True)


def _supervise(settings: Settings, group_dir: Path, count: int, placeholder: socket.socket) -> int:
    ready_read, ready_write = os.pipe()
    wake_read, wake_write = os.pipe()
    for fd in (ready_read, wake_read, wake_write):
        os.set_blocking(fd, False)
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in (*_STOP_SIGNALS, signal.SIGCHLD)}
    old_wakeup = signal.set_wakeup_fd(wake_write)
    supervisor = _Supervisor(settings, group_dir, ready_read, ready_write)
    supervisor.slots = [_Slot(index) for index in range(count)]
    # What a worker must not keep: the supervisor's own ends of things.
    closing = [ready_read, wake_read, wake_write, placeholder.fileno()]
    try:
        for slot in supervisor.slots:
            supervisor.start(slot, closing)
        while True:
            with contextlib.suppress(InterruptedError):
                select.select([wake_read, ready_read], [], [], 0.5)
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            supervisor.read_ready()
            signals, received[:] = list(received), []
            if any(signum in _STOP_SIGNALS for signum in signals):
                supervisor.stop()
            supervisor.reap()
            if supervisor.failed is not None and supervisor.stopping_since is None:
                log.error("%s", supervisor.failed)
                supervisor.stop()
            if supervisor.stopping_since is not None:
                if not supervisor.alive():
                    break
                if time.monotonic() - supervisor.stopping_since > SHUTDOWN_GRACE_SECONDS + KILL_MARGIN_SECONDS:
                    for slot in supervisor.slots:
                        if slot.pid:
                            log.warning("worker %d did not stop in time: killing it", slot.index)
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(slot.pid, signal.SIGKILL)
                continue
            now = time.monotonic()
            for slot in supervisor.slots:
                if not slot.pid and now >= slot.restart_at:
                    supervisor.start(slot, closing)
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for fd in (ready_read, ready_write, wake_read, wake_write):
            os.close(fd)
    log.info("stopped")
    return 1 if supervisor.failed is not None else 0


def _worker(settings: Settings, group: WorkerGroup, ready_write: int, closing: list[int]) -> NoReturn:
    """The forked child: the ordinary server, told it is one of a group. Never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (*_STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)

        def listening(_port: int) -> None:
            os.write(ready_write, f"{group.index}\n".encode())

        run(settings, workers=group, on_listening=listening)
        code = 0
    except BaseException:
        log.exception("worker %d failed", group.index)
    finally:
        os._exit(code)  # never return into the supervisor's stack (nor run its atexit hooks)


async def _migrate(settings: Settings) -> None:
    async with Runtime.storage_only(settings, migrate=True):
        pass


def _shared_memory_dir() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to the server's address, with SO_REUSEPORT: the port is ours, and
    each worker's listening socket joins it."""
    family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock
