"""General English: the weighted training mix and its held-out part, built from registry-shipped sources.

The sources are one-sentence-per-line files (``data/english/sources/*.en.gz``, provenance and licences
in that folder's README) cut from Debian and npm packages and a public dialogue data set. Their
registers are very uneven (100,000 templated assistant replies, 28,000 Webster-1913 quotations), so the
mix keeps a *share* of each file (``SOURCES``) rather than all of it.

Every line is assigned to the training or the held-out part by a hash of its text, so the split does
not depend on file order, on the shares or on the machine: a sentence that is held out is held out in
every build, and the typed-sentence dev set (``data/english/typed_dev.txt``) draws only from held-out
lines and hand-written sentences. ``build_english`` writes

- ``train.en.gz``: the training mix (shuffled, deduplicated, 5-30 words), and
- ``heldout.en.gz``: every held-out line of every source, for evaluation only.

``invemb data english`` runs it; the training command in README.md names that step.
"""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .data import iter_lines, within_words
from .errors import InvEmbError

# The share of each source's training lines kept in the mix, and the register it brings.
SOURCES: dict[str, float] = {
    "sgd_user": 0.65,  # requests and questions to an assistant
    "sgd_sys": 0.25,  # assistant replies (templated: low share)
    "wordnet_examples": 1.0,  # short everyday usage
    "ding_en": 1.0,  # everyday, conversational dictionary examples
    "fortunes": 0.9,  # jokes, aphorisms, quotations
    "cdda": 0.7,  # game fiction and dialogue
    "austen": 0.7,  # 19th-century narrative
    "sotu": 0.7,  # speeches: politics, economy, news-like
    "gcide_quotes": 0.35,  # archaic literary quotations
    "debdesc": 0.2,  # technical descriptions (templated: low share)
}
HELDOUT_PER_MILLE = 20  # 2% of every source is never trained on
MIN_WORDS, MAX_WORDS = 5, 30


def english_dir() -> Path:
    """The repository's ``data/english`` folder (sources under ``sources/``, built files beside it)."""
    return Path(__file__).resolve().parent.parent / "data" / "english"


def is_heldout(sentence: str) -> bool:
    """Whether a sentence belongs to the held-out part: a fixed hash of its text, the same everywhere."""
    digest = hashlib.sha1(sentence.strip().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < HELDOUT_PER_MILLE


@dataclass(frozen=True)
class BuildSummary:
    train: Path
    heldout: Path
    train_sentences: int
    heldout_sentences: int
    per_source: dict[str, int]


def _write(path: Path, sentences: Iterable[str]) -> None:
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as f:
        for s in sentences:
            f.write(s + "\n")
    tmp.replace(path)


def build_english(
    source_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    *,
    shares: dict[str, float] | None = None,
    seed: int = 0,
) -> BuildSummary:
    """Build ``train.en.gz`` and ``heldout.en.gz`` in ``out_dir`` from the sources in ``source_dir``.

    Raises:
        InvEmbError: if the source folder or any source file is missing (naming what to do about it).
    """
    out = Path(out_dir) if out_dir else english_dir()
    src = Path(source_dir) if source_dir else out / "sources"
    shares = dict(SOURCES if shares is None else shares)
    if not src.is_dir():
        raise InvEmbError(
            f"general-English sources not found: {src} is not a folder. It ships with the repository "
            "(data/english/sources); see its README.md for how each file is rebuilt from its package"
        )
    missing = [name for name in shares if not (src / f"{name}.en.gz").is_file()]
    if missing:
        raise InvEmbError(
            f"general-English source file(s) missing in {src}: "
            + ", ".join(f"{name}.en.gz" for name in missing)
            + " (see data/english/sources/README.md for where each comes from)"
        )
    rng = random.Random(seed)
    seen: set[str] = set()
    train: list[str] = []
    heldout: list[str] = []
    per_source: dict[str, int] = {}
    for name, share in shares.items():
        held, kept = [], []
        for s in iter_lines(str(src / f"{name}.en.gz")):
            if within_words(s, MIN_WORDS, MAX_WORDS):
                (held if is_heldout(s) else kept).append(s)
        kept = [s for s in dict.fromkeys(kept) if s not in seen]  # distinct, first occurrence, new to the mix
        rng.shuffle(kept)
        kept = kept[: round(share * len(kept))]
        seen.update(kept)
        heldout += held
        train += kept
        per_source[name] = len(kept)
    rng.shuffle(train)
    heldout = list(dict.fromkeys(heldout))
    rng.shuffle(heldout)  # so that the first N lines of it are a fair sample of every source
    out.mkdir(parents=True, exist_ok=True)
    train_path, heldout_path = out / "train.en.gz", out / "heldout.en.gz"
    _write(train_path, train)
    _write(heldout_path, heldout)
    return BuildSummary(train_path, heldout_path, len(train), len(heldout), per_source)
