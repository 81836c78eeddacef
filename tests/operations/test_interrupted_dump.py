"""A dump killed while writing never leaves a partial backup under the final name (real subprocesses)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from folionaut.operations.backups import STALL_ENV
from tests.operations.conftest import CLI, subprocess_env

WAIT_SECONDS = 60.0


def start_stalled_dump(data_dir: Path, output: Path, *options: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a dump that pauses after writing its temp file; return it and that temp file once written."""
    process = subprocess.Popen(
        [*CLI, "dump", "--output", str(output), *options],
        env=subprocess_env(data_dir, **{STALL_ENV: "60"}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:  # bounded: the dump writes within seconds
        partial = [p for p in output.parent.glob(f".{output.name}.*.partial") if p.stat().st_size > 0]
        if partial:
            return process, partial[0]
        if process.poll() is not None:
            raise AssertionError(f"dump exited early: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the dump never started writing")


def test_sigkill_mid_write_leaves_no_file_under_the_final_name(seeded: Path, tmp_path: Path) -> None:
    output = tmp_path / "backup.sql"
    process, partial = start_stalled_dump(seeded, output)
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not output.exists()
    assert partial.exists()  # killed mid-write indeed; only the hidden temp file remains


def test_sigkill_keeps_yesterdays_backup_intact(seeded: Path, tmp_path: Path) -> None:
    output = tmp_path / "backup.sql"
    output.write_bytes(b"-- the previous backup\n")
    process, _ = start_stalled_dump(seeded, output, "--force")
    process.kill()
    process.wait(timeout=30)
    assert output.read_bytes() == b"-- the previous backup\n"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_cleans_up_and_exits_1(seeded: Path, tmp_path: Path, signum: int) -> None:
    output = tmp_path / "backup.sql"
    process, partial = start_stalled_dump(seeded, output)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.decode().strip() == f"folionaut: dump interrupted; nothing was written to {output}"
    assert not output.exists()
    assert not partial.exists()
