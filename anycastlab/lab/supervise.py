"""The lab's watchdog: a lab dies with the process that built it.

A lab is torn down by its owner (``Lab.stop``). If the owner disappears
without doing so (SIGKILL, the OOM killer, a crash, a closed terminal), its
BIRDs, ExaBGPs, PowerDNS, link engine and namespaces would keep running
until someone ran ``anycastlab clean``. So every lab starts one small
supervisor right after its run record exists: a separate process in its own
session (a Ctrl-C meant for the owner does not reach it) that holds a pidfd
of the owner and sleeps until the owner exits. If the record then does not
say the lab was stopped, it removes what the record lists, exactly as
``anycastlab clean`` would (``record.clean_run``), and notes it in the
record (``status: cleaned``, ``cleaned_by: supervisor``).

The owner stops its supervisor first when it tears down normally; the
supervisor is recorded apart from the lab's daemons (``supervisor`` in
lab.json), so cleaning never signals the process doing the cleaning.

    python -m anycastlab.lab.supervise RUN_FOLDER OWNER_PID OWNER_STARTTIME
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from .record import ProcEntry, RunRecord, clean_run, same_process, stop_process

LOG = "supervisor.log"


def start(rec: RunRecord) -> ProcEntry:
    """Start the supervisor of a freshly created run and record it."""
    argv = [sys.executable, "-m", "anycastlab.lab.supervise", str(rec.folder),
            str(rec.data["owner_pid"]), str(rec.data["owner_starttime"])]
    with open(rec.folder / LOG, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, close_fds=True)
    entry = ProcEntry.of("supervisor", p.pid, None, argv)
    rec.data["supervisor"] = entry.__dict__
    rec.save()
    return entry


def stop(rec: RunRecord) -> None:
    """The owner is tearing down itself: the supervisor has nothing left to do."""
    sup = rec.data.get("supervisor")
    if sup:
        stop_process(ProcEntry(**sup), timeout=2.0)


def wait_for_exit(pid: int, starttime: Optional[int]) -> None:
    """Sleep until the process (pid, starttime) is gone."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None
    if not same_process(pid, starttime):  # gone already (or the PID is someone else's now)
        return
    if fd is not None:
        select.select([fd], [], [])
        os.close(fd)
        return
    while same_process(pid, starttime):  # no pidfd: poll
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    folder, owner, starttime = Path(argv[0]), int(argv[1]), int(argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wait_for_exit(owner, starttime)
    try:
        rec = RunRecord.load(folder)
    except ValueError as e:
        print(f"supervisor: owner {owner} gone, record unreadable ({e}); nothing done", flush=True)
        return 1
    if rec.data.get("status") in ("stopped", "cleaned"):
        return 0
    print(f"supervisor: owner {owner} gone while the lab was '{rec.data.get('status')}'; cleaning up",
          flush=True)
    rec.data["supervisor"] = None  # cleaning must never signal this process
    done = clean_run(rec, by="supervisor")
    for line in done:
        print(f"supervisor: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
