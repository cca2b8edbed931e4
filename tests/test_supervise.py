"""supervise.py: a Train-page run is stopped while the app is in use, continued after, and never left
stopped; signals reach it and it runs at the lowest priority."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_for

import invemb_app

SUPERVISE = Path(invemb_app.__file__).with_name("supervise.py")
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads process states from /proc")


def state(pid: int) -> str:
    """R/S (running or sleeping), T (stopped) or Z/X (gone), as /proc says."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


@pytest.fixture
def supervised(tmp_path):
    """A supervisor over a 30-second sleep: (supervisor, command's pid, watched file, paused file)."""
    watch, paused = tmp_path / "interacting", tmp_path / "paused"
    cmd = [sys.executable, str(SUPERVISE), "--watch", str(watch), "--seconds", "2", "--paused-file", str(paused)]
    # Started with SIGINT ignored, as a shell starts a background job: the command must still get it.
    ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    proc = subprocess.Popen([*cmd, "--", sys.executable, "-c", "import time; time.sleep(30)"], preexec_fn=ignore_sigint)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    assert wait_for(lambda: children.read_text().split(), timeout=10)
    child = int(children.read_text().split()[0])
    cmdline = Path(f"/proc/{child}/cmdline")
    assert wait_for(lambda: b"time.sleep(30)" in cmdline.read_bytes(), timeout=10)  # started, not just forked
    time.sleep(0.2)  # the supervisor's loop runs once its Popen has returned
    yield proc, child, watch, paused
    for pid in (proc.pid, child):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def test_the_command_stops_while_the_app_is_used_and_continues_after(supervised):
    proc, child, watch, paused = supervised
    assert state(child) in "RS"
    if hasattr(os, "SCHED_IDLE"):
        assert os.sched_getscheduler(child) == os.SCHED_IDLE
    watch.touch()
    start = time.monotonic()
    # Stopped within a few polls (every 25 ms): on a loaded machine the lowest-priority command may take a
    # while to be scheduled even to stop, so the window is 2 s.
    assert wait_for(lambda: state(child) == "T", timeout=1.8)
    assert wait_for(lambda: state(child) in "RS", timeout=5.0)  # continued once the touch is 2 s old
    assert time.monotonic() - start >= 1.9
    assert 1.0 <= float(paused.read_text()) <= 3.0
    assert proc.poll() is None


def test_signals_reach_a_stopped_command(supervised):
    proc, child, watch, _ = supervised
    watch.touch()
    assert wait_for(lambda: state(child) == "T", timeout=1.8)
    proc.send_signal(signal.SIGINT)  # what stop_job sends
    assert proc.wait(timeout=5) != 0  # the sleep ended by KeyboardInterrupt, and its code came back
    assert state(child) in "ZX"


def test_a_command_is_never_left_stopped_when_the_supervisor_dies(supervised):
    proc, child, watch, _ = supervised
    watch.touch()
    assert wait_for(lambda: state(child) == "T", timeout=1.8)
    os.kill(proc.pid, signal.SIGKILL)  # while the touch still holds it stopped
    assert wait_for(lambda: state(child) in "RS", timeout=0.8)  # continued by the kernel, not by the clock
