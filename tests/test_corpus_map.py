"""Mapping a user's corpus (encode in chunks with progress, lay out, cluster, export, save for the app, the
CLI on a file) and the similarity views (meaning, whole vector) it is laid out and searched by."""

import shutil

import numpy as np
import pytest
import torch
from conftest import TINY_CHECKPOINT, tiny_config

import invemb_core as ie
from invemb_core.cli import main
from invemb_core.corpus_map import (
    EXPORT_COLUMNS,
    corpus_projection,
    decode_back,
    default_clusters,
    encode_corpus,
    export_table,
    nearest_neighbour_graph,
)
from invemb_core.projection import list_projections, load_projection, save_projection
from invemb_core.similarity import nearest, nearest_on_map, similarity_matrices, vector_parts, view, views


@pytest.fixture(scope="module")
def tiny():
    return ie.load(TINY_CHECKPOINT)


@pytest.fixture(scope="module")
def two_part(corpus):
    return ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=384 + 16), corpus=corpus, seed=0)


@pytest.fixture(scope="module")
def sentences():
    return [line.strip() for line in (TINY_CHECKPOINT.parent / "tiny_corpus.txt").read_text().splitlines()][:24]


@pytest.fixture(scope="module")
def encoded(tiny, sentences):
    return encode_corpus(tiny, sentences, chunk=10)


def test_encoding_in_chunks_reports_progress_and_keeps_the_order(tiny, sentences):
    shares = []
    enc = encode_corpus(tiny, sentences, chunk=10, progress=lambda share, message: shares.append(share))
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0 and len(shares) == 1 + 3
    torch.testing.assert_close(enc.vectors, tiny.encode(sentences))  # in the order given, as encoded alone
    assert enc.reconstructions == tiny.decode(tiny.encode(sentences), strategy="greedy")
    assert len(enc.exact) == len(sentences) and any(enc.exact)
    assert enc.decoded


def test_decoding_back_later_goes_on_where_it_stopped(tiny, sentences, encoded):
    bare = encode_corpus(tiny, sentences, decoding=None)
    assert bare.reconstructions == [None] * len(sentences) and not bare.decoded
    torch.testing.assert_close(bare.vectors, encoded.vectors)
    shares = []
    decode_back(tiny, bare, chunk=10, progress=lambda share, message: shares.append(share))
    assert bare.decoded and bare.reconstructions == encoded.reconstructions and bare.exact == encoded.exact
    assert shares == [0.0, 10 / 24, 20 / 24, 1.0]
    bare.reconstructions[3] = bare.reconstructions[17] = None  # as if a run had stopped half way
    calls = []
    decode_back(tiny, bare, progress=lambda share, message: calls.append(share))
    assert calls == [22 / 24, 1.0] and bare.reconstructions == encoded.reconstructions


def test_a_map_of_a_corpus_is_a_projection_like_a_shipped_one(tiny, encoded, sentences):
    projection = corpus_projection(tiny, encoded, name="mine")
    table = projection.table
    assert len(table) == len(sentences) and table.cluster.nunique() == default_clusters(len(sentences))
    assert {"sentence", "x", "y", "cluster", "reconstruction", "exact", "split", "words"} <= set(table)
    again = corpus_projection(tiny, encoded, name="mine")
    np.testing.assert_array_equal(again.table[["x", "y"]], table[["x", "y"]])  # a fixed seed: the same map
    xy = projection.place(tiny.encode([sentences[3]]))
    np.testing.assert_allclose(xy[0], table[["x", "y"]].iloc[3], atol=1e-2)  # a corpus sentence lands on itself


def test_too_few_sentences_for_a_map(tiny, sentences):
    with pytest.raises(ie.InvEmbError, match="at least 10 different sentences"):
        corpus_projection(tiny, encode_corpus(tiny, sentences[:4]))


def test_the_export_has_its_columns(tiny, encoded):
    projection = corpus_projection(tiny, encoded)
    assert list(export_table(projection.table)) == EXPORT_COLUMNS == ["sentence", "x", "y", "cluster", "reconstruction"]
    grouped = corpus_projection(tiny, encoded, groups=["a", "b"] * 12)
    assert list(export_table(grouped.table)) == EXPORT_COLUMNS + ["group"]
    assert list(export_table(grouped.table.iloc[:3]).group) == ["a", "b", "a"]  # a selection, the same columns


def test_a_saved_map_loads_as_a_shipped_one(tiny, encoded, tmp_path):
    projection = corpus_projection(tiny, encoded, name="mine")
    save_projection(projection, tmp_path)
    loaded = load_projection(tmp_path, "mine")
    assert list_projections(tmp_path) == ["mine"] and load_projection(tmp_path).name == "mine"
    save_projection(corpus_projection(tiny, encoded, name="general"), tmp_path)
    assert load_projection(tmp_path).name == "general"  # the general-English map first, where there is one
    assert list(loaded.table.sentence) == list(projection.table.sentence)
    torch.testing.assert_close(loaded.reduced, projection.reduced, atol=1e-2, rtol=1e-2)  # stored as fp16


def test_the_cli_maps_a_users_csv_into_the_checkpoint(tmp_path, sentences, capsys):
    shutil.copytree(TINY_CHECKPOINT, tmp_path / "ck")
    data = tmp_path / "lecture.csv"
    data.write_text("id,text\n" + "".join(f'{i},"{s}"\n' for i, s in enumerate(sentences)) + "99,\n")
    assert main(["project", "--checkpoint", str(tmp_path / "ck"), "--file", str(data), "--column", "text"]) == 0
    out = capsys.readouterr().out
    assert "24 sentences; 1 empty or duplicate line skipped" in out and "projection-lecture.csv" in out
    assert set(list_projections(tmp_path / "ck")) == {"tiny", "lecture"}
    assert main(["project", "--checkpoint", str(tmp_path / "ck"), "--file", str(data), "--column", "words"]) == 2
    assert "no column named 'words'" in capsys.readouterr().err


def test_nearest_neighbour_graph_is_exact_and_starts_with_itself():
    X = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    idx, dist = nearest_neighbour_graph(X, 5, block=16)
    assert (idx[:, 0] == np.arange(50)).all() and (dist[:, 0] == 0).all()
    cos = torch.nn.functional.normalize(X, dim=-1) @ torch.nn.functional.normalize(X, dim=-1).T
    cos.fill_diagonal_(-2)
    assert (idx[:, 1] == cos.argmax(-1).numpy()).all()
    assert (np.diff(dist, axis=1) >= -1e-6).all()


def test_views_of_a_plain_and_a_two_part_vector(tiny, two_part):
    assert views(tiny) == ["whole"] and views(two_part) == ["meaning", "whole"]
    with pytest.raises(ie.InvEmbError, match="no separate meaning part"):
        view(tiny, tiny.encode(["a dog runs."]), "meaning")
    Z = two_part.encode(["a dog runs.", "a dog is running.", "the stock market fell."])
    torch.testing.assert_close(view(two_part, Z, "meaning"), torch.nn.functional.normalize(Z[:, :384], dim=-1))
    # The stored vector's cosine is the meaning's (the wording code is scaled by 1e-4); the whole view is not.
    stored = torch.nn.functional.normalize(Z, dim=-1)
    torch.testing.assert_close(stored @ stored.T, view(two_part, Z, "meaning") @ view(two_part, Z, "meaning").T)
    mats = similarity_matrices(two_part, Z)
    assert set(mats) == {"meaning", "whole"} and not np.allclose(mats["meaning"], mats["whole"], atol=1e-3)
    for m in mats.values():
        np.testing.assert_allclose(m, m.T, atol=1e-6)
        np.testing.assert_allclose(np.diag(m), 1, atol=1e-5)


def test_nearest_sentences_and_vector_parts(two_part, tiny):
    corpus = two_part.encode(["a dog runs.", "a cat sleeps.", "two men talk.", "a dog is running."])
    table = nearest(two_part, corpus[0], corpus, k=3)
    assert list(table) == ["row", "meaning", "whole"] and table.row[0] == 0 and table.meaning[0] == pytest.approx(1)
    assert list(table.meaning) == sorted(table.meaning, reverse=True)  # ranked by the first view
    by_whole = nearest(two_part, corpus[0], corpus, k=4, by="whole")
    assert list(by_whole.whole) == sorted(by_whole.whole, reverse=True)
    parts = vector_parts(two_part, corpus[0])
    assert {k: v.shape for k, v in parts.items()} == {"meaning": (384,), "wording": (16,)}
    assert list(vector_parts(tiny, tiny.encode(["a dog runs."])[0])) == ["vector"]
    with pytest.raises(ie.InvEmbError, match="cannot rank by 'meaning'"):
        nearest(tiny, tiny.encode(["a"])[0], tiny.encode(["a", "b"]), by="meaning")


def test_nearest_on_a_shipped_map_ranks_its_candidates_exactly(tiny):
    projection = load_projection(TINY_CHECKPOINT)
    sentences = list(projection.table.sentence)
    everything = nearest(tiny, tiny.encode([sentences[5]])[0], tiny.encode(sentences), k=5)
    pooled = nearest_on_map(tiny, tiny.encode([sentences[5]])[0], projection, k=5, pool=12)
    assert pooled.row[0] == 5 and list(pooled.row) == list(everything.row)
    np.testing.assert_allclose(pooled.whole, everything.whole, atol=1e-3)
