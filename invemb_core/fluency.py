"""A fluency judge: an interpolated Kneser-Ney word-trigram language model and per-word perplexity.

It answers "does this read like a caption?" for decoded text (interpolation midpoints, paraphrases)
by comparing its perplexity with that of real captions under a model of the training corpus. It is a
judge for benchmarks, never a training signal, and it knows nothing about the autoencoder.

Words are lower-cased, accents stripped, split as ``\\w+|[^\\w\\s]``; each sentence is padded with two
start symbols and scored including its end symbol. Discount 0.75 at every order; the lowest order
is the continuation unigram interpolated with a uniform distribution over the vocabulary plus one
unknown word, so unseen words get a small, finite probability.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"\w+|[^\w\s]")
BOS, EOS = "<s>", "</s>"


def words(sentence: str) -> list[str]:
    """Lower-cased, accent-free words and punctuation marks."""
    text = unicodedata.normalize("NFKD", sentence.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _WORD.findall(text)


class TrigramJudge:
    """Interpolated Kneser-Ney trigram model of a corpus.

    Args:
        corpus: sentences to count.
        discount: the absolute discount D at every order.
    """

    def __init__(self, corpus: Iterable[str], *, discount: float = 0.75):
        self.D = discount
        tri: Counter[tuple[str, str, str]] = Counter()
        for sentence in corpus:
            w = [BOS, BOS, *words(sentence), EOS]
            tri.update(zip(w, w[1:], w[2:]))
        if not tri:
            raise ValueError("the trigram judge needs a non-empty corpus")
        self.tri = tri
        self.ctx2: Counter[tuple[str, str]] = Counter()  # c(u v .)
        self.types2: Counter[tuple[str, str]] = Counter()  # N1+(u v .)
        cont2: Counter[tuple[str, str]] = Counter()  # N1+(. v w)
        for (u, v, w), c in tri.items():
            self.ctx2[(u, v)] += c
            self.types2[(u, v)] += 1
            cont2[(v, w)] += 1
        self.cont2 = cont2
        self.cont_ctx1: Counter[str] = Counter()  # sum_w N1+(. v w)
        self.types1: Counter[str] = Counter()  # N1+(v .) among continuation bigrams
        cont1: Counter[str] = Counter()  # N1+(. w)
        for v, w in cont2:
            self.cont_ctx1[v] += cont2[(v, w)]
            self.types1[v] += 1
            cont1[w] += 1
        self.cont1 = cont1
        self.cont1_total = sum(cont1.values())
        self.vocab_size = len(cont1) + 1  # + the unknown word

    def _p1(self, w: str) -> float:
        uniform = 1.0 / self.vocab_size
        lam = self.D * len(self.cont1) / self.cont1_total
        return max(self.cont1.get(w, 0) - self.D, 0.0) / self.cont1_total + lam * uniform

    def _p2(self, v: str, w: str) -> float:
        total = self.cont_ctx1.get(v, 0)
        if total == 0:
            return self._p1(w)
        lam = self.D * self.types1[v] / total
        return max(self.cont2.get((v, w), 0) - self.D, 0.0) / total + lam * self._p1(w)

    def prob(self, u: str, v: str, w: str) -> float:
        """P(w | u v)."""
        total = self.ctx2.get((u, v), 0)
        if total == 0:
            return self._p2(v, w)
        lam = self.D * self.types2[(u, v)] / total
        return max(self.tri.get((u, v, w), 0) - self.D, 0.0) / total + lam * self._p2(v, w)

    def log_prob(self, sentence: str) -> tuple[float, int]:
        """(natural log-probability of the sentence with its end symbol, number of predicted words)."""
        w = [BOS, BOS, *words(sentence), EOS]
        return sum(math.log(self.prob(a, b, c)) for a, b, c in zip(w, w[1:], w[2:])), len(w) - 2

    def perplexity(self, sentences: Sequence[str]) -> float:
        """Per-word perplexity over all sentences together (end symbols included)."""
        if not sentences:
            raise ValueError("no sentences to score")
        total, count = 0.0, 0
        for s in sentences:
            lp, n = self.log_prob(s)
            total, count = total + lp, count + n
        return math.exp(-total / count)
