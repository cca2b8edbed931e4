"""The shipped map: loading, placing new sentences without refitting, decoding a spot, broken files."""

import shutil

import numpy as np
import pytest
import torch
from conftest import TINY_CHECKPOINT

import invemb_core as ie
from invemb_core.projection import list_projections, load_projection, pca


@pytest.fixture(scope="module")
def tiny():
    return ie.load(TINY_CHECKPOINT)


@pytest.fixture(scope="module")
def projection():
    return load_projection(TINY_CHECKPOINT)


def test_the_tiny_checkpoint_ships_a_map(projection):
    assert list_projections(TINY_CHECKPOINT) == ["tiny"]
    assert len(projection.table) == 24 and projection.reduced.shape[0] == 24
    assert {"sentence", "x", "y", "reconstruction", "exact", "cluster", "split", "words"} <= set(projection.table)


def test_a_corpus_sentence_is_placed_on_its_own_point(tiny, projection):
    row = projection.table.iloc[3]
    xy = projection.place(tiny.encode([row.sentence]))
    np.testing.assert_allclose(xy[0], [row.x, row.y], atol=1e-2)


def test_spot_weights_and_vector_at(tiny, projection):
    rows, w = projection.spot(float(projection.table.x[0]), float(projection.table.y[0]), k=3)
    assert rows[0] == 0 and abs(float(w.sum()) - 1) < 1e-5
    z = projection.vector_at(float(projection.table.x[0]), float(projection.table.y[0]), tiny.encode)
    assert z.shape == (tiny.vector_size,) and isinstance(tiny.decode(z[None, :])[0], str)


def test_neighbours_exclude_the_point_itself(projection):
    idx = projection.corpus_neighbours([0, 5], k=3)
    assert idx.shape == (2, 3) and 0 not in idx[0].tolist() and 5 not in idx[1].tolist()


def test_no_map_and_broken_maps(tmp_path):
    shutil.copytree(TINY_CHECKPOINT, tmp_path / "ck")
    with pytest.raises(ie.InvEmbError, match="no map named"):
        load_projection(tmp_path / "ck", "train")
    (tmp_path / "ck" / "projection-tiny.safetensors").write_bytes(b"garbage")
    with pytest.raises(ie.InvEmbError, match="unreadable"):
        load_projection(tmp_path / "ck")
    for f in (tmp_path / "ck").glob("projection-*"):
        f.unlink()
    assert load_projection(tmp_path / "ck") is None


def test_pca_is_exact_and_the_same_every_time():
    g = torch.Generator().manual_seed(0)
    Z = torch.randn(300, 12, generator=g) * torch.linspace(3, 0.1, 12)  # variance falls along the axes
    mean, basis = pca(Z, 4)
    again = pca(Z.clone(), 4)
    assert torch.equal(mean, again[0]) and torch.equal(basis, again[1])
    assert basis.shape == (12, 4)
    torch.testing.assert_close(basis.T @ basis, torch.eye(4), atol=1e-5, rtol=0)
    _, _, V = torch.linalg.svd(Z - mean, full_matrices=False)  # the reference: the top right singular vectors
    torch.testing.assert_close(basis.abs(), V[:4].T.abs(), atol=1e-4, rtol=0)
    assert bool((basis.gather(0, basis.abs().argmax(0, keepdim=True)) > 0).all())  # signs fixed
