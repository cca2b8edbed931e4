"""How long a map of your own sentences takes, in a real browser: from the upload to the map drawn.
Feeds BENCHMARKS.md, "A map of your own sentences" (issue 39: 1,000 sentences <= 15 s, 5,000 <= 60 s on two
cores).

    python bench/corpus_speed.py                  # the shipped default checkpoint, held-out general English
    python bench/corpus_speed.py --sizes 1000     # one size

One server (``streamlit run app.py``) over the shipped checkpoints; for each upload a new headless Chromium
page (a new session, as a second visitor) opens the Embedding map, picks "your sentences" and "Upload a
file", waits until that run is over, then hands the file to the uploader. Timed from handing over the file
to the map's canvas on the page, and to the page settled (the sentences decoded back after the map was
drawn, the page run again with them, everything drawn). The files
are held-out general-English sentences (``data/english/heldout.en.gz``, 9,328 lines), a different slice for
each upload, so no upload finds another's map; the last upload repeats the first file (the map kept by
content). Also the engine alone: the same steps without a browser.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chromium import CHROMIUM, CHROMIUM_ARGS, free_port, open_page, serve, settle  # noqa: E402

from invemb_core.checkpoint import default_checkpoint_dir  # noqa: E402


def sentences(n: int, skip: int) -> list[str]:
    with gzip.open(ROOT / "data" / "english" / "heldout.en.gz", "rt", encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    if skip + n > len(lines):
        raise SystemExit(f"heldout.en.gz has {len(lines)} lines; {skip + n} needed")
    return lines[skip : skip + n]


def upload(browser, url: str, path: Path, timeout_ms: int = 300_000) -> dict[str, float]:
    """A new page on the Embedding map, "your sentences", "Upload a file", then ``path``: seconds to the
    map's canvas and to the page settled."""
    page = open_page(browser, f"{url}/embedding_map")
    page.get_by_text("your sentences", exact=True).click()
    page.wait_for_selector("text=Upload a file")
    settle(page)
    page.get_by_text("Upload a file", exact=True).click()
    page.wait_for_selector('input[type="file"]', state="attached")
    settle(page)
    assert page.locator(".vega-embed canvas").count() == 0, "a map is on the page before the upload"
    start = time.perf_counter()
    page.set_input_files('input[type="file"]', str(path))
    page.wait_for_selector(".vega-embed canvas", timeout=timeout_ms)
    drawn = time.perf_counter() - start
    page.wait_for_selector("text=Download the map (CSV", timeout=timeout_ms)  # offered once all is decoded back
    settle(page, timeout_ms=timeout_ms)
    settled = time.perf_counter() - start
    page.close()
    return {"canvas": drawn, "settled": settled}


def engine(sizes: list[int]) -> None:
    """The same steps without the app, in the app's order: read and encode; lay out and cluster; name the
    clusters (the map is drawn here); decode the clusters' centres; decode every sentence back (greedy)."""
    import invemb_core as ie
    from invemb_core.clusters import cluster_centroids, cluster_keywords
    from invemb_core.corpus_map import corpus_projection, decode_back, encode_corpus, warm_up
    from invemb_core.user_corpus import read_corpus

    ae = ie.load(default_checkpoint_dir() / "default")
    warm_up()
    print("| sentences | read + encode | layout + clusters | names | **to the map** | centres | decode back | total |")
    print("|---|---|---|---|---|---|---|---|")
    for n in dict.fromkeys(sizes):
        text = "\n".join(sentences(n, 0))  # the browser's first slice: this process has no server's caches
        t0 = time.perf_counter()
        corpus = read_corpus(text.encode(), filename="mine.txt")
        encoded = encode_corpus(ae, corpus.sentences, decoding=None)
        t1 = time.perf_counter()
        projection = corpus_projection(ae, encoded)
        t2 = time.perf_counter()
        cluster_keywords(list(projection.table.sentence), list(projection.table.cluster))
        t3 = time.perf_counter()
        ae.decode(cluster_centroids(projection, list(projection.table.cluster))[1])
        t4 = time.perf_counter()
        decode_back(ae, encoded)
        t5 = time.perf_counter()
        steps = [t1 - t0, t2 - t1, t3 - t2, t3 - t0, t4 - t3, t5 - t4, t5 - t0]
        print(f"| {n:,} | " + " | ".join(f"{t:.1f}" for t in steps) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 1000, 5000], help="sentences per upload (each a new slice)"
    )
    parser.add_argument("--no-engine", action="store_true", help="only the browser timings")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    files, skip = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.sizes):
            files.append((f"{n:,}" + (" (the server's first)" if i == 0 else ""), Path(tmp) / f"mine-{i}.txt"))
            files[-1][1].write_text("\n".join(sentences(n, skip)) + "\n", encoding="utf-8")
            skip += n
        files.append((f"{args.sizes[0]:,}, the same file again", files[0][1]))
        port = free_port()
        server = serve(default_checkpoint_dir(), port)
        try:  # a failed run must not leave a server behind to load the machine
            rows = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for label, path in files:
                    t = upload(browser, f"http://127.0.0.1:{port}", path)
                    rows.append(f"| {label} | {t['canvas']:.1f} | {t['settled']:.1f} |")
                    print(rows[-1], flush=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("\n| upload | to the map drawn (s) | to the page settled, all decoded back (s) |\n|---|---|---|")
    print("\n".join(rows))
    if not args.no_engine:
        print()
        engine(args.sizes)


if __name__ == "__main__":
    main()
