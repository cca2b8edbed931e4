"""Run a command that gives way to the app: the process behind every Train-page job.

    python supervise.py --watch FILE [--seconds 2] [--paused-file F] -- COMMAND...

starts COMMAND (an ``invemb train`` run) on CPU time nobody else wants (Linux's SCHED_IDLE, else nice 19)
and, while FILE was touched less than ``--seconds`` ago, stops it outright (SIGSTOP) and continues it
(SIGCONT) once FILE is older. The app touches FILE at every interaction (``jobs.note_interaction``), so
a run never competes with a page that is being drawn: not even a training step that was already under
way, and not for the memory bandwidth or the sibling hyper-thread that a low priority still takes.

SIGINT and SIGTERM are passed on, and the command is continued so that it can act on them (save and
exit). If this process dies, the kernel continues the command (``PR_SET_PDEATHSIG``), so a run is never
left stopped. The exit code is the command's. ``--paused-file`` gets the seconds spent stopped so far,
after every pause.

Run as a script, not as ``-m invemb_core.supervise``: it imports nothing but the standard library, so
it costs ~10 MB and no start-up time beside the run it watches.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.025  # how soon after a touch the command stops: one stat per poll
PR_SET_PDEATHSIG = 1


def _lowest_priority() -> None:
    """In the command's process, before it starts: the lowest CPU priority there is, continue (SIGCONT)
    when this supervisor dies, and take SIGINT and SIGTERM as usual (a shell starts background jobs with
    SIGINT ignored, and a Python command would then never see the Ctrl-C this supervisor passes on)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.nice(19)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed: the nice level stays
        pass
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGCONT)
    except (AttributeError, OSError):  # not Linux
        pass


def recently_touched(path: Path, seconds: float, now: float | None = None) -> bool:
    """Whether ``path`` was modified less than ``seconds`` before ``now`` (wall-clock; default: the
    present). False if it does not exist; a clock step backwards never stops the run for long."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return -seconds < age < seconds


@dataclass
class Gate:
    """What the supervisor decides at each poll, as a pure step over the clock: stop the command when the
    app turns busy, continue it when the app is idle again, and count the seconds it was kept stopped."""

    stopped_at: float | None = None
    paused: float = 0.0

    def step(self, busy: bool, now: float) -> str | None:
        """``"stop"``, ``"continue"`` or None (nothing to do) for a poll at monotonic time ``now``."""
        if busy and self.stopped_at is None:
            self.stopped_at = now
            return "stop"
        if not busy and self.stopped_at is not None:
            self.paused += now - self.stopped_at
            self.stopped_at = None
            return "continue"
        return None


def supervise(
    cmd: list[str], watch: Path, *, seconds: float, paused_file: Path | None = None, poll: float = POLL_SECONDS
) -> int:
    """Run ``cmd`` until it exits, stopped while ``watch`` is fresh (see the module's docstring)."""
    child = subprocess.Popen(cmd, preexec_fn=_lowest_priority)

    def pass_on(signum, frame) -> None:
        child.send_signal(signum)
        child.send_signal(signal.SIGCONT)  # a stopped process acts on the signal once it runs again

    signal.signal(signal.SIGINT, pass_on)
    signal.signal(signal.SIGTERM, pass_on)
    gate = Gate()
    while child.poll() is None:
        action = gate.step(recently_touched(watch, seconds), time.monotonic())
        if action == "stop":
            child.send_signal(signal.SIGSTOP)
        elif action == "continue":
            if paused_file is not None:  # written before the command goes on: whoever sees it run can read it
                try:
                    paused_file.write_text(f"{gate.paused:.1f}\n")
                except OSError:
                    pass  # a side file never keeps the command stopped
            child.send_signal(signal.SIGCONT)
        time.sleep(poll)
    return child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watch", required=True, type=Path, help="the file whose touches stop the command")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long a touch keeps the command stopped")
    parser.add_argument("--paused-file", type=Path, default=None, help="write the seconds stopped so far here")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("give the command to run after --")
    sys.exit(supervise(cmd, args.watch, seconds=args.seconds, paused_file=args.paused_file))


if __name__ == "__main__":
    main()
