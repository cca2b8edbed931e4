"""bert.py computes what transformers' BertModel computes, to the last bit, and declines what it does not cover."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from invemb_core.bert import Bert, load_bert
from invemb_core.text import load_transformer, resolve_model_dir
from invemb_core.tokenizer import load_word_pieces

SENTENCES = [
    "Two dogs run through the snow.",
    "Do you prefer tea or coffee in the morning?",
    "hi",
    "A man in a red jacket is climbing a very tall rock wall while his friends watch from below.",
]


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    return resolve_model_dir("minilm")


def padded_batch(model_dir: str, sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    tok = load_word_pieces(model_dir)
    rows = [[tok.cls_token_id, *ids, tok.sep_token_id] for ids in tok.ids(sentences)]
    T = max(map(len, rows))
    ids = torch.tensor([r + [tok.pad_token_id] * (T - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in rows])
    return ids, mask


@pytest.mark.slow  # imports transformers' model code (~3 s)
@torch.no_grad()
def test_bert_matches_transformers_bit_for_bit(minilm_dir):
    from transformers import AutoModel

    theirs = AutoModel.from_pretrained(minilm_dir).eval()
    ours = load_bert(minilm_dir)
    assert isinstance(ours, Bert)
    ids, mask = padded_batch(minilm_dir, SENTENCES)
    a = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    b = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert torch.equal(a[real], b[real])  # padded batch: transformers' boolean mask path
    one_ids, one_mask = padded_batch(minilm_dir, SENTENCES[1:2])
    a = ours(input_ids=one_ids, attention_mask=one_mask).last_hidden_state
    assert torch.equal(a, theirs(input_ids=one_ids, attention_mask=one_mask).last_hidden_state)  # no mask at all


def test_load_transformer_reads_minilm_without_transformers(minilm_dir):
    model = load_transformer(minilm_dir)
    assert isinstance(model, Bert)
    assert model.config.hidden_size == 384 and not any(p.requires_grad for p in model.parameters())


def copy_model(src: str, dst, **config_changes):
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps({**config, **config_changes}))
    return str(dst)


def test_anything_else_is_left_to_transformers(minilm_dir, tmp_path):
    assert load_bert(copy_model(minilm_dir, tmp_path / "relative", position_embedding_type="relative_key")) is None
    assert load_bert(copy_model(minilm_dir, tmp_path / "roberta", model_type="roberta")) is None
    assert load_bert(copy_model(minilm_dir, tmp_path / "decoder", is_decoder=True)) is None
    no_weights = copy_model(minilm_dir, tmp_path / "bin")
    (tmp_path / "bin" / "model.safetensors").unlink()
    assert load_bert(no_weights) is None
