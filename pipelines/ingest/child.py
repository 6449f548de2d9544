"""``python -m pipelines.ingest.child PARENT_PID COMMAND…``: run COMMAND so that it dies with the run that started it.

A crawl runs in its own process group (so a terminal's Ctrl-C reaches only the flow, which decides), and a killed
flow must not leave a ``scrapy crawl`` fetching on its own. On Linux the kernel sends SIGKILL to this process when
the thread that started it ends (``prctl(PR_SET_PDEATHSIG)``), and the setting survives the ``exec`` into the crawl.
If the parent already died before the setting took effect, the crawl is not started at all.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
# What the process exits with when its parent was gone before the crawl could start.
ORPHANED_EXIT = 75


def die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def die_with_runner() -> None:
    """In a flow run that ``serve`` or a worker started (Prefect sets ``PREFECT__FLOW_RUN_ID``), die with it.

    The runner starts each flow run as a child process; a killed ``serve`` would otherwise leave the run (and so
    its crawl) going on against a Prefect server that is gone. A flow run by the command line runs in the CLI's own
    process and is left alone.
    """
    if "PREFECT__FLOW_RUN_ID" not in os.environ:
        return
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:
        os._exit(ORPHANED_EXIT)


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    die_with_parent()
    if os.getppid() != parent:
        return ORPHANED_EXIT
    os.execv(command[0], command)
    return 0  # not reached: exec replaces this process


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
