"""What a worker process knows about its group (``folionaut serve --workers N``).

The supervisor (``http/workers.py``) makes one private directory per group
before it starts the workers, and hands each worker a ``WorkerGroup``. The
directory holds everything the workers share without Redis: each worker's
socket for messages between siblings (``resilience/siblings.py``), the
rate-limit tables (``resilience/ratelimit_shared.py``), the key-value records
(``cache/key_value_file.py``) and the metrics files
(``observability/metrics_files.py``). Plain data only, so every layer may use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_WORKERS", "WorkerGroup", "available_cores"]

MAX_WORKERS = 64


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, where the OS has one)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


@dataclass(frozen=True, slots=True)
class WorkerGroup:
    """This process is worker ``index`` of ``count``, all serving one port."""

    index: int
    count: int
    directory: Path

    def socket_path(self, index: int) -> Path:
        return self.directory / f"worker-{index}.sock"

    def limiter_table(self, name: str) -> Path:
        return self.directory / f"ratelimit-{name}.table"

    @property
    def records_file(self) -> Path:
        return self.directory / "records.sqlite"

    @property
    def metrics_directory(self) -> Path:
        return self.directory / "metrics"
