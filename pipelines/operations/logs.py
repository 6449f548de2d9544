"""A log file per run under the data directory, and retention of old run folders and logs.

Unattended nights are read the next morning, often on another terminal than the one that started them (or none,
under ``serve`` or a worker), so every run that holds the data directory writes what Prefect and the pipeline log to
``<data_dir>/logs/<command>-<UTC time>.log``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import Paths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Runs of this process that already write a log, by data directory: a flow under the CLI writes to the CLI's file.
_open: dict[Path, Path] = {}
_guard = threading.Lock()


def logs_dir(data_dir: str | Path) -> Path:
    return Paths(Path(data_dir)).root / "logs"


@contextmanager
def run_log(data_dir: str | Path, command: str) -> Iterator[Path]:
    """Everything logged (Prefect's flow and task runs included) also goes to a new file while the block runs."""
    key = Path(data_dir).resolve()
    with _guard:
        current = _open.get(key)
    if current is not None:
        yield current
        return
    folder = logs_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{command}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    with _guard:
        _open[key] = path
    try:
        yield path
    finally:
        with _guard:
            _open.pop(key, None)
        root.removeHandler(handler)
        handler.close()


@dataclass(frozen=True)
class Pruned:
    run_folders: int
    log_files: int


def prune(data_dir: str | Path, keep_days: int, now: float | None = None) -> Pruned:
    """Remove per-run folders (``work/runs/*``) and log files (``logs/*.log``) not modified for ``keep_days`` days.

    ``keep_days`` 0 keeps everything. The WARC archive, the databases and the published outputs are never touched:
    they are the record; run folders (raw items, stats, crawl logs) and logs are only the working of a run.
    """
    if keep_days <= 0:
        return Pruned(0, 0)
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    paths = Paths(Path(data_dir))
    folders = [p for p in _children(paths.runs) if p.is_dir() and _newest(p) < cutoff]
    logs = [p for p in _children(logs_dir(data_dir)) if p.suffix == ".log" and p.stat().st_mtime < cutoff]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    for log in logs:
        log.unlink(missing_ok=True)
    return Pruned(len(folders), len(logs))


def _children(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _newest(folder: Path) -> float:
    """The latest change inside ``folder``: a folder is old only when nothing in it is recent."""
    times = [folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.rglob("*")]
    return max(times)
