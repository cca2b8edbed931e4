"""tokenizer.py gives transformers' pieces, offsets, text and vocabulary, without importing transformers."""

from __future__ import annotations

import random
import shutil

import pytest

from invemb_core.data import read_sentences
from invemb_core.text import clean_text, resolve_model_dir
from invemb_core.tokenizer import SPECIAL, load_word_pieces

HOSTILE = ["naïve café — 😀 日本語 Ünïcödé", "I can't , won't ' s  . , !", "  ", "##ing [CLS] [MASK] 'm 're"]


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    return resolve_model_dir("minilm")


@pytest.fixture(scope="module")
def transformers_tokenizer(minilm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir, use_fast=True)


@pytest.mark.slow  # imports transformers
def test_same_pieces_offsets_text_and_vocabulary_as_transformers(minilm_dir, transformers_tokenizer):
    hf, ours = transformers_tokenizer, load_word_pieces(minilm_dir)
    sentences = [clean_text(s) for s in read_sentences("multi30k:test_2016_flickr") + HOSTILE]
    ids = ours.ids(sentences)
    assert ids == hf(sentences, add_special_tokens=False)["input_ids"]
    for s in sentences[::25] + HOSTILE:
        got_ids, offsets = ours.ids_and_offsets(s)
        want = hf(s, add_special_tokens=False, return_offsets_mapping=True)
        assert got_ids == want["input_ids"] and [tuple(o) for o in offsets] == [
            tuple(o) for o in want["offset_mapping"]
        ]
    rng = random.Random(0)
    random_ids = [[rng.randrange(len(hf)) for _ in range(rng.randrange(1, 12))] for _ in range(200)]
    for row in ids[::10] + random_ids:  # decoders write any piece in any order
        assert ours.decode(row) == hf.decode(row, clean_up_tokenization_spaces=True)
    assert len(ours) == len(hf) and ours.get_vocab() == hf.get_vocab()
    assert ours.convert_ids_to_tokens(range(len(hf))) == hf.convert_ids_to_tokens(list(range(len(hf))))
    assert ours.convert_ids_to_tokens(2023) == hf.convert_ids_to_tokens(2023)  # one id: one string
    assert all(getattr(ours, f"{n}_token_id") == getattr(hf, f"{n}_token_id") for n in SPECIAL)


@pytest.mark.slow  # imports transformers
def test_a_directory_without_tokenizer_json_goes_through_transformers(minilm_dir, tmp_path):
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        shutil.copy(f"{minilm_dir}/{name}", tmp_path / name)
    slow, fast = load_word_pieces(str(tmp_path)), load_word_pieces(minilm_dir)
    sentences = read_sentences("multi30k:test_2016_flickr")[:200] + HOSTILE
    assert slow.ids(sentences) == fast.ids(sentences)
    assert slow.unk_token_id == fast.unk_token_id and slow.get_vocab() == fast.get_vocab()


def test_no_truncation_and_no_padding(minilm_dir):
    """MiniLM's tokenizer.json pads and truncates to 128 pieces; InvEmb counts and cuts pieces itself."""
    ours = load_word_pieces(minilm_dir)
    long = " ".join(["word"] * 300)
    assert len(ours.ids([long])[0]) == 300
    assert [len(r) for r in ours.ids(["a dog", "a very small dog"])] == [2, 4]
