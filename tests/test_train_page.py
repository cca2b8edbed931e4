"""Training from the browser: the Train page starts a real run in the background, shows its evaluations,
stops it, and the run becomes a loadable checkpoint; the job rules hold for every client."""

import os

import pytest
from conftest import wait_for
from streamlit.testing.v1 import AppTest

import invemb_core as ie
from invemb_app import jobs

pytestmark = pytest.mark.slow


@pytest.fixture
def runs(tmp_path, monkeypatch, app_checkpoints):
    monkeypatch.setenv("INVEMB_RUNS", str(tmp_path / "runs"))
    yield tmp_path / "runs"
    jobs.stop_job(tmp_path / "runs")


def children(pid: int) -> list[int]:
    """The job's training process, under its supervisor."""
    return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def test_train_page_starts_watches_stops_and_the_run_loads(runs):
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/train.py").run()
    at.selectbox(key="train_preset").set_value("The study's GRU, cross-entropy")
    at.number_input(key="train_sentences").set_value(300)
    at.number_input(key="train_budget").set_value(1.0)
    at.text_input(key="train_name").set_value("tiny")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    job = jobs.active_job(runs)
    assert job is not None and job.name == "tiny"
    assert wait_for(lambda: len(jobs.read_events(job.path)) >= 2), jobs.log_tail(job.path)
    at.run()
    assert not at.exception and any("Training tiny" in i.value for i in at.info)
    assert jobs.stop_job(runs)
    assert wait_for(lambda: jobs.active_job(runs) is None)
    events = jobs.read_events(job.path)
    assert events[-1].get("done") and sum("exact_match" in e for e in events) >= 2
    ae = ie.load(job.path)
    assert ae.reconstruct(["a dog runs on the beach"])
    at.run()
    assert not at.exception and any("tiny was stopped and saved" in s.value for s in at.success)
    assert any(t.value.startswith("tiny: stopped by hand") for t in at.text)


def test_job_rules(runs):
    cfg = ie.ModelConfig(
        encoder="gru", pooling="last", decoder="parallel", decoder_cell="gru", hidden_size=32, vector_size=32
    )
    with pytest.raises(ie.InvEmbError, match="at least 1 sentence"):
        jobs.start_job("a", cfg, ie.TrainConfig(max_sentences=0, time_budget_minutes=1), root=runs)
    with pytest.raises(ie.InvEmbError, match="time budget"):
        jobs.start_job("a", cfg, ie.TrainConfig(max_sentences=10, time_budget_minutes=120), root=runs)
    with pytest.raises(ie.InvEmbError, match="run name"):
        jobs.start_job("../evil", cfg, ie.TrainConfig(max_sentences=10, time_budget_minutes=1), root=runs)
    job = jobs.start_job("first", cfg, ie.TrainConfig(max_sentences=50, time_budget_minutes=1, eval_every=5), root=runs)
    if hasattr(os, "SCHED_IDLE"):  # the run takes only CPU time the app does not want
        idle = lambda: any(os.sched_getscheduler(c) == os.SCHED_IDLE for c in children(job.pid))  # noqa: E731
        assert wait_for(idle, timeout=10)  # set in the child between fork and exec
    with pytest.raises(ie.InvEmbError, match="already going"):
        jobs.start_job("second", cfg, ie.TrainConfig(max_sentences=10, time_budget_minutes=1), root=runs)
    with pytest.raises(ie.InvEmbError, match="still training"):
        jobs.delete_run(job.path, root=runs)
    jobs.stop_job(runs)
    assert wait_for(lambda: jobs.active_job(runs) is None)
    assert jobs.list_runs(runs) == [job.path]
    jobs.delete_run(job.path, root=runs)
    assert jobs.list_runs(runs) == [] and not job.path.exists()


def test_two_clicks_at_once_start_one_run(runs, monkeypatch):
    """The check for a running job and the record of a new one are one step: with the window between them
    held open, of two starts at the same moment one runs and the other is told a run is going."""
    import threading
    import time

    cfg = ie.ModelConfig(
        encoder="gru", pooling="last", decoder="parallel", decoder_cell="gru", hidden_size=32, vector_size=32
    )
    check = jobs.active_job

    def slow_check(root=None):
        found = check(root)
        time.sleep(0.3)  # both starts would pass this check without the lock
        return found

    monkeypatch.setattr(jobs, "active_job", slow_check)
    barrier, results = threading.Barrier(2), {}

    def start(name: str) -> None:
        barrier.wait()
        try:
            results[name] = jobs.start_job(
                name, cfg, ie.TrainConfig(max_sentences=20, time_budget_minutes=1), root=runs
            )
        except ie.InvEmbError as e:
            results[name] = e

    threads = [threading.Thread(target=start, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results.values() if isinstance(r, jobs.Job)]
    refused = [r for r in results.values() if isinstance(r, ie.InvEmbError)]
    assert len(started) == 1 and len(refused) == 1 and "already going" in str(refused[0])
