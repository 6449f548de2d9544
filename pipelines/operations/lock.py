"""One night at a time per data directory: ``<data_dir>/run.lock`` with who holds it.

The mutual exclusion is an ``flock`` on the file, which the kernel drops when the holder dies however it dies, so a
lock can never outlive its process. The file's text (pid, host, command, start time) is for the refusal message and
for the log line when a crashed run left it behind: a clean release empties it, so text found by a new holder means
the last one did not finish.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    command: str
    started_at: str

    def describe(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.started_at})"


class LockHeld(Exception):
    """Another run holds the data directory."""

    def __init__(self, data_dir: Path, holder: Holder | None):
        self.data_dir = data_dir
        self.holder = holder
        who = holder.describe() if holder else "another run"
        super().__init__(f"{data_dir} is in use by {who}; try again when it has finished")


# Locks this process holds, by lock path: a flow run by the CLI in the same process takes the CLI's lock again.
_held: dict[Path, tuple[int, int]] = {}
_guard = threading.Lock()


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_FILE


def read_holder(data_dir: Path) -> Holder | None:
    try:
        text = lock_path(data_dir).read_text(encoding="utf-8")
        return Holder(**json.loads(text)) if text.strip() else None
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def hold(data_dir: str | Path, command: str) -> Iterator[None]:
    """Hold the data directory for ``command``; raises ``LockHeld`` at once when another run has it."""
    path = lock_path(Path(data_dir)).resolve()
    with _guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                fd, depth = _held[path]
                _held[path] = (fd, depth - 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LockHeld(Path(data_dir), read_holder(Path(data_dir))) from None
    left = read_holder(Path(data_dir))
    if left is not None:
        here = left.host == socket.gethostname()
        fate = ("pid gone" if not _alive(left.pid) else "pid reused") if here else "another host"
        log.warning("recovered a stale lock on %s left by %s, which did not finish (%s)", data_dir, left.describe(),
                    fate)  # fmt: skip
    holder = Holder(os.getpid(), socket.gethostname(), command, datetime.now(UTC).isoformat(timespec="seconds"))
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(asdict(holder)).encode("utf-8"), 0)
    with _guard:
        _held[path] = (fd, 1)
    try:
        yield
    finally:
        with _guard:
            del _held[path]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
