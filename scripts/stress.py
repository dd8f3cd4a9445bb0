"""Run pytest beside busy processes: ``make test-stress``.

A user's machine is rarely idle. This runs the given pytest arguments
(default: the lab tier) beside N CPU-bound processes at normal priority,
started here and stopped here by their own PIDs, whatever pytest does.
The busy processes are plain ``python -c 'while True: pass'`` loops: they
compete for the CPU with BIRD, the link engine, the probes and the daemons,
which is what made races show that an idle machine hides.

    .venv/bin/python scripts/stress.py [--busy N] [--nice N] [-- PYTEST ARGS...]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="stress.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--busy", type=int, default=2, help="busy processes beside the tests (default 2)")
    ap.add_argument("--nice", type=int, default=0, help="their nice value (default 0: normal priority)")
    ap.add_argument("pytest_args", nargs="*", help="arguments for pytest (default: -m lab -q)")
    args = ap.parse_args(argv)
    if args.busy < 0 or not -20 <= args.nice <= 19:
        print("stress.py: --busy must be 0 or more and --nice from -20 to 19", file=sys.stderr)
        return 2
    pytest_args = args.pytest_args or ["-m", "lab", "-q"]
    loop = [sys.executable, "-c", "while True: pass"]
    if args.nice:
        loop = ["nice", "-n", str(args.nice), *loop]
    busy = [subprocess.Popen(loop, stdin=subprocess.DEVNULL) for _ in range(args.busy)]
    print(f"stress: {len(busy)} busy process(es) at nice {args.nice} (pids "
          f"{', '.join(str(b.pid) for b in busy) or 'none'}) beside pytest {' '.join(pytest_args)}",
          flush=True)
    t0 = time.monotonic()
    try:
        rc = subprocess.call([sys.executable, "-m", "pytest", *pytest_args])
    except KeyboardInterrupt:
        rc = 130
    finally:
        for b in busy:   # only the processes started above, by their PIDs
            if b.poll() is None:
                os.kill(b.pid, signal.SIGTERM)
        for b in busy:
            try:
                b.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(b.pid, signal.SIGKILL)
                b.wait()
    print(f"stress: pytest exited {rc} after {time.monotonic() - t0:.0f} s beside {len(busy)} busy process(es)",
          flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
