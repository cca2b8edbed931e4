"""The committed tiny checkpoint decodes to its golden outputs, through the API and the CLI."""

import json

import numpy as np
import pytest
from conftest import DATA, TINY_CHECKPOINT

import invemb_core as ie
from invemb_core.cli import main

GOLDEN = json.loads((DATA / "golden.json").read_text())


@pytest.fixture(scope="module")
def tiny():
    return ie.load(TINY_CHECKPOINT)


def test_golden_greedy_decode(tiny):
    assert tiny.reconstruct(GOLDEN["sentences"]) == GOLDEN["greedy"]


def test_the_tiny_checkpoint_really_inverts_what_it_was_trained_on(tiny):
    exact = [tiny.normalize(s) == out for s, out in zip(GOLDEN["sentences"], GOLDEN["greedy"])]
    assert sum(exact) >= 22


def test_cli_reconstruct(capsys):
    s = GOLDEN["sentences"][0]
    assert main(["reconstruct", "--checkpoint", str(TINY_CHECKPOINT), s]) == 0
    assert GOLDEN["greedy"][0] in capsys.readouterr().out


def test_cli_eval_json(capsys):
    corpus = str(DATA / "tiny_corpus.txt")
    assert main(["eval", "--checkpoint", str(TINY_CHECKPOINT), "--data", corpus, "--json", "--no-semantic"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 24 and result["exact_match"] >= 0.9 and "by_length" in result


def test_cli_interpolate_and_encode(tmp_path, capsys):
    a, b = GOLDEN["sentences"][:2]
    assert main(["interpolate", "--checkpoint", str(TINY_CHECKPOINT), a, b, "--steps", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("0.000") and lines[-1].startswith("1.000")
    out = tmp_path / "z.npy"
    assert main(["encode", "--checkpoint", str(TINY_CHECKPOINT), a, b, "--out", str(out)]) == 0
    assert np.load(out).shape == (2, 128)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reconstruct", "--checkpoint", "/no/such/dir", "hello there"], "not found"),
        (["reconstruct", "--checkpoint", str(TINY_CHECKPOINT), "   "], "empty"),
        (["reconstruct", "--checkpoint", str(TINY_CHECKPOINT), "a dog", "--strategy", "beam"], "autoregressive"),
        (["eval", "--checkpoint", str(TINY_CHECKPOINT), "--data", "/no/file.txt"], "not found"),
        (["train", "--out", "/tmp/x", "--encoder", "cnn"], "encoder='cnn'"),
    ],
)
def test_cli_user_errors_are_one_line_not_a_traceback(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_sampling_flags(capsys):
    s = GOLDEN["sentences"][0]
    argv = ["reconstruct", "--checkpoint", str(TINY_CHECKPOINT), s, "--strategy", "sample", "--temperature", "0.5"]
    assert main(argv + ["--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main(argv + ["--seed", "3"]) == 0
    assert capsys.readouterr().out == first


def test_cli_eval_reports_same_item_retrieval(tmp_path, capsys):
    captions = [tmp_path / f"c{i}.txt" for i in (1, 2)]
    captions[0].write_text("a dog runs on the beach\ntwo men play chess in a park\n")
    captions[1].write_text("a dog is running on sand\ntwo men are playing chess outside\n")
    code = main(
        ["eval", "--checkpoint", str(TINY_CHECKPOINT), "--data", str(captions[0]), "--min-words", "1"]
        + ["--no-semantic", "--json", "--captions", *map(str, captions)]
    )
    assert code == 0
    retrieval = json.loads(capsys.readouterr().out)["retrieval"]
    assert retrieval["captions"] == 4 and retrieval["items"] == 2 and 0.0 <= retrieval["recall_at_1"] <= 1.0


def test_cli_eval_caption_files_must_align(tmp_path, capsys):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a dog runs on the beach\ntwo men play chess\n")
    b.write_text("a dog is running\n")
    argv = ["eval", "--checkpoint", str(TINY_CHECKPOINT), "--data", str(a), "--min-words", "1", "--no-semantic"]
    assert main(argv + ["--captions", str(a), str(b)]) == 2
    assert "one line per item" in capsys.readouterr().err


@pytest.mark.parametrize(
    "config, message",
    [
        ({"model": {"hiden_size": 3}}, "unknown ModelConfig key(s) hiden_size"),
        ({"train": {"max_step": 3}}, "unknown TrainConfig key(s) max_step"),
        ({"modle": {}}, "'model' and/or 'train' sections"),
    ],
)
def test_cli_config_file_with_unknown_keys_is_a_clear_error(tmp_path, capsys, config, message):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    assert main(["train", "--out", str(tmp_path / "run"), "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_cli_help_shows_every_default_and_the_meaning_candidates_flag(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "MISSING" not in out and "(default: ['multi30k:train'])" in out
    assert main(["reconstruct", "--help"]) == 0
    assert "--meaning-candidates" in capsys.readouterr().out


def test_every_decode_option_is_a_flag_and_reaches_the_decoding():
    from dataclasses import fields

    from invemb_core.cli import build_parser
    from invemb_core.commands import _decode_kwargs

    args = build_parser().parse_args(
        ["reconstruct", "a dog", "--strategy", "sample", "--min-p", "0.2", "--no-whole-words", "--max-length", "9"]
    )
    assert _decode_kwargs(args) == {"strategy": "sample", "min_p": 0.2, "whole_words": False, "max_length": 9}
    help_text = build_parser()._subparsers._group_actions[0].choices["reconstruct"].format_help()
    assert all("--" + f.name.replace("_", "-") in help_text for f in fields(ie.DecodeConfig))
