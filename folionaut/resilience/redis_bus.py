"""Messages between the processes of a service through Redis pub/sub, for instances on other hosts.

Every process (every worker of every instance) subscribes to two channels on a
connection of its own: ``folionaut:bus`` (broadcasts, e.g. a content change for
every cache) and ``folionaut:bus:<process id>`` (messages for it alone, e.g. an
MCP message for the stream it holds). A message is a small JSON object: its
kind, the sender's process id and group, and a body; handlers are registered
per kind with ``on``, as on ``Siblings`` (``resilience/siblings.py``), which
carries the same messages between the workers of one server without Redis.

Pub/sub delivers at most once, to whoever is subscribed at that moment: it is
fast (a content change reaches every instance within milliseconds), not a
record. So a process that lost its subscription (Redis restarted, a network
cut) runs its ``on_resubscribed`` hooks once it is back — the content caches
drop everything then, as they might have missed changes — and the change
counter's watch stays as the slower net under all of it. Publishing never
fails a request: while Redis is down, ``publish`` says no one heard it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from folionaut.core import jsonutil
from folionaut.core.logging import get_logger
from folionaut.resilience.shared_redis import REDIS_ERRORS, SharedRedis

__all__ = ["BROADCAST_CHANNEL", "RedisBus"]

log = get_logger("redis")

BROADCAST_CHANNEL = "folionaut:bus"
_RESUBSCRIBE_SECONDS = 1.0

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class RedisBus:
    def __init__(self, redis: SharedRedis, process_id: str, group: str = "") -> None:
        self.redis = redis
        self.process_id = process_id
        #: This process's group (the workers of its server), whose messages come through Siblings and are
        #: not taken from Redis a second time.
        self.group = group
        self._handlers: dict[str, Handler] = {}
        self._resubscribed: list[Callable[[], Awaitable[None]]] = []
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def on_resubscribed(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` whenever the subscription is back after being lost (messages may have been missed)."""
        self._resubscribed.append(hook)

    @property
    def direct_channel(self) -> str:
        return f"{BROADCAST_CHANNEL}:{self.process_id}"

    async def open(self, wait_seconds: float = 2.0) -> None:
        """Start listening; waits (a little) for the first subscription, so early broadcasts are heard."""
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                await self._subscribed.wait()

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def publish(self, kind: str, body: dict[str, Any]) -> int:
        """Broadcast to every process; how many subscribers heard it (0 while Redis is down)."""
        return await self._publish(BROADCAST_CHANNEL, kind, body)

    async def send(self, process_id: str, kind: str, body: dict[str, Any]) -> bool:
        """To one process; True when it was subscribed (it has the message)."""
        return await self._publish(f"{BROADCAST_CHANNEL}:{process_id}", kind, body) > 0

    async def _publish(self, channel: str, kind: str, body: dict[str, Any]) -> int:
        if not self.redis.should_try():
            return 0
        message = jsonutil.dumps({"kind": kind, "from": self.process_id, "group": self.group, "body": body})
        try:
            heard = int(await self.redis.client.publish(channel, message))
        except REDIS_ERRORS as exc:
            self.redis.mark_failed("bus", exc)
            return 0
        self.redis.mark_ok()
        return heard

    async def _listen(self) -> None:
        lost = False
        while True:
            pubsub = self.redis.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(BROADCAST_CHANNEL, self.direct_channel)
                self._subscribed.set()
                if lost:
                    lost = False
                    log.info("listening to other processes through Redis again")
                    for hook in self._resubscribed:
                        await hook()
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        await self._dispatch(message.get("data"))
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                if not lost:
                    log.warning("lost the Redis subscription (%s); caches fall back to the change watch until "
                                "it is back", type(exc).__name__)
                lost = True
                self._subscribed.clear()
            finally:
                with contextlib.suppress(*REDIS_ERRORS):
                    await asyncio.shield(pubsub.aclose())
            await asyncio.sleep(_RESUBSCRIBE_SECONDS)

    async def _dispatch(self, data: Any) -> None:
        try:
            message = jsonutil.loads(data)
        except (jsonutil.JSONDecodeError, TypeError):
            return
        if not isinstance(message, dict) or message.get("from") == self.process_id:
            return
        if self.group and message.get("group") == self.group:
            return  # a sibling worker: it told this process through Siblings already
        handler = self._handlers.get(str(message.get("kind")))
        if handler is None:
            return
        try:
            await handler(message.get("body") or {})
        except Exception:
            log.exception("handling %s from another process failed", message.get("kind"))
