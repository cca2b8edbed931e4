"""Train: start a small training run from the browser and watch it learn; list and delete old runs."""

import time
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import invemb_core as ie
from invemb_app import jobs
from invemb_app.render import diff_html, html_table, md_escape

st.title("Train")
st.caption(
    "A real `invemb train` run on a small slice of Multi30k, in a background process on one core that pauses "
    "while anyone uses the other pages (pauses count against its time budget), written under runs/. "
    "One run at a time per server: everyone sees the same run and can watch it. "
    "When it ends, pick it in the sidebar to use it on every other page."
)

job = jobs.active_job()
if job is None:
    with st.form("train_form"):
        c1, c2, c3 = st.columns([2, 1, 1])
        preset = c1.selectbox("Design", list(jobs.PRESETS), key="train_preset")
        sentences = c2.number_input("Training sentences", 0, 29_000, 2_000, 500, key="train_sentences")
        budget = c3.number_input("Time budget (minutes)", 0.0, 60.0, 2.0, 0.5, key="train_budget")
        name = st.text_input("Run name", f"run-{datetime.now():%Y%m%d-%H%M%S}", key="train_name", max_chars=64)
        start = st.form_submit_button("Start training", type="primary")
    if start:
        try:
            cfg, tcfg, description = jobs.preset(preset, sentences=int(sentences), minutes=float(budget))
            job = jobs.start_job(name.strip(), cfg, tcfg, description=description)
        except ie.InvEmbError as e:
            st.error(md_escape(str(e)))
        else:
            st.session_state.train_watching = str(job.path)
            st.rerun()


@st.fragment(run_every=2)
def live() -> None:
    """The running (or last watched) run's curves and sample reconstructions, refreshed every 2 s."""
    running = jobs.active_job()
    was_running = st.session_state.get("train_was_running", running is not None)
    st.session_state.train_was_running = running is not None
    if was_running != (running is not None):
        st.rerun()  # a run started or ended: the whole page (form, runs list) and the sidebar change
    if running:  # watched from here, whoever started it: its result stays on this page when it ends
        st.session_state.train_watching = str(running.path)
    path = st.session_state.get("train_watching")
    if not path:
        return
    events = jobs.read_events(path)
    name = md_escape(path.rsplit("/", 1)[-1])  # shown in Markdown elements below
    evaluations = sum("train_loss" in e for e in events)
    if running:
        left = running.budget_minutes * 60 - (time.time() - running.started)
        c1, c2 = st.columns([4, 1])
        paused = jobs.paused_seconds(path)
        aside = f" It has paused {paused:.0f} s while the other pages were in use." if paused >= 1 else ""
        count = f"{evaluations} evaluation" + ("" if evaluations == 1 else "s")
        budget = f"about {left:.0f} s of its budget left" if left >= 1 else "its budget is used: evaluating and saving"
        c1.info(f"Training {name}: {count} so far, {budget}.{aside}")
        if c2.button("Stop", key="train_stop", type="primary"):
            jobs.stop_job()
    else:
        done = events and events[-1].get("done")
        if done:
            ended = "was stopped and saved" if jobs.was_stopped(path) else "used its time budget"
            st.success(f"{name} {ended} after {events[-1]['step']} steps. Pick runs/{name} in the sidebar to use it.")
        else:
            st.warning(f"{name} is not running and did not finish. Its last output:")
            st.code(jobs.log_tail(path) or "(no output)")
    curve = pd.DataFrame([e for e in events if "train_loss" in e])
    if curve.empty:
        st.caption("Waiting for the first evaluation...")
        return
    fig = go.Figure()
    fig.add_scatter(x=curve.step, y=curve.train_loss, name="training loss", yaxis="y2", line=dict(dash="dot"))
    fig.add_scatter(x=curve.step, y=curve.token_accuracy, name="val token accuracy")
    fig.add_scatter(x=curve.step, y=curve.exact_match, name="val exact match")
    fig.update_layout(
        height=320,
        margin=dict(l=0, r=0, t=30, b=0),
        xaxis_title="step",
        yaxis=dict(title="accuracy", range=[0, 1]),
        yaxis2=dict(title="loss", overlaying="y", side="right", rangemode="tozero", showgrid=False, tickformat=".1f"),
        legend=dict(orientation="h"),
    )
    st.plotly_chart(fig, key="train_curve")
    last = curve.iloc[-1]
    st.markdown(f"**Validation sentences at step {int(last.step)}**")
    samples = next(e["samples"] for e in reversed(events) if "samples" in e)
    st.html(html_table(["input", "reconstruction"], [[diff_html(a, a), diff_html(a, b)] for a, b in samples]))


live()

st.subheader("Runs")
runs = jobs.list_runs()
if not runs:
    st.caption("No runs yet.")
for run in runs:
    events = jobs.read_events(run)
    if job and job.path == run:
        status = "training"
    elif events and events[-1].get("done"):
        status = "stopped by hand" if jobs.was_stopped(run) else "finished (time budget used)"
    else:
        status = "did not finish"
    curve = [e for e in events if "exact_match" in e]
    exact = f", val exact {curve[-1]['exact_match']:.2f} at step {curve[-1]['step']}" if curve else ""
    c1, c2 = st.columns([5, 1])
    c1.text(f"{run.name}: {status}{exact}")
    if status != "training" and c2.button("Delete", key=f"train_delete_{run.name}"):
        jobs.delete_run(run)
        st.rerun()
