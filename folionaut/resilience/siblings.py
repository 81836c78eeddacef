"""Messages between the worker processes of one server (``folionaut serve --workers N``).

Each worker binds a Unix datagram socket in its group's private directory
(``worker-<index>.sock``). ``tell(kind, body)`` sends one datagram to every
sibling and waits until each has handled it and answered (or ``ACK_SECONDS``
passed: a worker that is gone or stuck is not waited for, and a restarted one
starts with nothing cached anyway). So when ``tell`` returns, every live
sibling has done what it was told: a content write's invalidation has reached
every worker before the write is acknowledged. Handlers are registered per
kind with ``on``; messages are small JSON objects.

Local only (no network, no Redis): between instances, Redis carries the same
messages (``cache/invalidation.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from folionaut.core import jsonutil
from folionaut.core.logging import get_logger
from folionaut.core.workers import WorkerGroup

__all__ = ["ACK_SECONDS", "Siblings"]

log = get_logger("workers")

#: How long ``tell`` waits for the siblings' answers.
ACK_SECONDS = 0.5
_MAX_DATAGRAM = 65_536

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Siblings:
    """This worker's socket: tells its siblings things, and does what they tell it."""

    def __init__(self, group: WorkerGroup) -> None:
        self.group = group
        self._handlers: dict[str, Handler] = {}
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._numbers = itertools.count(1)
        self._waiting: dict[int, tuple[asyncio.Future[None], set[int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def open(self) -> None:
        path = self.group.socket_path(self.group.index)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by this worker's previous life
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(str(path))
        self._socket = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)

    async def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.group.socket_path(self.group.index).unlink()
        for task in list(self._tasks):
            task.cancel()
        for future, _ in self._waiting.values():
            if not future.done():
                future.set_result(None)

    async def tell(self, kind: str, body: dict[str, Any] | None = None) -> int:
        """Send to every sibling; return how many answered within ``ACK_SECONDS``."""
        return await self._send([i for i in range(self.group.count) if i != self.group.index], kind, body)

    async def tell_one(self, index: int, kind: str, body: dict[str, Any] | None = None) -> bool:
        """Send to sibling ``index``; True once it answered (within ``ACK_SECONDS``)."""
        if index == self.group.index or not 0 <= index < self.group.count:
            return False
        return await self._send([index], kind, body) == 1

    async def _send(self, indices: list[int], kind: str, body: dict[str, Any] | None) -> int:
        sock = self._socket
        if sock is None or not indices:
            return 0
        number = next(self._numbers)
        datagram = jsonutil.dumps({"kind": kind, "n": number, "from": self.group.index, "body": body or {}})
        pending: set[int] = set()
        for index in indices:
            try:
                sock.sendto(datagram, str(self.group.socket_path(index)))
                pending.add(index)
            except (FileNotFoundError, ConnectionRefusedError):
                pass  # not running (starting again, or stopping): nothing of it to tell
            except BlockingIOError:
                log.warning("worker %d is not reading its messages; it was not told %s", index, kind)
        if not pending:
            return 0
        assert self._loop is not None
        done = self._loop.create_future()
        expected = len(pending)
        self._waiting[number] = (done, pending)
        try:
            async with asyncio.timeout(ACK_SECONDS):
                await done
        except TimeoutError:
            log.warning("worker(s) %s did not answer %s within %g s", sorted(pending), kind, ACK_SECONDS)
        finally:
            self._waiting.pop(number, None)
        return expected - len(pending)

    def _readable(self) -> None:
        sock = self._socket
        while sock is not None:
            try:
                data, sender = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                message = jsonutil.loads(data)
            except jsonutil.JSONDecodeError:
                continue
            if not isinstance(message, dict):
                continue
            if "ack" in message:
                self._acknowledged(int(message["ack"]), int(message.get("from", -1)))
            else:
                task = asyncio.get_running_loop().create_task(self._handle(message, sender))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _acknowledged(self, number: int, index: int) -> None:
        waiting = self._waiting.get(number)
        if waiting is None:
            return
        done, pending = waiting
        pending.discard(index)
        if not pending and not done.done():
            done.set_result(None)

    async def _handle(self, message: dict[str, Any], sender: str) -> None:
        handler = self._handlers.get(str(message.get("kind")))
        try:
            if handler is not None:
                await handler(message.get("body") or {})
        except Exception:
            log.exception("handling %s from worker %s failed", message.get("kind"), message.get("from"))
        sock = self._socket
        if sock is not None and sender:
            with contextlib.suppress(OSError):
                sock.sendto(jsonutil.dumps({"ack": message.get("n"), "from": self.group.index}), sender)


