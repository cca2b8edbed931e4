import gzip

import pytest

import invemb_core as ie
from invemb_core import data
from invemb_core.text import TextCodec, clean_text, resolve_model_dir


def test_clean_text_removes_controls_and_lone_surrogates():
    assert clean_text("a\x00b\x07  c\n") == "a b c"
    assert clean_text("x\ud800y") == "x?y"
    with pytest.raises(ie.InvEmbError):
        clean_text(None)


def test_sources_resolve_offline():
    path = resolve_model_dir("minilm")
    assert resolve_model_dir(path) == path  # a local directory works as well
    assert resolve_model_dir("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    with pytest.raises(ie.InvEmbError):
        resolve_model_dir("not a hub id!")


def test_full_vocabulary_round_trips_unseen_words():
    model_dir = resolve_model_dir("minilm")
    codec = TextCodec(model_dir, TextCodec.build_vocab(model_dir, output_vocab="full"), max_length=32)
    ids, truncated = codec.encode(["A Flamingo stands in the lagoon."])
    assert codec.decode(ids[0]) == "a flamingo stands in the lagoon." and truncated == [False]
    assert codec.decode(ids[0] + [codec.vocab.eos, 2000]) == "a flamingo stands in the lagoon."


def test_corpus_vocabulary_maps_unseen_words_to_unk():
    model_dir = resolve_model_dir("minilm")
    probe = TextCodec(model_dir, TextCodec.build_vocab(model_dir, output_vocab="full"), max_length=32)
    vocab = TextCodec.build_vocab(model_dir, output_vocab="corpus", corpus_ids=probe.tokenizer_ids(["a dog runs"]))
    codec = TextCodec(model_dir, vocab, max_length=32)
    ids, _ = codec.encode(["a cat runs"])
    assert ids[0][1] == vocab.unk and codec.decode(ids[0]) == "a [UNK] runs"


def test_read_sentences_filters_by_words_and_reads_gzip(tmp_path):
    path = tmp_path / "s.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("one two three four five\nshort one\n\n" + " ".join(["w"] * 40) + "\n")
    assert data.read_sentences(str(path), min_words=5, max_words=30) == ["one two three four five"]
    assert list(data.stream_chunks(str(path), chunk_sentences=1, min_words=1, max_words=100))[1] == ["short one"]


def test_multi30k_splits_ship_with_the_repo(tmp_path):
    assert len(data.read_sentences("multi30k:val", min_words=5, max_words=30)) > 1000
    with pytest.raises(ie.InvEmbError, match="split"):
        data.resolve_corpus("multi30k:dev")
    with pytest.raises(ie.InvEmbError, match="not found"):
        data.resolve_corpus("/no/such/file.txt")
    with pytest.raises(ie.InvEmbError, match="invemb data english"):  # the general mix is built, not shipped
        data.resolve_corpus(str(tmp_path / "english" / "heldout.en.gz"))


def test_batches_are_deterministic_cover_everything_and_respect_the_budget():
    seqs = [[1] * n for n in [3, 9, 4, 12, 7, 7, 2, 15, 5, 6] * 20]
    a = data.epoch_batches(seqs, batch_tokens=40, seed=1, epoch=0)
    assert a == data.epoch_batches(seqs, batch_tokens=40, seed=1, epoch=0)
    assert a != data.epoch_batches(seqs, batch_tokens=40, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(len(seqs)))
    assert all(max(len(seqs[i]) for i in b) * len(b) <= 40 for b in a)
