import pytest
import torch

from invemb_core.losses import SemanticLoss, match_loss, reconstruction_loss
from invemb_core.text import TextCodec, resolve_model_dir


def test_match_loss_counts_only_wrong_nearest_tokens():
    table = torch.eye(4)
    targets = torch.tensor([0, 1])
    right = torch.tensor([[0.9, 0.1, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    assert float(match_loss(right, targets, table)) == 0.0
    wrong = torch.tensor([[0.1, 0.9, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    expected = ((wrong[0] - table[0]) ** 2).sum() / 2
    assert float(match_loss(wrong, targets, table)) == pytest.approx(float(expected))


def test_reconstruction_loss_kinds():
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    vectors, table, targets = torch.eye(2), torch.eye(2), torch.tensor([0, 1])
    ce = reconstruction_loss("ce", logits=logits, vectors=vectors, targets=targets, table=table)
    both = reconstruction_loss("ce+match", logits=logits, vectors=vectors, targets=targets, table=table)
    assert float(ce) == pytest.approx(float(both)) and float(ce) < 0.01


@pytest.mark.slow
def test_semantic_loss_is_near_zero_for_the_right_tokens_and_differentiable():
    model_dir = resolve_model_dir("minilm")
    vocab = TextCodec.build_vocab(model_dir, output_vocab="full")
    codec = TextCodec(model_dir, vocab, max_length=32)
    ids, _ = codec.encode(["a dog runs on the beach", "two men play chess in a park"])
    T = max(map(len, ids)) + 1
    target = torch.full((2, T), vocab.pad)
    for row, seq in enumerate(ids):
        target[row, : len(seq) + 1] = torch.tensor(seq + [vocab.eos])
    mask = target != vocab.pad
    candidates = torch.unique(torch.cat([target[mask], torch.arange(1000, 3000)]))
    loss = SemanticLoss(model_dir, torch.tensor(vocab.token_ids), cls_id=vocab.bos, sep_id=vocab.eos, temperature=0.1)
    right = torch.full((int(mask.sum()), len(candidates)), -30.0)
    right[torch.arange(right.shape[0]), torch.searchsorted(candidates, target[mask])] = 30.0
    assert float(loss(right, mask, candidates, target)) < 0.01
    noise = torch.randn(right.shape, requires_grad=True)
    value = loss(noise, mask, candidates, target)
    value.backward()
    assert float(value.detach()) > 0.1 and noise.grad is not None and noise.grad.abs().sum() > 0
