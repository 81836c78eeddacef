"""`folionaut dump` and `folionaut restore`: backups as files, pipes and cron jobs use them."""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

import click

from folionaut.cli.common import (
    EXIT_USAGE,
    STORAGE_SETTINGS,
    counted,
    fail,
    progress_to_tty,
    run_async,
    settings_from,
    settings_options,
)

__all__ = ["dump", "restore"]


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so `finally` blocks (temp-file cleanup) run."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@click.command()
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE|-",
              help="Where to write; strftime fields expand (backup-%Y%m%d.sql); - is stdout.")
@click.option("--format", "dump_format", type=click.Choice(["sql", "sqlite"]), default="sql", show_default=True,
              help="sql: text for `restore` or the sqlite3 shell; sqlite: a database file (restore takes it too).")
@click.option("--gzip", "compress", is_flag=True, help="Compress with gzip (restore detects it).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists (else the dump stops, exit 1).")
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="After the dump, delete all but the N newest files in FILE's directory whose names the "
                   "--output pattern could have made (the new one included; needs a strftime field).")
@settings_options(STORAGE_SETTINGS)
def dump(output: str, dump_format: str, compress: bool, force: bool, keep: int | None, config_path: str | None,
         data_dir: str | None, log_level: str | None) -> None:
    """Write the whole database: a consistent snapshot, safe while serving.

    \b
    SQL: schema, rows and migration records in a deterministic order (the same
    data gives the same bytes); load it with `folionaut restore FILE` or
    `sqlite3 new.db < FILE`. The database is only read (a read-only data
    directory is fine). A file is written atomically (temp file, fsync, rename):
    an interrupted dump never leaves a partial backup under FILE.
    Nightly, keeping a week of backups:
      folionaut dump -o /backups/folionaut-%Y%m%d.sql.gz --gzip --keep 7
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """
    from folionaut.operations.backups import (
        BackupExistsError,
        atomic_write,
        atomic_write_with,
        copy_file_into,
        encode_dump,
        file_to_stdout,
        has_time_fields,
        output_path,
        prune_dumps,
        read_snapshot,
        write_sqlite_file,
        write_stdout,
    )

    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    path = None if output == "-" else output_path(output)
    binary = compress or dump_format == "sqlite"
    if path is None:
        if keep is not None:
            fail("--keep works on files: give --output FILE with a strftime field", EXIT_USAGE)
        if binary and sys.stdout.isatty():
            fail("this output is binary: redirect stdout or use --output FILE", EXIT_USAGE)
    else:
        if not path.parent.is_dir():
            fail(f"--output: directory {path.parent} does not exist", EXIT_USAGE)
        if keep is not None and not has_time_fields(output):
            fail("--keep needs a strftime field in the --output name (e.g. backup-%Y%m%d-%H%M%S.sql) "
                 "to tell its dumps apart", EXIT_USAGE)
        if path.exists() and not force:
            fail(f"{path} already exists; use --force to replace it, or another --output")
    progress = progress_to_tty("dump")

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        try:
            if dump_format == "sql":
                snapshot: list[bytes] = []

                async def read() -> None:
                    # Kept out of the task's result: Python 3.11's asyncio.run formats a repr of its main
                    # task when it restores the SIGINT handler, and the repr of a result of bytes is the
                    # whole dump (0.9 s of CPU at 10,000 items).
                    snapshot.append(await read_snapshot(settings, progress))

                run_async(read)
                data = encode_dump(snapshot[0], compress=compress)
                if path is None:
                    write_stdout(data)
                else:
                    atomic_write(path, data, progress, replace=force)
            else:
                with tempfile.TemporaryDirectory(prefix=".folionaut-dump-", dir=path.parent if path else None) as tmp:
                    copy = Path(tmp) / "copy.db"
                    run_async(lambda: write_sqlite_file(settings, copy, progress))
                    if path is None:
                        file_to_stdout(copy, compress=compress)
                    else:
                        atomic_write_with(path, lambda handle: copy_file_into(handle, copy, compress=compress),
                                          replace=force)
        except BackupExistsError as exc:
            fail(exc.message)
        except OSError as exc:
            fail(f"cannot write {path or 'stdout'}: {exc.strerror or exc}")
        if path is not None:
            if progress:
                progress(f"wrote {path} ({path.stat().st_size} bytes)")
            if keep is not None:
                try:
                    for old in prune_dumps(output, path, keep):
                        if progress:
                            progress(f"deleted {old} (--keep {keep})")
                except OSError as exc:
                    fail(f"wrote {path}, but could not delete older dumps: {exc}")
    except (_Terminated, KeyboardInterrupt):
        fail("dump interrupted; nothing was written" + (f" to {path}" if path else ""))
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Replace the contents of a database that is not empty.")
@settings_options(STORAGE_SETTINGS)
def restore(file: str, force: bool, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """Load a dump into the configured database, all or nothing.

    \b
    FILE is a `folionaut dump` (SQL or --format sqlite, plain or gzip'd) or a
    `sqlite3 .dump` of an original Folionaut database; - reads stdin. Refuses a
    database with rows unless --force (which replaces everything in it). The whole
    file loads in one transaction: any failure changes nothing and names the
    failing line. Pending migrations are applied afterwards.
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error
    (a dump or database from a newer folionaut included).
    """
    from folionaut.operations.backups import restore_file

    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")

    async def go() -> None:
        result = await restore_file(settings, raw, force=force, progress=progress_to_tty("restore"))
        replaced = f", replacing {counted(result.replaced_rows, 'row')}" if result.replaced_rows else ""
        click.echo(f"restored {counted(result.rows, 'row')} in {counted(result.tables, 'table')} from {file}{replaced}")
        if result.adopted:
            click.echo("adopted existing Folionaut database: recorded 0001 as applied")
        for migration in result.migrations:
            click.echo(f"applied {migration.version:04d}_{migration.name}")

    run_async(go)


