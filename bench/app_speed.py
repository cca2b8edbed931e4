"""How fast the app is, as a person feels it: cold start, and each interaction timed in a real browser.
Feeds BENCHMARKS.md, "Felt speed in the app" and "Two decodings at once" (and the design table's app rows).

    python bench/app_speed.py --repeats 6            # uses the shipped checkpoints

Cold start: from launching `streamlit run app.py` to the Reconstruct page having finished its first
run (its reconstruction tables drawn) in headless Chromium, a fresh server each time.

Felt interactions, in headless Chromium at 1,400 px: the page is instrumented before it loads (a
wrapper around its WebSocket and a MutationObserver, timestamps from the page's own clock). After the
action (a text box committed with Ctrl+Enter / Enter, as a user does) we wait until the page is idle,
then read: the moment the browser sent the rerun request; the last message from the server (the
script has finished and every element has arrived); the last change to the page, and the moment the
browser was next idle after it (everything drawn: layout, paint and charts).
Reported: action -> script finished, action -> rendered, and the bytes the server sent.

For the profile of where the time goes, the same interactions are also timed as whole-page reruns
through streamlit's AppTest (page script, engine work and serialisation of every element, no browser
and no websocket), and the engine work alone. Medians of --repeats runs; prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from background import TRAINING_PRESET, training_in_background  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS, begin_action, free_port, open_page, serve, settle  # noqa: E402
from timing import median_time  # noqa: E402

from invemb_core.checkpoint import default_checkpoint_dir  # noqa: E402

FIVE = "\n".join(
    [
        "A man in an orange hat starring at something.",
        "A Boston Terrier is running on lush green grass in front of a white fence.",
        "A girl in karate uniform breaking a stick with a front kick.",
        "Five people wearing winter jackets and helmets stand in the snow, with snowmobiles in the background.",
        "People are fixing the roof of a house.",
    ]
)
# Sentences a user types, not captions (issue 23: a typed sentence must not be slower than a caption).
FIVE_TYPED = "\n".join(
    [
        "I bought an orange umbrella before the storm.",
        "Do you prefer tea or coffee in the morning?",
        "The stock market fell sharply after the central bank raised interest rates.",
        "Please turn off the lights when you leave the room.",
        "My sister is studying medicine at the university.",
    ]
)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def engine_timings(repeats: int) -> dict[str, float]:
    import invemb_core as ie
    from invemb_core.alternatives import temperature_view
    from invemb_core.projection import load_projection
    from invemb_core.report import compare_decodings, default_decodings

    out = {}
    for name in ("default", "plain"):
        ae = ie.load(ROOT / "checkpoints" / name)
        decodings = default_decodings(ae)
        label = f"reconstruct 5 sentences x {len(decodings)} decodings ({', '.join(decodings)}), {name}"
        out[label], _ = median_time(partial(compare_decodings, ae, FIVE.splitlines(), decodings), repeats)
        # The decoding inside it, as it is (one decoder pass for all) and one decoding at a time.
        Z = ae.encode(FIVE.splitlines())
        shared, _ = median_time(partial(ae.decode_ids_many, Z, decodings), repeats)
        alone, _ = median_time(lambda ae=ae, Z=Z, d=decodings: [ae.decode_ids(Z, **kw) for kw in d.values()], repeats)
        out[f"  of which decoding, one pass for all, {name}"] = shared
        out[f"  decoding, each decoding on its own, {name}; ratio {alone / shared:.1f}x"] = alone
    ae = ie.load()
    projection = load_projection(ae.info["path"])
    first, decodings = FIVE.splitlines()[0], default_decodings(ae)
    work = {
        # What the Reconstruct page decodes when one line is edited: that line alone, then the temperature
        # section (here for the same line: the first, which it shows by default).
        f"reconstruct: the edited line x {len(decodings)} decodings, default": lambda: compare_decodings(
            ae, [first], decodings
        ),
        "reconstruct: temperature section (meaning only: greedy, alternatives, 6 samples), default": lambda: (
            temperature_view(ae, first, temperature=1.0, samples=6, keep=0.0)
        ),
        "interpolate 10 steps": lambda: ie.interpolate(ae, "A dog runs.", "Two women drink coffee.", steps=10),
        "place 1 sentence": lambda: projection.place(ae.encode(["A cat sleeps on a red sofa."])),
    }
    for name, fn in work.items():
        out[name], _ = median_time(fn, repeats)
    # Reconstruct with the wording slider at 0 (the meaning alone): the meaning decoder's greedy rows are drawn
    # first, then the sampled ones (T rows, rerank), as the page does. Each call decodes sentences never seen
    # before; the second stage reads the same ones in turn, so it finds their drafts kept, as on the page.
    later = {n: d for n, d in decodings.items() if d.get("strategy") in ("sample", "rerank")}
    first_rows = {n: d for n, d in decodings.items() if n not in later}
    for stage, chosen in (("first rows", first_rows), ("then the sampled rows", later)):
        colours = iter(COLOURS)

        def wording_zero(chosen=chosen, colours=colours):
            colour = next(colours)
            return compare_decodings(ae, [line.format(colour) for line in THREE_TYPED], chosen, keep=0.0)

        label = f"reconstruct at wording 0, 3 typed sentences, {stage} ({', '.join(chosen)}), default"
        out[label], _ = median_time(wording_zero, repeats)
    return out


def page_reruns(repeats: int) -> dict[str, float]:
    """Whole-page reruns after one widget change, through streamlit's AppTest on the shipped checkpoints:
    the page script, the engine work and the serialisation of every element, without the browser."""
    from streamlit.testing.v1 import AppTest

    # The same inputs as the browser's (FELT), each repeat new text: results are kept per input.
    widgets = {"reconstruct": ("text_area", "rec_text"), "interpolate": ("text_input", "interp_a")}
    widgets["embedding_map"] = ("text_area", "map_own")
    out = {}
    for name, (path, _, _, value, _) in FELT.items():
        kind, key = widgets[path or "reconstruct"]
        page = f"invemb_app/pages/{path or 'reconstruct'}.py"
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(page).run()
        times = []
        for i in range(repeats + 1):
            widget = getattr(at, kind)(key=key).set_value(value(i))
            t = time.perf_counter()
            widget.run()
            times.append(time.perf_counter() - t)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
        out[name] = statistics.median(times[1:])  # the first includes warming this page's caches
    return out


IDLE_MS = 800  # no server message for this long and no "Running..." widget: the run is over
COLOURS = ["red", "blue", "green", "black", "white", "yellow", "purple", "brown", "grey", "pink", "silver", "gold"]
# Per interaction: page, input selector, key that commits it, the value typed at repeat i, and the text
# that only that new result shows (outputs are lower case). Every repeat types text never typed before:
# the pages keep results per input, so a repeated value would time a cache hit, not an interaction.
FELT = {
    "reconstruct 5 sentences after editing one line": (
        "reconstruct",
        'textarea[aria-label^="Sentences"]',
        "Control+Enter",
        lambda i: FIVE.replace("orange", COLOURS[i]),
        lambda i: f"{COLOURS[i]} hat",
    ),
    "reconstruct 5 typed sentences after editing one line": (
        "reconstruct",
        'textarea[aria-label^="Sentences"]',
        "Control+Enter",
        lambda i: FIVE_TYPED.replace("orange", COLOURS[i]),
        lambda i: f"{COLOURS[i]} umbrella",
    ),
    "interpolate after changing A": (
        "interpolate",
        'input[aria-label="Sentence A"]',
        "Enter",
        lambda i: f"A {COLOURS[i]} dog runs through the snow.",
        lambda i: f"a {COLOURS[i]} dog runs",
    ),
    "languages: an English sentence written in German and French": (
        "languages",
        'textarea[aria-label^="Sentences"]',
        "Control+Enter",
        lambda i: f"A {COLOURS[i]} dog runs through the snow.",
        lambda i: f"a {COLOURS[i]} dog runs through the snow.",
    ),
    "place a sentence on the map": (
        "embedding_map",
        'textarea[aria-label^="Your sentences"]',
        "Control+Enter",
        lambda i: f"A cat sleeps on a {COLOURS[i]} bed.",
        lambda i: f"a cat sleeps on a {COLOURS[i]} bed",
    ),
}
# Done: the new result is on the page (as text, or as the hover text of a point on a plotly chart), no
# "Running..." widget and no spinner, no text that marks rows still coming (``absent``: the page draws its
# first rows, then decodes the rest in the same run without sending anything), and the server quiet for IDLE_MS.
DONE = """([idle, expect, absent]) => { const s = window.__invemb; const now = performance.now();
  const shown = document.body.innerText.toLowerCase().includes(expect) ||
    [...document.querySelectorAll('.js-plotly-plot')].some((plot) => (plot.data || []).some(
      (trace) => [].concat(trace.hovertext || []).some((h) => String(h).toLowerCase().includes(expect))));
  return s.sent.length > 0 && s.recv.length > 0 && shown &&
    !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-testid="stSpinner"]') &&
    !(absent && document.body.innerText.includes(absent)) &&
    now - s.recv[s.recv.length - 1] > idle; }"""


# Slider interactions on Reconstruct: before each timed move, the text box gets sentences never typed
# before (untimed), so the move decodes anew; the move itself is the slider's thumb taken to its minimum
# (Home), and the slider goes back (End, untimed) afterwards. Per interaction: the slider's label, the
# sentences typed at repeat i, and the text the page shows while part of the result is still coming
# (None: it comes at once); with it, the moment that text appears is reported as "first rows".
SLIDERS = {
    "reconstruct: wording kept to 0 (meaning only), 3 typed sentences": (
        "Wording kept",
        lambda i: "\n".join(line.format(COLOURS[i]) for line in THREE_TYPED),
        "decoding…",
    ),
    "reconstruct: the temperature view's T to 0.1": (
        "Temperature",
        lambda i: FIVE.replace("orange", COLOURS[i]),
        None,
    ),
}
# The page shows ``partial`` (part of the result drawn), or has finished.
FIRST = f"([idle, partial]) => document.body.innerText.includes(partial) || ({DONE})([idle, '', ''])"
THREE_TYPED = [  # every line new at every repeat (the page keeps each line's result)
    "I bought an {} umbrella before the storm.",
    "Do you prefer tea or coffee in the {} kitchen?",
    "Please turn off the {} lights when you leave the room.",
]


def timed(page) -> dict[str, float]:
    """ms from the action's first message to the last server message and to the page drawn, and kB sent."""
    s = page.evaluate("() => window.__invemb")
    start = s["sent"][0]
    return {
        "finished": s["recv"][-1] - start,
        "rendered": max(s["mutation"], s.get("idle", 0), s["recv"][-1]) - start,
        "kB": s["bytes"] / 1000,
    }


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    out = {
        "script_finished_ms": statistics.median(r["finished"] for r in runs),
        "rendered_ms": statistics.median(r["rendered"] for r in runs),
        "kB": statistics.median(r["kB"] for r in runs),
    }
    if all("first" in r for r in runs):
        out["first_rows_ms"] = statistics.median(r["first"] for r in runs)
    return out


def felt_interactions(browser, base_url: str, repeats: int, only: str = "") -> dict[str, dict[str, float]]:
    """Per interaction (those whose name starts with ``only``), medians of: ms to script finished, ms to
    rendered, kB the server sent."""
    out = {}
    for name, (path, selector, key, value, expected) in FELT.items():
        if not name.startswith(only):
            continue
        page = open_page(browser, f"{base_url}/{path}")
        box = page.locator(selector).first
        runs = []
        for i in range(repeats + 1):
            begin_action(page)
            box.fill(value(i))
            box.press(key)
            print(f"{name}: run {i}", file=sys.stderr, flush=True)
            page.wait_for_function(DONE, arg=[IDLE_MS, expected(i), ""], timeout=120_000, polling=50)
            if i:  # the first includes warming this page's caches
                runs.append(timed(page))
        page.close()
        out[name] = medians(runs)
    for name, (label, value, shown_while_coming) in SLIDERS.items():
        if not name.startswith(only):
            continue
        page = open_page(browser, f"{base_url}/reconstruct")
        box = page.locator('textarea[aria-label^="Sentences"]').first
        runs = []
        for i in range(repeats + 1):
            begin_action(page)
            box.fill(value(i))
            box.press("Control+Enter")
            settle(page, rerun=True)
            sliders = page.get_by_role("slider")
            thumb = sliders.nth([e.get_attribute("aria-label") for e in sliders.all()].index(label))
            thumb.focus()
            begin_action(page)
            thumb.press("Home")
            print(f"{name}: run {i}", file=sys.stderr, flush=True)
            first = None
            if shown_while_coming:
                page.wait_for_function(FIRST, arg=[IDLE_MS, shown_while_coming], timeout=120_000, polling=20)
                first = page.evaluate("() => performance.now() - window.__invemb.sent[0]")
            page.wait_for_function(DONE, arg=[IDLE_MS, "", shown_while_coming or ""], timeout=120_000, polling=50)
            if i:
                runs.append({**timed(page), **({"first": first} if first is not None else {})})
            begin_action(page)
            thumb.press("End")
            settle(page, rerun=True)
        page.close()
        out[name] = medians(runs)
    return out


def print_felt(felt: dict[str, dict[str, float]]) -> None:
    print(
        "| interaction (headless Chromium) | action -> first rows shown (ms) | action -> script finished (ms) "
        "| action -> rendered (ms) | kB sent |"
    )
    print("|---|---|---|---|---|")
    for name, f in felt.items():
        first = f"{f['first_rows_ms']:.0f}" if "first_rows_ms" in f else ""
        print(f"| {name} | {first} | {f['script_finished_ms']:.0f} | {f['rendered_ms']:.0f} | {f['kB']:.0f} |")


def cold_starts(browser, repeats: int):
    """Launch to the Reconstruct page's first run drawn, on ``repeats`` fresh servers: the times (s), and
    the last server (still running) with its port."""
    cold = []
    for _ in range(repeats):
        port = free_port()
        start = time.perf_counter()
        server = serve(default_checkpoint_dir(), port)  # returns once the server answers
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/reconstruct")  # the figure measured before the Lesson was the landing page
        page.wait_for_selector("h1", timeout=60_000)
        page.wait_for_selector(".ie-table", timeout=60_000)
        wait_idle(page)
        cold.append(time.perf_counter() - start)
        page.close()
        if len(cold) < repeats:
            server.terminate()
            server.wait(timeout=10)
    return cold, server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument(
        "--felt-only", action="store_true", help="only the browser interactions (no cold start, AppTest, engine)"
    )
    parser.add_argument(
        "--while-training",
        action="store_true",
        help="with --felt-only: a Train-page run trains in the background meanwhile (the shared-server case)",
    )
    parser.add_argument(
        "--only", default="", help="with --felt-only: the interactions whose name starts with this (e.g. interpolate)"
    )
    parser.add_argument("--cold-only", action="store_true", help="only the cold start")
    parser.add_argument("--engine-only", action="store_true", help="only the engine timings (no browser)")
    args = parser.parse_args()
    if args.repeats + 1 > len(COLOURS):
        parser.error(f"at most {len(COLOURS) - 1} repeats: each types a new colour")
    from playwright.sync_api import sync_playwright

    if args.felt_only:
        with training_in_background(args.while_training) as evaluations:
            before = evaluations()
            port = free_port()
            server = serve(default_checkpoint_dir(), port)
            try:  # a failed run must not leave a server behind to load the machine
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    felt = felt_interactions(browser, f"http://127.0.0.1:{port}", args.repeats, args.only)
                    browser.close()
            finally:
                server.terminate()
            after = evaluations()
        if args.while_training:
            print(
                f"While a Train-page run trained ({TRAINING_PRESET}): evaluations {before[0]} -> {after[0]}, "
                f"{after[1] - before[1]:.0f} CPU seconds of training\n"
            )
        print_felt(felt)
        return
    engine = {} if args.cold_only else engine_timings(args.repeats)  # first, while the machine is quiet
    if args.engine_only:
        for name, t in engine.items():
            print(f"| engine only: {name} | {t:.3f} | {args.repeats} |")
        return
    pages = {} if args.cold_only else page_reruns(args.repeats)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        cold, server, port = cold_starts(browser, args.repeats)
        felt = {} if args.cold_only else felt_interactions(browser, f"http://127.0.0.1:{port}", args.repeats)
        server.terminate()  # the last cold-started server: the interactions above ran on it
        server.wait(timeout=10)
        browser.close()
    if felt:
        print_felt(felt)
        print()
    print(
        f"| measurement | median (s) | runs |\n|---|---|---|\n| cold start to first page usable | {statistics.median(cold):.2f} | {len(cold)} |"
    )
    for name, t in pages.items():
        print(f"| warm rerun (AppTest), {name} | {t:.3f} | {args.repeats} |")
    for name, t in engine.items():
        print(f"| engine only: {name} | {t:.3f} | {args.repeats} |")


if __name__ == "__main__":
    main()
