"""How fast the app is: cold start to the first usable page, and warm interactions.

    python bench/app_speed.py --repeats 5            # uses the shipped checkpoints

Cold start: from launching `streamlit run app.py` to the Reconstruct page having finished its first
run (its tables drawn) in headless Chromium, a fresh server each time. Warm interactions, two ways:
the whole page rerun after one widget change (streamlit's AppTest: page script, engine work and the
serialisation of every element, no browser), and the engine work alone (reconstructing 5 sentences
under the page's default decodings with both shipped checkpoints, a 10-step interpolation, placing a
sentence on the map). (Timing warm reruns in the browser was tried and dropped: the status widget did
not reliably show short reruns, so those figures under-counted.) Medians of --repeats runs; prints
markdown.
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

from test_browser import CHROMIUM, CHROMIUM_ARGS, free_port, serve  # noqa: E402
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


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def engine_timings(repeats: int) -> dict[str, float]:
    import invemb_core as ie
    from invemb_core.projection import load_projection
    from invemb_core.report import compare_decodings, default_decodings

    out = {}
    for name in ("default", "autoregressive"):
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
    work = {
        "interpolate 10 steps": lambda: ie.interpolate(ae, "A dog runs.", "Two women drink coffee.", steps=10),
        "place 1 sentence": lambda: projection.place(ae.encode(["A cat sleeps on a red sofa."])),
    }
    for name, fn in work.items():
        out[name], _ = median_time(fn, repeats)
    return out


def page_reruns(repeats: int) -> dict[str, float]:
    """Whole-page reruns after one widget change, through streamlit's AppTest on the shipped checkpoints:
    the page script, the engine work and the serialisation of every element, without the browser.
    Each rerun alternates between two inputs so none is a no-op."""
    from streamlit.testing.v1 import AppTest

    interactions = {
        "reconstruct page: 5 sentences, default decodings": (
            "pages/reconstruct.py",
            "text_area",
            "rec_text",
            [FIVE, FIVE.replace("orange", "red")],
        ),
        "interpolate page: 10 steps + arithmetic + path on the map": (
            "pages/interpolate.py",
            "text_input",
            "interp_a",
            ["A dog runs through the snow.", "A dog runs through the sand."],
        ),
        "embedding map page: place your sentence": (
            "pages/embedding_map.py",
            "text_area",
            "map_own",
            ["A cat sleeps on a red sofa.", "Two cats sleep on a red sofa."],
        ),
    }
    out = {}
    for name, (page, kind, key, values) in interactions.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(page).run()
        times = []
        for i in range(repeats + 1):
            widget = getattr(at, kind)(key=key).set_value(values[i % 2])
            t = time.perf_counter()
            widget.run()
            times.append(time.perf_counter() - t)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
        out[name] = statistics.median(times[1:])  # the first includes warming this page's caches
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median reported)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    engine = engine_timings(args.repeats)  # first, while the machine is quiet
    pages = page_reruns(args.repeats)
    cold = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.repeats):
            port = free_port()
            start = time.perf_counter()
            server = serve(default_checkpoint_dir(), port)  # returns once the server answers
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("h1", timeout=60_000)
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            wait_idle(page)
            cold.append(time.perf_counter() - start)
            page.close()
            server.terminate()
            server.wait(timeout=10)
        browser.close()
    print(
        f"| measurement | median (s) | runs |\n|---|---|---|\n| cold start to first page usable | {statistics.median(cold):.2f} | {len(cold)} |"
    )
    for name, t in pages.items():
        print(f"| warm rerun, {name} | {t:.3f} | {args.repeats} |")
    for name, t in engine.items():
        print(f"| engine only: {name} | {t:.3f} | {args.repeats} |")


if __name__ == "__main__":
    main()
