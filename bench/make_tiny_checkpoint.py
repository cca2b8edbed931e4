"""Train the tiny checkpoint the tests decode (tests/data/tiny_checkpoint) and record its golden outputs.
A test fixture's builder: it measures nothing and feeds no section of BENCHMARKS.md.

Run after a deliberate change to the model code:  python bench/make_tiny_checkpoint.py
It memorises 24 validation captions in about a minute; the golden file stores what greedy decoding gives.
"""

import json
import shutil
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from conftest import tiny_config, tiny_train_config  # noqa: E402

import invemb_core as ie  # noqa: E402
from invemb_core.data import read_sentences  # noqa: E402
from invemb_core.projection import build_projection  # noqa: E402
from invemb_core.train import Trainer  # noqa: E402

DATA = TESTS / "data"


def main() -> None:
    sentences = read_sentences("multi30k:val", min_words=5, max_words=10, limit=24)
    corpus = DATA / "tiny_corpus.txt"
    corpus.write_text("\n".join(sentences) + "\n")
    model = tiny_config(hidden_size=64, vector_size=128, slot_size=16)
    train = tiny_train_config(
        corpus,
        max_steps=300,
        eval_every=100,
        checkpoint_every=300,
        batch_tokens=512,
        warmup_steps=20,
        eval_sentences=24,
        seed=0,
    )
    out = DATA / "tiny_checkpoint"
    shutil.rmtree(out, ignore_errors=True)
    Trainer(model, train, out, progress=False).run()
    for name in ("trainer_state.safetensors", "trainer_state.json"):  # tests only need the model
        (out / name).unlink()
    ae = ie.load(out)
    build_projection(
        ae, splits=[str(corpus)], name="tiny", out_dir=out, progress=False
    )  # so the app's map page can be tested
    golden = {"sentences": sentences, "greedy": ae.reconstruct(sentences)}
    (DATA / "golden.json").write_text(json.dumps(golden, indent=2) + "\n")
    exact = sum(ae.normalize(s) == r for s, r in zip(sentences, golden["greedy"]))
    print(f"wrote {out}; exact reconstructions {exact}/{len(sentences)}")


if __name__ == "__main__":
    main()
