"""deploy/: the systemd units pass systemd's own checker, are hardened, and run what they say."""

from __future__ import annotations

import gzip
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.dist.conftest import ROOT, bare_python, clean_env
from tests.helpers.prerequisites import missing

DEPLOY = ROOT / "deploy"
UNITS = ("folionaut.service", "folionaut-dump.service", "folionaut-dump.timer")
PYZ_PATH = "/opt/folionaut/folionaut.pyz"


def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        missing("systemd-analyze is not installed: apt-get install systemd")
    return tool


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_units_pass_systemd_analyze_verify_without_a_warning() -> None:
    done = subprocess.run([systemd_analyze(), "verify", *(str(DEPLOY / u) for u in UNITS)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_the_service_is_hardened_and_extracts_into_its_cache() -> None:
    unit = directives("folionaut.service")
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "DynamicUser": "yes", "StateDirectory": "folionaut",
                       "CacheDirectory": "folionaut"}.items():
        assert unit.get(key) == [value], key
    assert "SHIV_ROOT=/var/cache/folionaut" in unit["Environment"]
    assert unit["ExecStart"] == [f"/usr/bin/python3 {PYZ_PATH} serve"]
    done = subprocess.run([systemd_analyze(), "security", "--offline=yes", str(DEPLOY / "folionaut.service")],
                          capture_output=True, text=True, timeout=60)
    level = re.search(r"Overall exposure level for folionaut.service: ([\d.]+) (\w+)", done.stdout)
    assert level is not None, done.stdout[-2000:] + done.stderr
    assert float(level.group(1)) <= 2.0 and level.group(2) == "OK", level.group(0)


def test_the_timer_runs_the_dump_service_every_night() -> None:
    timer = directives("folionaut-dump.timer")
    assert timer["OnCalendar"] == ["*-*-* 03:15:00"] and timer["Persistent"] == ["true"]
    dump = directives("folionaut-dump.service")
    assert dump["Type"] == ["oneshot"] and dump["User"] == directives("folionaut.service")["User"]


def test_the_dump_services_command_writes_a_dated_backup(zipapp: Path, tmp_path: Path) -> None:
    # The unit's own ExecStart (systemd's %% unescaped), with its paths moved under tmp_path.
    unit = directives("folionaut-dump.service")
    [exec_start] = unit["ExecStart"]
    state, backups, cache = tmp_path / "state", tmp_path / "backups", tmp_path / "cache"
    for folder in (state, backups, cache):
        folder.mkdir()
    command = (exec_start.replace("%%", "%").replace(PYZ_PATH, str(zipapp))
               .replace("/var/lib/folionaut-backups", str(backups)).replace("/usr/bin/python3", bare_python()))
    env = clean_env(FOLIONAUT_DATA_DIR=str(state), SHIV_ROOT=str(cache))
    migrated = subprocess.run([bare_python(), str(zipapp), "migrate"], cwd=state, env=env,
                              capture_output=True, text=True, timeout=180)
    assert migrated.returncode == 0, migrated.stderr
    done = subprocess.run(shlex.split(command), cwd=state, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    [backup] = backups.iterdir()  # dated by dump itself (%Y%m%d): one file a day
    assert re.fullmatch(r"folionaut-20\d{6}\.sql\.gz", backup.name), backup.name
    assert "CREATE TABLE" in gzip.decompress(backup.read_bytes()).decode()


def test_the_dockerfile_runs_the_file_on_a_slim_supported_python() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.1[123]-slim$", text, re.MULTILINE)
    assert f"COPY folionaut.pyz {PYZ_PATH}" in text
    assert re.search(r"^ENV .*SHIV_ROOT=/cache", text, re.MULTILINE)
    assert f'ENTRYPOINT ["python3", "{PYZ_PATH}"]' in text
    assert "UNTESTED" in text  # no Docker engine on these machines: the file says so
