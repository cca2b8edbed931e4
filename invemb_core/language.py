"""One meaning, several languages: a checkpoint that reads and writes German or French in MiniLM's space.

The seed report's Large Concept Model idea: a sentence becomes a concept (a vector) in one shared space;
each language has its own encoder into it and its own decoder out of it, trained independently, so a
concept written in one language can be read out in another. InvEmb's shared space is the default's
meaning part, all-MiniLM-L6-v2's embedding of English. A language checkpoint adds, for one language:

- an encoder into that space: ``student.Student``, MiniLM distilled so that a German sentence lands where
  MiniLM puts its English translation;
- a decoder out of it: ``vector_decoder.VectorDecoder``, trained on English meanings -> the translations,
  with the language's own cased BPE.

    de = ie.load("checkpoints/de")
    M = ae.encode(["A dog runs."])[:, :ae.meaning_size]  # English meaning, through the default
    de.decode(de.from_meaning(M))                        # -> German
    en_text = ae.decode(ae.from_meaning(de.meaning(de.encode(["Ein Hund rennt."]))))

The vector is the meaning alone (no wording code): ``meaning``/``from_meaning`` only check its size.
A checkpoint is a directory with ``language.json`` (not ``config.json``: it is not an autoencoder, so the
app's checkpoint list leaves it out), ``tokenizer.json`` and ``model.safetensors`` (float16; the
student's frozen piece embeddings are rebuilt from the teacher's package).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

from .blend_student import BlendStudent
from .config import from_dict
from .data import data_dir
from .decode import closest
from .errors import InvEmbError
from .lm_student import LMStudent
from .student import Student
from .vector_decoder import DecoderShape, VectorDecoder

LANGUAGES = {"en": "English", "de": "Deutsch", "fr": "Français"}
CONFIG_FILE = "language.json"
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"

# Frequent words of each language that the other two rarely write (a word in two lists counts for both, and a
# tie says nothing): enough to tell the three apart in a sentence of a few words.
_FUNCTION_WORDS = {
    "en": set(
        "the a is are of and with to at his her their its this that while for from by there what where who you your "
        "i it was were be have has not do does my two three through into over under near man woman people".split()
    ),
    "de": set(
        "der die das ein eine einem einen einer ist sind und mit auf im zu am den dem des sich von vor bei nicht ich "
        "er es sie wir zwei drei mann frau männer frauen kinder keine habe hat zeit durch über unter".split()
    ),
    "fr": set(
        "le la les un une des est sont et avec sur dans du au aux en à de se par pour qui devant il elle ne pas ce "
        "cette je tu nous vous on l d qu deux trois homme femme hommes femmes sais".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+(?:'|’)?", re.UNICODE)


def detect_language(text: str) -> str | None:
    """ "en", "de" or "fr" for a sentence with at least two function words of one language and more than
    of any other; None when it cannot tell (short, or none of the three)."""
    words = [w.rstrip("'’").lower() for w in _WORD.findall(text)]
    counts = {lang: sum(w in vocab for w in words) for lang, vocab in _FUNCTION_WORDS.items()}
    best = max(counts, key=counts.get)
    if counts[best] < 2 or sorted(counts.values())[-2] == counts[best]:
        return None
    return best


def multi30k_file(split: str, language: str) -> Path:
    """``data/multi30k/<split>.<language>.gz``, or a clear error naming the data step."""
    path = data_dir() / f"{split}.{language}.gz"
    if not path.is_file():
        raise InvEmbError(
            f"{path} is missing: the {LANGUAGES.get(language, language)} captions ship in the repository's "
            f"data/multi30k (git checkout -- data/multi30k, or copy {split}.{language}.gz from Multi30k)"
        )
    return path


@dataclass
class LanguageConfig:
    """What a language checkpoint is. Saved in ``language.json``."""

    language: str = "de"
    teacher: str = "minilm"  # the shared space: this sentence-transformer's embedding of English
    # the student's reader: "minilm" (the teacher's copy, fine-tuned: student.py) or an LM source that
    # lm.py loads, e.g. "gemma3" (frozen, its pooled states at reader_layer through an MLP: lm_student.py);
    # several joined by "+" ("minilm+gemma3"): their students' vectors averaged (blend_student.py)
    reader: str = "minilm"
    reader_layer: int = 6
    decoder: DecoderShape = field(default_factory=DecoderShape)
    decoding: dict[str, Any] = field(default_factory=lambda: {"beam_size": 4})

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES or self.language == "en":
            raise InvEmbError(f"language={self.language!r}: a language checkpoint is 'de' or 'fr'")
        if isinstance(self.decoder, dict):
            self.decoder = from_dict(DecoderShape, self.decoder)


def make_student(config: LanguageConfig) -> Student | LMStudent | BlendStudent:
    """The student encoder a ``LanguageConfig`` names, untrained (``load_trained_state`` fills it); readers
    joined by ``+`` make a ``BlendStudent`` of one student per reader."""
    if "+" in config.reader:
        return BlendStudent([make_student(replace(config, reader=r)) for r in config.reader.split("+")])
    if config.reader == config.teacher:
        return Student(config.teacher)
    return LMStudent(config.reader, layer=config.reader_layer)


class Language:
    """A language's encoder into the shared meaning space and its decoder out of it."""

    def __init__(
        self,
        config: LanguageConfig,
        tokenizer: Tokenizer,
        decoder: VectorDecoder,
        student: Student | LMStudent | BlendStudent,
        *,
        info: dict | None = None,
    ):
        self.config = config
        self.tokenizer = tokenizer
        self.decoder = decoder
        self.student = student
        self.info = info or {}
        if decoder.shape.vector_size != student.size:
            raise InvEmbError(f"decoder reads {decoder.shape.vector_size} numbers, the student gives {student.size}")

    @property
    def language(self) -> str:
        return self.config.language

    @property
    def name(self) -> str:
        return LANGUAGES[self.language]

    @property
    def vector_size(self) -> int:
        return self.student.size

    @property
    def meaning_size(self) -> int:
        return self.student.size

    # ---- text -> vectors -------------------------------------------------------------------------
    def language_warnings(self, sentences: Sequence[str]) -> list[str]:
        """One message per sentence that reads as another of the three languages than this encoder's."""
        out = []
        for s in sentences:
            found = detect_language(s)
            if found is not None and found != self.language:
                out.append(
                    f"{s[:60]!r} reads as {LANGUAGES[found]}, but this is the {self.name} encoder: its "
                    f"vector will be wrong; pick the {LANGUAGES[found]} encoder"
                )
        return out

    def encode(self, sentences: str | Sequence[str], *, warn: bool = True) -> torch.Tensor:
        """(N, 384) unit vectors in MiniLM's space of English. Warns (``UserWarning``) for a sentence that
        reads as another language than this encoder's."""
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        if not sentences:
            raise InvEmbError("nothing to encode: give at least one sentence")
        if warn:
            for message in self.language_warnings(sentences):
                warnings.warn(message, UserWarning, stacklevel=2)
        return self.student.encode(sentences)

    def meaning(self, Z: torch.Tensor) -> torch.Tensor:
        """The meaning part: the whole vector (a language checkpoint keeps no wording code)."""
        return self._check(Z)

    def from_meaning(self, M: torch.Tensor) -> torch.Tensor:
        """A vector from a meaning, e.g. the meaning part ``Z[:, :ae.meaning_size]`` of the default's vectors of English sentences."""
        return self._check(M)

    def _check(self, Z: Any) -> torch.Tensor:
        Z = torch.as_tensor(Z, dtype=torch.float32)
        if Z.dim() == 1:
            Z = Z[None]
        if Z.dim() != 2 or Z.shape[1] != self.vector_size:
            raise InvEmbError(
                f"the {self.name} checkpoint reads meanings of {self.vector_size} numbers (MiniLM's), got a "
                f"tensor of shape {tuple(Z.shape)}; pass the meaning part Z[:, :ae.meaning_size], not a whole two-part vector"
            )
        if not bool(torch.isfinite(Z).all()):
            raise InvEmbError("the vectors contain NaN or infinity")
        return Z

    # ---- vectors -> text -------------------------------------------------------------------------
    def decode(
        self,
        Z: torch.Tensor,
        *,
        strategy: str = "default",
        beam_size: int = 4,
        candidates: int = 8,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int = 0,
        batch_size: int = 128,
    ) -> list[str]:
        """Sentences in this language. strategy: "default" (the checkpoint's ``decoding``), "greedy", "beam",
        "sample" (seeded: the same seed gives the same text) or "rerank": the beam's sentence and
        ``candidates`` - 1 samples, each read back by this language's encoder, the one landing nearest
        the vector kept (as the English default reranks)."""
        Z = self._check(Z)
        if strategy == "default":
            settings = {"strategy": "beam", **self.config.decoding, "seed": seed, "batch_size": batch_size}
            return self.decode(Z, **settings)
        if strategy == "rerank":
            pool = [self.decode(Z, strategy="beam", beam_size=beam_size, batch_size=batch_size)]
            for i in range(candidates - 1):
                pool.append(self.decode(Z, strategy="sample", temperature=temperature, top_p=top_p, seed=seed + i))
            read_back = self.student.encode([text for row in zip(*pool) for text in row])  # sentence-major
            best, _ = closest(read_back.view(len(Z), len(pool), -1), Z)
            return [pool[k][i] for i, k in enumerate(best.tolist())]
        kwargs: dict[str, Any]
        if strategy == "greedy":
            kwargs = {}
        elif strategy == "beam":
            kwargs = {"beam_size": beam_size}
        elif strategy == "sample":
            kwargs = {"temperature": temperature, "top_p": top_p, "generator": torch.Generator().manual_seed(seed)}
        else:
            raise InvEmbError(f"strategy={strategy!r}: one of default, greedy, beam, sample, rerank")
        out: list[str] = []
        for start in range(0, len(Z), batch_size):
            ids = self.decoder.generate(Z[start : start + batch_size], **kwargs)
            out.extend(self.tokenizer.decode(r) for r in ids)
        return out

    def describe(self) -> str:
        names = {self.config.teacher: "MiniLM"}
        reader = " and ".join(names.get(r, r) for r in self.config.reader.split("+"))
        return (
            self.info.get("description")
            or f"{self.name}: a student encoder reading through {reader} and a decoder of the meaning"
        )

    def __repr__(self) -> str:
        return f"Language({self.language!r}, vector_size={self.vector_size})"

    # ---- files -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the three files into ``directory`` (each written aside, then renamed into place); anything
        else there (a README, a learning curve) stays."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {f"decoder.{k}": v for k, v in self.decoder.state_dict().items()} | self.student.trained_state()
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}
        config = {"format": "invemb-language", "config": asdict(self.config)} | {
            k: v for k, v in self.info.items() if k not in ("format", "config", "path")
        }
        writers = {
            WEIGHTS_FILE: lambda path: save_file(state, str(path), metadata={"format": "invemb-language"}),
            TOKENIZER_FILE: lambda path: self.tokenizer.save(str(path)),
            CONFIG_FILE: lambda path: path.write_text(
                json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            ),
        }
        for name, write in writers.items():  # the config last: a directory with it is complete
            tmp = directory / f"{name}.tmp"
            write(tmp)
            tmp.replace(directory / name)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Language:
        from .checkpoint import read_weights

        directory = Path(directory)
        path = directory / CONFIG_FILE
        if not path.is_file():
            raise InvEmbError(f"{path} is missing: not a language checkpoint")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            config = from_dict(LanguageConfig, raw["config"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InvEmbError(f"{path}: not a language checkpoint's config ({e})") from e
        if not (directory / TOKENIZER_FILE).is_file():
            raise InvEmbError(f"{directory / TOKENIZER_FILE} is missing")
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        weights = read_weights(directory / WEIGHTS_FILE)
        decoder = VectorDecoder(config.decoder)
        mine = {k.removeprefix("decoder."): v.float() for k, v in weights.items() if k.startswith("decoder.")}
        try:
            decoder.load_state_dict(mine)
        except RuntimeError as e:
            raise InvEmbError(f"{directory / WEIGHTS_FILE}: the decoder's weights do not fit language.json: {e}") from e
        student = make_student(config)
        student.load_trained_state(weights)
        info = {k: v for k, v in raw.items() if k not in ("format", "config")} | {"path": str(directory)}
        return cls(config, tokenizer, decoder.eval(), student.eval(), info=info)


def is_language_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / CONFIG_FILE).is_file()
