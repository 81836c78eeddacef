"""One metrics view for all the workers of a server (``folionaut serve --workers N``).

Each worker keeps its metrics as before (``Metrics``: plain numbers and
prometheus_client objects, nothing shared on the request path). Its
``WorkerMetrics`` copies them into files in the group's metrics directory, in
prometheus_client's multiprocess format (one mmap'd file per metric type and
process: ``counter_<pid>.db``, ``histogram_<pid>.db``, ``gauge_<mode>_<pid>.db``),
every ``SNAPSHOT_SECONDS``, when it stops, and when a sibling about to answer a
scrape asks (``resilience/siblings.py``: so a scrape sees every worker as of
now). The answer is prometheus_client's ``MultiProcessCollector`` over all the
files — the library's own merging:

- counters and histograms are summed over every worker that ever ran, so they
  never go backwards when a worker is replaced (its files stay);
- gauges are merged by what they mean: ``circuit_breaker_state`` is the worst
  worker's state (max), ``rate_limit_remaining`` the latest take of each client
  (most recent), process memory and file descriptors are summed; a dead
  worker's gauges are dropped (the supervisor marks it dead).

Every series keeps its name and labels, so the runbook's greps read the whole
server as they read one process.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = ["SNAPSHOT_SECONDS", "WorkerMetrics", "forget_worker"]

#: How often each worker copies its numbers to its files (a scrape asks for a fresh copy anyway).
SNAPSHOT_SECONDS = 5.0
#: How a gauge of several workers becomes one; the default sums them (memory, file descriptors).
GAUGE_MODES = {
    "circuit_breaker_state": "livemax",
    "rate_limit_remaining": "livemostrecent",
    "process_start_time_seconds": "livemin",
    "process_max_fds": "livemax",
    "python_info": "livemax",
}


class WorkerMetrics:
    """This worker's files, and the merged view of all of them."""

    def __init__(self, registry: CollectorRegistry, directory: Path) -> None:
        self.registry = registry
        self.directory = directory
        self._pid = os.getpid()
        self._files: dict[str, MmapedDict] = {}

    def _file(self, kind: str) -> MmapedDict:
        found = self._files.get(kind)
        if found is None:
            path = self.directory / f"{kind}_{self._pid}.db"
            if kind.startswith("gauge_"):  # a fresh file, renamed into place by _publish_gauges
                path = path.with_suffix(".new")
                path.unlink(missing_ok=True)
            found = self._files[kind] = MmapedDict(str(path))
        return found

    def _publish_gauges(self) -> None:
        for kind in [kind for kind in self._files if kind.startswith("gauge_")]:
            self._files.pop(kind).close()
            fresh = self.directory / f"{kind}_{self._pid}.new"
            os.replace(fresh, fresh.with_suffix(".db"))

    def snapshot(self) -> None:
        """Write every series of this worker to its files (values as of now, not increments).

        Gauge files are written anew each time (then renamed over the old), so a label that
        is gone (a client no longer among the recent ones) goes from the file too."""
        now = time.time()
        for family in self.registry.collect():
            if family.type == "counter":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        self._write("counter", family.name, sample.name, sample.labels, sample.value, now,
                                    family.documentation)
            elif family.type == "gauge" or family.type == "info":
                mode = GAUGE_MODES.get(family.name, "livesum")
                for sample in family.samples:
                    self._write(f"gauge_{mode}", family.name, sample.name, sample.labels, sample.value, now,
                                family.documentation)
            elif family.type == "histogram":
                self._write_histogram(family.name, family.samples, family.documentation, now)
        self._publish_gauges()

    def _write_histogram(self, name: str, samples: list, documentation: str, now: float) -> None:
        # The files hold each bucket's own count; MultiProcessCollector adds them up again.
        buckets: dict[tuple[tuple[str, str], ...], list[tuple[float, str, float]]] = defaultdict(list)
        for sample in samples:
            if sample.name.endswith("_bucket"):
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                buckets[labels].append((float(sample.labels["le"]), sample.labels["le"], sample.value))
            elif sample.name.endswith("_sum"):
                self._write("histogram", name, sample.name, sample.labels, sample.value, now, documentation)
        for labels, entries in buckets.items():
            previous = 0.0
            for _, bound, cumulative in sorted(entries):
                self._write("histogram", name, f"{name}_bucket", {**dict(labels), "le": bound},
                            cumulative - previous, now, documentation)
                previous = cumulative

    def _write(self, kind: str, metric: str, sample: str, labels: dict[str, str], value: float, now: float,
               documentation: str) -> None:
        key = mmap_key(metric, sample, list(labels), list(labels.values()), documentation)
        self._file(kind).write_value(key, value, now)

    def render_all(self) -> bytes:
        """Every worker's series merged, in the Prometheus text format (after this worker's snapshot)."""
        self.snapshot()
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(self.directory))
        return generate_latest(registry)

    def close(self) -> None:
        self.snapshot()
        for mapped in self._files.values():
            mapped.close()
        self._files.clear()


def forget_worker(directory: Path, pid: int) -> None:
    """A worker died: drop its gauges (its counters and histograms stay, so totals never go back)."""
    mark_process_dead(pid, str(directory))
