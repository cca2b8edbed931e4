"""Language checkpoints (issue 40): a German/French decoder and student encoder of MiniLM's meaning space."""

from __future__ import annotations

import gzip
import warnings

import pytest
import torch

import invemb_core as ie
from invemb_core.errors import InvEmbError
from invemb_core.language import Language, LanguageConfig, detect_language
from invemb_core.student import Student, distillation_loss
from invemb_core.text import resolve_model_dir
from invemb_core.tokenizer import load_word_pieces
from invemb_core.train_language import (
    LanguageTrainConfig,
    per_phase,
    retrieval_at_1,
    state_from_checkpoint,
    train_language,
)
from invemb_core.twopart import MeaningEncoder
from invemb_core.vector_decoder import DecoderShape, VectorDecoder, train_tokenizer

GERMAN = [
    "Ein Hund rennt über die Wiese.",
    "Zwei Männer spielen Fußball im Park.",
    "Eine Frau liest ein Buch auf der Bank.",
    "Ein kleines Mädchen klettert in ein Spielhaus aus Holz.",
    "Mehrere Männer mit Schutzhelmen bedienen eine Maschine.",
    "Ein Junge springt in den See.",
    "Die Katze schläft auf dem Sofa.",
    "Ein Mann fährt mit dem Fahrrad durch die Stadt.",
]
ENGLISH = [
    "A dog runs across the meadow.",
    "Two men play soccer in the park.",
    "A woman reads a book on the bench.",
    "A little girl climbs into a wooden playhouse.",
    "Several men in hard hats operate a machine.",
    "A boy jumps into the lake.",
    "The cat sleeps on the sofa.",
    "A man rides his bike through the city.",
]
TINY = DecoderShape(hidden_size=32, layers=1, heads=2, prefix=2, max_length=24, dropout=0.0)


def tiny_language(language: str = "de") -> Language:
    tokenizer = train_tokenizer(GERMAN, 120)
    shape = DecoderShape(**{**TINY.__dict__, "vocab_size": tokenizer.get_vocab_size()})
    torch.manual_seed(0)
    return Language(LanguageConfig(language, decoder=shape), tokenizer, VectorDecoder(shape), Student())


def test_detect_language():
    assert detect_language("Ein Mann fährt mit dem Fahrrad durch die Stadt.") == "de"
    assert detect_language("Un homme fait du vélo dans la rue avec un chien.") == "fr"
    assert detect_language("A man rides his bike through the city with a dog.") == "en"
    assert detect_language("A man on a horse.") == "en"  # "on" and "a" are French words too
    assert detect_language("On a vu un chat.") == "fr"
    assert detect_language("Elle a une voiture et on a un chien.") == "fr"
    assert detect_language("Zwei Frauen trinken Kaffee in einem Café.") == "de"
    assert detect_language("Hallo") is None
    assert detect_language("") is None


def test_bpe_is_cased_and_gives_back_the_text():
    tok = train_tokenizer(GERMAN, 120)
    for s in GERMAN:
        assert tok.decode(tok.encode(s).ids) == s  # case, umlauts, ß and spaces survive
    assert [tok.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")] == [0, 1, 2, 3]


def test_untrained_student_is_minilm():
    student = Student().eval()
    model_dir = resolve_model_dir("minilm")
    tok = load_word_pieces(model_dir)
    teacher = MeaningEncoder("minilm", tuple(range(len(tok))), tokenizer_dir=model_dir)
    expected = teacher.embed_tokenizer_ids(tok.ids(ENGLISH[:3]))
    assert torch.allclose(student.encode(ENGLISH[:3]), expected, atol=1e-5)


def test_distillation_losses():
    t = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    assert float(distillation_loss(t, t, loss="mse", temperature=0.05)) == 0.0
    far = distillation_loss(t.roll(1, 0), t, loss="infonce", temperature=0.05)
    near = distillation_loss(t, t, loss="infonce", temperature=0.05)
    assert float(near) < float(far)
    with pytest.raises(ie.InvEmbError, match="unknown student loss"):
        distillation_loss(t, t, loss="l1", temperature=0.05)
    assert retrieval_at_1(t, t) == 1.0 and retrieval_at_1(t, t.roll(1, 0)) < 1.0


def test_save_load_round_trip(tmp_path):
    lang = tiny_language()
    lang.decoder.eval()
    lang.save(tmp_path / "de")
    again = ie.load(tmp_path / "de")
    assert isinstance(again, Language) and again.language == "de"
    Z = again.encode(GERMAN[:3])
    assert Z.shape == (3, 384) and again.meaning_size == 384
    half = Student()
    half.load_trained_state({k: v.half() for k, v in lang.student.trained_state().items()})
    assert torch.allclose(Z, half.encode(GERMAN[:3]), atol=1e-5)
    M = torch.nn.functional.normalize(torch.randn(2, 384), dim=-1)
    for strategy in ("greedy", "beam", "default", "rerank"):
        assert again.decode(M, strategy=strategy) == again.decode(M, strategy=strategy)
    assert again.decode(M, strategy="sample", seed=3) == again.decode(M, strategy="sample", seed=3)
    # the app's checkpoint list leaves language checkpoints out: they are not autoencoders
    assert ie.list_checkpoints(tmp_path) == []


def test_wrong_vector_size_and_language_are_refused(tmp_path):
    lang = tiny_language()
    with pytest.raises(ie.InvEmbError, match="384 numbers"):
        lang.decode(lang.from_meaning(torch.zeros(2, 896)))
    with pytest.raises(ie.InvEmbError, match="NaN"):
        lang.from_meaning(torch.full((1, 384), float("nan")))
    with pytest.warns(UserWarning, match="reads as English"):
        lang.encode(["A man rides his bike through the city with a dog."])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lang.encode(GERMAN[:2])  # German into the German encoder: no warning
    with pytest.raises(ie.InvEmbError, match="'de' or 'fr'"):
        LanguageConfig("en")
    with pytest.raises(ie.InvEmbError, match="language.json"):
        Language.load(tmp_path)


def _write(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def tiny_pairs(tmp_path, monkeypatch) -> None:
    """The tiny captions as Multi30k's train and val, English and German ($INVEMB_DATA), and a fresh
    teacher-vector cache ($INVEMB_CACHE)."""
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "val"):
        _write(data / f"{split}.en.gz", ENGLISH)
        _write(data / f"{split}.de.gz", GERMAN)
    monkeypatch.setenv("INVEMB_DATA", str(data))
    monkeypatch.setenv("INVEMB_CACHE", str(tmp_path / "cache"))


def test_tiny_training_learns_and_resumes(tmp_path, monkeypatch):
    tiny_pairs(tmp_path, monkeypatch)
    cfg = dict(
        language="de",
        run=str(tmp_path / "run"),
        out=str(tmp_path / "de"),
        batch_size=8,
        vocab_size=120,
        lr=3e-3,
        student_lr=1e-4,
        eval_sentences=8,
        evals_per_epoch=1,
        noise=0.0,
        bf16=False,
    )
    train_language(LanguageTrainConfig(**cfg, decoder_epochs=25, student_epochs=0), shape=TINY, log=lambda *_: None)
    first = ie.load(tmp_path / "de").info["history"]
    assert first[-1]["val_loss"] < first[0]["val_loss"] - 1.0  # it learns the captions it sees
    # the same command with more epochs resumes: the student trains after the decoder's 25 passes
    train_language(LanguageTrainConfig(**cfg, decoder_epochs=25, student_epochs=4), log=lambda *_: None)
    history = ie.load(tmp_path / "de").info["history"]
    assert history[: len(first)] == first
    students = [h for h in history if h["phase"] == "student"]
    before = float((Student().encode(GERMAN) * Student().encode(ENGLISH)).sum(-1).mean())  # MiniLM on German
    assert len(students) == 4 and students[-1]["cosine_to_teacher"] > before + 0.02
    # more decoder passes after the student has trained: the decoder goes on from its 25th pass
    train_language(LanguageTrainConfig(**cfg, decoder_epochs=27, student_epochs=4), log=lambda *_: None)
    more = ie.load(tmp_path / "de").info["history"][len(history) :]
    assert [(h["phase"], h["epochs"]) for h in more] == [("decoder", 26.0), ("decoder", 27.0)]
    # a fresh clone has the checkpoint but no run folder: --init starts a new run from it, each part going on
    done = ie.load(tmp_path / "de").info["history"]
    fresh = dict(cfg, run=str(tmp_path / "run2"), out=str(tmp_path / "de2"), init=str(tmp_path / "de"))
    train_language(LanguageTrainConfig(**fresh, decoder_epochs=28, student_epochs=5), log=lambda *_: None)
    went_on = ie.load(tmp_path / "de2").info["history"]
    assert went_on[: len(done)] == done
    assert [(h["phase"], h["epochs"]) for h in went_on[len(done) :]] == [("decoder", 28.0), ("student", 5.0)]
    with pytest.raises(InvEmbError, match="a de checkpoint, not fr"):
        state_from_checkpoint(tmp_path / "de", "fr", batches_per_epoch=2)


def test_runs_saved_with_one_set_of_counters_resume_per_phase():
    old = {
        "phase": "student",
        "epoch": 1,
        "batch": 5,
        "step": 20,
        "minutes": 3.0,
        "history": [{"phase": "decoder", "epochs": 6.0, "step": 2724}, {"phase": "student", "epochs": 0.5, "step": 10}],
    }
    new = per_phase(old)
    assert new["decoder"] == {"epoch": 6, "batch": 0, "step": 2724}
    assert new["student"] == {"epoch": 1, "batch": 5, "step": 20} and new["minutes"] == 3.0


def test_the_cached_step_gives_the_full_passes_logits():
    lang = tiny_language()
    decoder = lang.decoder.eval()
    z = torch.nn.functional.normalize(torch.randn(3, 384), dim=-1)
    prev = torch.tensor([[2, 10, 11, 12]] * 3)  # BOS and three pieces
    step = decoder._step(z)
    state = None
    with torch.no_grad():
        for t in range(1, prev.shape[1] + 1):
            cached, state = step(prev[:, :t], state)
            full = decoder.logits(decoder.hidden(z, prev[:, :t])[:, -1])
            full[:, [0, 1, 2, 4]] = float("-inf")
            assert torch.allclose(cached, full, atol=1e-5)


@pytest.mark.slow  # loads the shipped default and both language checkpoints
def test_the_shipped_languages_share_the_defaults_meaning_space():
    from invemb_core.checkpoint import default_checkpoint_dir

    root = default_checkpoint_dir()
    ae, de, fr = ie.load(), ie.load(root / "de"), ie.load(root / "fr")
    M = ae.encode(["A dog runs through the snow.", "Two women are drinking coffee."])[:, : ae.meaning_size]
    german, french = de.decode(de.from_meaning(M)), fr.decode(fr.from_meaning(M))
    assert "Hund" in german[0] and "Frauen" in german[1], german
    assert "chien" in french[0] and "femmes" in french[1], french
    D = de.encode(["Ein Hund rennt durch den Schnee.", "Zwei Frauen trinken Kaffee."])
    sims = D @ M.T  # each German sentence nearest its own English meaning
    assert sims.argmax(-1).tolist() == [0, 1] and float(sims.diagonal().min()) > 0.6


def test_missing_language_files_name_the_data_step(tmp_path, monkeypatch):
    monkeypatch.setenv("INVEMB_DATA", str(tmp_path))
    _write(tmp_path / "train.en.gz", ENGLISH)  # the English captions are there, the German ones are not
    with pytest.raises(ie.InvEmbError, match=r"train\.de\.gz is missing.*data/multi30k"):
        train_language(LanguageTrainConfig(language="de", run=str(tmp_path / "run"), out=str(tmp_path / "de")))
    with pytest.raises(ie.InvEmbError, match="de or fr"):
        LanguageTrainConfig(language="es")
    with pytest.raises(ie.InvEmbError, match="student-loss"):
        LanguageTrainConfig(student_loss="l2")
