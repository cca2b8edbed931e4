"""`invemb eval --keep K --record NAME`: a checkpoint's figures from the meaning alone, saved with it and shown
on the app's Model page."""

from __future__ import annotations

import hashlib

import pytest
from conftest import DATA, TINY_CHECKPOINT, tiny_config
from streamlit.testing.v1 import AppTest

import invemb_core as ie
from invemb_core import checkpoint
from invemb_core.cli import main
from invemb_core.metrics import evaluate, token_accuracy

MINILM = 384
CORPUS = DATA / "tiny_corpus.txt"


@pytest.fixture(scope="module")
def two_part(corpus) -> ie.Autoencoder:
    return ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)


def test_evaluate_with_keep_scores_the_decoded_meaning(two_part, corpus, monkeypatch):
    sentences = corpus[:8]
    ids, _ = two_part.tokenize(sentences)
    Z = two_part.encode_ids(ids)
    meaning_ids = two_part.decode_ids(two_part.meaning(Z), strategy="greedy")
    assert meaning_ids != two_part.decode_ids(Z, strategy="greedy")  # the two decodings can be told apart
    # An untrained model's token accuracies can tie (both 0), so check that evaluate decodes the meaning.
    asked = []
    meaning = two_part.meaning
    monkeypatch.setattr(two_part, "meaning", lambda Z, keep=0.0: asked.append(keep) or meaning(Z, keep=keep))
    result = evaluate(two_part, sentences, semantic=False, keep=0.0, strategy="greedy")
    assert asked == [0.0] and result["wording_kept"] == 0.0
    assert result["token_accuracy"] == token_accuracy(ids, meaning_ids)
    assert "wording_kept" not in evaluate(two_part, sentences, semantic=False, strategy="greedy")


def test_cli_eval_records_the_figures_in_the_checkpoint_and_leaves_the_weights(two_part, tmp_path, capsys):
    ck = checkpoint.save(two_part, tmp_path / "ck")
    weights = hashlib.sha256((ck / "model.safetensors").read_bytes()).hexdigest()
    args = ["eval", "--checkpoint", str(ck), "--data", str(CORPUS), "--no-semantic", "--strategy", "greedy"]
    assert main([*args, "--keep", "0", "--record", "meaning_only", "--json"]) == 0
    printed = capsys.readouterr()
    assert "recorded as 'meaning_only'" in printed.err
    loaded = ie.load(ck)
    recorded = loaded.info["metrics"]["meaning_only"]
    assert recorded["wording_kept"] == 0.0 and recorded["data"] == str(CORPUS) and recorded["n"] == 24
    assert (recorded["min_words"], recorded["max_words"]) == (5, 30)  # what the figures are of
    assert '"wording_kept": 0.0' in printed.out
    assert hashlib.sha256((ck / "model.safetensors").read_bytes()).hexdigest() == weights
    assert main([*args, "--record", "whole"]) == 0  # a second name is added beside the first
    assert set(ie.load(ck).info["metrics"]) >= {"meaning_only", "whole"}


def test_keep_on_a_checkpoint_without_a_meaning_part_is_a_clear_error(capsys):
    code = main(["eval", "--checkpoint", str(TINY_CHECKPOINT), "--data", str(CORPUS), "--keep", "0", "--no-semantic"])
    assert code == 2 and "no separate meaning part" in capsys.readouterr().err


def test_the_model_page_shows_recorded_meaning_only_figures(two_part, tmp_path, monkeypatch):
    ck = checkpoint.save(two_part, tmp_path / "checkpoints" / "default")
    result = evaluate(two_part, ie.data.read_sentences(str(CORPUS)), semantic=False, keep=0.0, strategy="greedy")
    checkpoint.record_metrics(ck, "meaning_only", {**result, "data": "data/english/typed_dev.txt"})
    monkeypatch.setenv("INVEMB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/model_card.py").run()
    assert not at.exception, [e.value for e in at.exception]
    headers = [h.value for h in at.subheader]
    assert "From the meaning alone: typed everyday sentences" in headers
    assert any("--record meaning\\_only" in c.value for c in at.caption)
