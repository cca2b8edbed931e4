"""The general-English corpus step (english.py): a clear error without its sources, a stable held-out split."""

import gzip

import pytest

import invemb_core as ie
from invemb_core.cli import main
from invemb_core.data import read_sentences
from invemb_core.english import build_english, is_heldout

SENTENCES = [f"this is ordinary sentence number {i} of the test." for i in range(400)]


def write_sources(folder, names=("a", "b")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        with gzip.open(folder / f"{name}.en.gz", "wt") as f:
            f.write("\n".join(s.replace("test", name) for s in SENTENCES) + "\ntoo short.\n")
    return folder


def test_a_missing_source_folder_or_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ie.InvEmbError, match="not a folder"):
        build_english(tmp_path / "nowhere", tmp_path / "out", shares={"a": 1.0})
    src = write_sources(tmp_path / "src", names=("a",))
    with pytest.raises(ie.InvEmbError, match=r"missing .*b\.en\.gz"):
        build_english(src, tmp_path / "out", shares={"a": 1.0, "b": 1.0})
    assert main(["data", "english", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err


def test_the_mix_keeps_each_share_and_never_trains_on_a_held_out_line(tmp_path):
    src = write_sources(tmp_path / "src")
    summary = build_english(src, tmp_path / "out", shares={"a": 1.0, "b": 0.5})
    train = read_sentences(str(summary.train))
    held = read_sentences(str(summary.heldout))
    assert held and not set(train) & set(held)
    assert all(is_heldout(s) for s in held) and not any(is_heldout(s) for s in train)
    assert "too short." not in train + held  # 5-30 words only
    n_a = sum(" a." in s for s in train)
    assert summary.per_source == {"a": n_a, "b": len(train) - n_a}
    available = {name: sum(not is_heldout(s.replace("test", name)) for s in SENTENCES) for name in "ab"}
    assert summary.per_source == {"a": available["a"], "b": round(0.5 * available["b"])}
    again = build_english(src, tmp_path / "again", shares={"a": 1.0, "b": 0.5})
    assert read_sentences(str(again.train)) == train  # the same build every time
