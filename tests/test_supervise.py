"""supervise.py: a Train-page run is stopped while the app is in use, continued after, and never left
stopped; signals reach it and it runs at the lowest priority.

The decisions are tested as a pure step over a fake clock (fast tier); real processes, read from /proc,
show that the signals do what the decisions say (slow tier: each waits out a real touch window)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_for

import invemb_app
from invemb_app.supervise import Gate, recently_touched

SUPERVISE = Path(invemb_app.__file__).with_name("supervise.py")
SECONDS = 4.0  # the touch window of the process tests: long, so that a loaded machine never misses it
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads process states from /proc")


def test_the_gate_stops_once_per_busy_spell_and_counts_the_pause():
    gate, clock = Gate(), 100.0
    timeline = [(False, None), (True, "stop"), (True, None), (True, None), (False, "continue"), (False, None)]
    for busy, expected in timeline:
        assert gate.step(busy, clock) == expected
        clock += 0.5
    assert gate.paused == pytest.approx(1.5)  # stopped at 100.5, continued at 102.0
    assert gate.step(True, 200.0) == "stop" and gate.step(False, 201.0) == "continue"
    assert gate.paused == pytest.approx(2.5)  # pauses add up


def test_a_touch_counts_for_its_window_and_a_clock_step_back_never_holds_long(tmp_path):
    watch = tmp_path / "interacting"
    assert not recently_touched(watch, 2.0)  # no file: never busy
    watch.touch()
    os.utime(watch, (1000.0, 1000.0))
    assert recently_touched(watch, 2.0, now=1001.9)
    assert not recently_touched(watch, 2.0, now=1002.1)
    assert recently_touched(watch, 2.0, now=999.0)  # the clock stepped back a second
    assert not recently_touched(watch, 2.0, now=900.0)  # ... or far: not stopped for 100 s


def state(pid: int) -> str:
    """R/S (running or sleeping), T (stopped) or Z/X (gone), as /proc says."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (the supervisor's last step before its loop)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.fixture
def supervised(tmp_path):
    """A supervisor over a 30-second sleep: (supervisor, command's pid, watched file, paused file)."""
    watch, paused = tmp_path / "interacting", tmp_path / "paused"
    cmd = [
        sys.executable,
        str(SUPERVISE),
        "--watch",
        str(watch),
        "--seconds",
        str(SECONDS),
        "--paused-file",
        str(paused),
    ]
    # Started with SIGINT ignored, as a shell starts a background job: the command must still get it.
    ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    proc = subprocess.Popen([*cmd, "--", sys.executable, "-c", "import time; time.sleep(30)"], preexec_fn=ignore_sigint)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    assert wait_for(lambda: children.read_text().split(), timeout=10)
    child = int(children.read_text().split()[0])
    cmdline = Path(f"/proc/{child}/cmdline")
    assert wait_for(lambda: b"time.sleep(30)" in cmdline.read_bytes(), timeout=10)  # started, not just forked
    assert wait_for(lambda: handles_sigterm(proc.pid), timeout=10)  # in its loop: signals are passed on
    yield proc, child, watch, paused
    for pid in (proc.pid, child):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


@pytest.mark.slow
@needs_proc
def test_the_command_stops_while_the_app_is_used_and_continues_after(supervised):
    proc, child, watch, paused = supervised
    assert state(child) in "RS"
    if hasattr(os, "SCHED_IDLE"):
        assert os.sched_getscheduler(child) == os.SCHED_IDLE
    watch.touch()
    start = time.monotonic()
    # Stopped within a few polls (every 25 ms); seen here before the touch window ends.
    assert wait_for(lambda: state(child) == "T", timeout=SECONDS - 0.5)
    assert wait_for(lambda: state(child) in "RS", timeout=3 * SECONDS)  # continued once the touch is old
    assert time.monotonic() - start >= SECONDS - 0.1
    assert SECONDS / 2 <= float(paused.read_text()) <= SECONDS + 1
    assert proc.poll() is None


@pytest.mark.slow
@needs_proc
def test_signals_reach_a_stopped_command(supervised):
    proc, child, watch, _ = supervised
    watch.touch()
    assert wait_for(lambda: state(child) == "T", timeout=SECONDS - 0.5)
    proc.send_signal(signal.SIGINT)  # what stop_job sends
    assert proc.wait(timeout=5) != 0  # the sleep ended by KeyboardInterrupt, and its code came back
    assert state(child) in "ZX"


@pytest.mark.slow
@needs_proc
def test_a_command_is_never_left_stopped_when_the_supervisor_dies(supervised):
    proc, child, watch, _ = supervised
    watch.touch()
    assert wait_for(lambda: state(child) == "T", timeout=SECONDS - 0.5)
    os.kill(proc.pid, signal.SIGKILL)  # while the touch still holds it stopped
    assert wait_for(lambda: state(child) in "RS", timeout=2 * SECONDS)  # only the kernel is left to continue it
