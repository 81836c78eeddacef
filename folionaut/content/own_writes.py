"""Which moves of the change counter (migration 0003) were this service's own writes.

Each write reads the counter before and after itself in its own transaction
(``ContentRepository.write``), so the values in between are its own; the watch
for other processes' writes (``ContentService.watch_external_changes``) asks
here before it drops every cached read: own writes already dropped exactly the
keys they touched.
"""

from __future__ import annotations

__all__ = ["OwnWrites"]


class OwnWrites:
    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []  # (before, after], not yet seen by the watch
        #: Writes between their commit and recording their range: a move may still be theirs.
        self.in_flight = 0

    def add(self, before: int, after: int) -> None:
        if after > before:
            self._ranges.append((before, after))

    def cover(self, last: int, current: int) -> bool:
        """Whether every counter value in (last, current] came from our own writes (then forgotten)."""
        reached = last
        for before, after in sorted(self._ranges):
            if before > reached:
                break
            reached = max(reached, after)
        if reached < current:
            return False
        self.forget_up_to(current)
        return True

    def forget_up_to(self, current: int) -> None:
        self._ranges = [(before, after) for before, after in self._ranges if after > current]
