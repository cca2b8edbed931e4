"""Who writes a row: the autoencoder's own decoder, or the meaning decoder (``lm_decoder.py``).

A two-part checkpoint may carry a meaning decoder (``meaning_decoder.json`` + ``.safetensors`` beside its
``config.json``). Then every row whose wording code is all zero (``ae.meaning(Z)``, ``ae.from_meaning(M)``,
interpolation between such rows, the map's spots) is written by it, under every strategy:

| strategy | the meaning decoder |
|---|---|
| greedy, the checkpoint's default, rerank, beam | greedy (rerank: the greedy text and ``num_candidates - 1`` samples, the one whose MiniLM meaning comes closest kept) |
| sample | a seeded sample at the strategy's temperature and top-p |

Its draft is the small decoder's reading of the same meaning: the checkpoint's default decoding (its best
text; ``draft_decoding="default"``) or greedy (what training reads, faster).
With ``keep_draft_margin`` set in the meaning decoder's config (the faithfulness guard), a row whose LM
text lands more than that margin further from the meaning (MiniLM cosine) than the small decoder's keeps
the small decoder's, and says so (writer ``DRAFT``): the draft for the LM's greedy text (greedy, beam,
default), the small decoder's own sample or rerank for a sampled decoding (so a T row still shows
sampling at its T): the LM brings case and grammar, never at the price of the meaning. Decodings the LM
reads alike (greedy, beam, default) share one text, and every LM row the decodings of one call need (each
vector's greedy row, its seeded samples, a rerank's candidates) is written in one batch (``lm_texts``).
Rows that keep some wording code stay with the small decoder, which reads that code; ``writer="decoder"``
sends every row there, ``writer="lm"`` insists on the meaning decoder (an error if it cannot load).
With the default ``writer="auto"``, a meaning decoder that cannot load (its package missing) leaves the
rows to the small decoder and says why in ``ae.meaning_decoder_note``.

Nothing here draws text itself: the small decoder is reached through a callable, the LM through
``MeaningDecoder.generate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from .errors import InvEmbError
from .lm_generate import GREEDY, Draw

WRITERS = ("auto", "lm", "decoder")
DEFAULT = "default"  # a decoding's strategy meaning "the writer's own default" (``Autoencoder.decode`` without one)


def with_default(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Decode keywords with ``strategy="default"`` where they name none (``decode``/``decode_ids``' rule)."""
    return dict(kwargs) if "strategy" in kwargs else {**kwargs, "strategy": DEFAULT}


SMALL, LM = "decoder", "meaning decoder"
DRAFT = "decoder (kept)"  # a row the guard gave back to the small decoder: its draft, or its own sample


def meaning_only_rows(Z: torch.Tensor, meaning_size: int) -> list[int]:
    """Rows whose wording code is all zero: the meaning alone."""
    if meaning_size == 0 or Z.shape[1] == meaning_size:
        return list(range(Z.shape[0])) if meaning_size else []
    return torch.nonzero((Z[:, meaning_size:] == 0).all(dim=1)).flatten().tolist()


def pop_writer(kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    rest = dict(kwargs)
    writer = rest.pop("writer", "auto")
    if writer not in WRITERS:
        raise InvEmbError(f"writer must be one of {', '.join(WRITERS)}, got {writer!r}")
    return writer, rest


def lm_draws(config) -> list[Draw]:
    """The LM rows one ``DecodeConfig`` needs per vector: greedy, beam and default read one greedy row; a
    sample its seeded row; rerank n the greedy row and n - 1 samples (seeds ``seed + 1`` ..)."""
    if config.strategy == "sample":
        return [Draw(config.temperature, config.top_p, config.seed)]
    if config.strategy == "rerank" and config.num_candidates > 1:
        seed = config.seed or 0
        sample = [Draw(config.temperature or 0.7, config.top_p, seed + i) for i in range(1, config.num_candidates)]
        return [GREEDY, *sample]
    return [GREEDY]


def lm_texts(decoder, M: torch.Tensor, drafts: list[str], configs, *, reencode) -> list[list[str]]:
    """The meaning decoder's texts for meanings ``M`` under each ``DecodeConfig`` of ``configs``, one list per
    config. Every row any of them needs (each vector under each distinct ``Draw``) goes through the LM in
    one batch (``lm_generate.py``), so the Reconstruct page's four temperatures and rerank's samples cost
    about what two greedy rows do; a rerank keeps, per vector, the candidate whose MiniLM meaning comes
    closest (all candidates re-encoded in one call)."""
    plans = [lm_draws(c) for c in configs]
    unique = list(dict.fromkeys(d for plan in plans for d in plan))
    N = M.shape[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        flat = decoder.generate(
            M.repeat(len(unique), 1), list(drafts) * len(unique), draws=[d for d in unique for _ in range(N)]
        )
    texts = {d: flat[k * N : (k + 1) * N] for k, d in enumerate(unique)}
    out = []
    for plan in plans:
        pools = [texts[d] for d in plan]
        if len(pools) == 1:
            out.append(pools[0])
            continue
        scores = closeness(M, [t for pool in pools for t in pool], reencode, repeat=len(pools)).view(len(pools), N)
        out.append([pools[c][i] for i, c in enumerate(scores.argmax(0).tolist())])
    return out


def lm_text(decoder, M: torch.Tensor, drafts: list[str], config, *, reencode) -> list[str]:
    """The meaning decoder's text for meaning vectors ``M`` under one ``DecodeConfig`` (``lm_texts``)."""
    return lm_texts(decoder, M, drafts, [config], reencode=reencode)[0]


def lm_setting(config) -> tuple[Draw, ...]:
    """What ``lm_texts`` makes of a ``DecodeConfig`` (configs it reads alike share one text): its draws."""
    return tuple(lm_draws(config))


def keep_drafts(draft_cosines: torch.Tensor, lm_cosines: torch.Tensor, margin: float) -> list[bool]:
    """The faithfulness guard: which rows keep their draft, given both texts' cosines to the meaning."""
    return (lm_cosines < draft_cosines - margin).tolist()


def guarded(
    M: torch.Tensor,
    drafts: list[str],
    texts: list[str],
    margin: float | None,
    reencode,
    *,
    rewrite: list[bool] | None = None,
) -> list[bool]:
    """``keep_drafts`` for meanings ``M``: both texts re-encoded once (nothing to do when ``margin`` is None).
    ``rewrite``: rows whose draft is never kept, whatever the cosines (``invented_drafts``)."""
    if margin is None:
        return [False] * len(texts)
    cosines = closeness(M, list(drafts) + list(texts), reencode, repeat=2)
    keep = keep_drafts(cosines[: len(drafts)], cosines[len(drafts) :], margin)
    return [k and not r for k, r in zip(keep, rewrite or [False] * len(keep))]


def invented_drafts(ae, draft_ids: list[list[int]], texts: list[str]) -> list[bool] | None:
    """Rows whose draft spells a word outside the checkpoint's lexicon (an invented word: "thethesis")
    while the LM's text spells none: the guard gives those rows to the LM. None without a lexicon."""
    lexicon = ae.lexicon
    if lexicon is None:
        return None
    lm_ids = ae.codec.encode([t if t.strip() else "." for t in texts])[0]  # in the checkpoint's own pieces
    return [
        not lexicon.knows_all_words(d) and lexicon.knows_all_words(t) for d, t in zip(draft_ids, lm_ids, strict=True)
    ]


def closeness(M: torch.Tensor, texts: list[str], reencode, *, repeat: int = 1) -> torch.Tensor:
    """Cosine of each text's re-encoded meaning to its row of ``M`` (``texts`` holds ``repeat`` rows per row)."""
    target = torch.nn.functional.normalize(M, dim=-1).repeat(repeat, 1)
    return (torch.nn.functional.normalize(reencode(texts), dim=-1) * target).sum(-1)


def decoder_config(decoder, kwargs: Mapping[str, Any]):
    """The ``DecodeConfig`` the meaning decoder follows: the one asked for, or for ``strategy="default"`` its
    own default (greedy, or rerank among ``candidates`` when its config says so)."""
    from .config import DecodeConfig

    if kwargs.get("strategy") != DEFAULT:
        return DecodeConfig(**kwargs)
    n = decoder.cfg.candidates
    return DecodeConfig(strategy="rerank", num_candidates=n, temperature=0.7) if n > 1 else DecodeConfig()


DRAFT_MEMO = 2048  # rows whose drafts an autoencoder remembers (then it forgets them all and starts again)


def drafts_of(ae, Z: torch.Tensor, how: dict[str, Any], small) -> list[list[int]]:
    """The small decoder's drafts of the rows of ``Z`` (piece ids), remembered per row on ``ae``: the app asks
    for the same sentences' drafts more than once (its first rows, then the sampled ones), and a row's draft
    never depends on the rest of its batch (seeded per row, ``decode.py``)."""
    memo = ae.__dict__.setdefault("_draft_memo", {})
    keys = [(how["strategy"], z.detach().float().numpy().tobytes()) for z in Z]
    todo = [i for i, k in enumerate(keys) if k not in memo]
    fresh = dict(zip(todo, small(Z[todo], {"draft": how})["draft"])) if todo else {}
    out = [fresh[i] if i in fresh else memo[k] for i, k in enumerate(keys)]
    if len(memo) + len(fresh) > DRAFT_MEMO:
        memo.clear()
    memo.update({keys[i]: ids for i, ids in fresh.items()})
    return out


def write_many(
    ae,
    Z: torch.Tensor,
    decodings: Mapping[str, Mapping[str, Any]],
    small: Callable[[torch.Tensor, dict[str, dict[str, Any]]], dict[str, list[list[int]]]],
) -> tuple[dict[str, list], dict[str, list[str]]]:
    """Output for every decoding of ``Z``, each row by its writer: ``({name: texts}, {name: writer per row})``.

    Args:
        ae: the ``Autoencoder``.
        Z: checked vectors (N, d).
        decodings: ``{name: decode keywords}``, each may hold ``writer``.
        small: the small decoder, ``(Z, {name: keywords}) -> {name: piece ids per row}``.

    Returns:
        Per decoding, each row's output (the small decoder's piece ids, or the meaning decoder's text),
        and each row's writer (``SMALL``, ``LM``, or ``DRAFT`` where the guard kept the draft).
    """
    plans = {name: pop_writer(kwargs) for name, kwargs in decodings.items()}
    rows = meaning_only_rows(Z, ae.meaning_size)
    wanted = [name for name, (writer, _) in plans.items() if writer != "decoder"]
    decoder = None
    if rows and wanted:
        insist = any(plans[name][0] == "lm" for name in wanted)
        decoder = ae.get_meaning_decoder(required=insist)
    lm_names = set(wanted) if decoder is not None else set()
    N, lm_rows = Z.shape[0], set(rows) if lm_names else set()
    others = [i for i in range(N) if i not in lm_rows]
    out: dict[str, list] = {name: [None] * N for name in decodings}
    writers = {name: [SMALL] * N for name in decodings}
    whole = {name: kw for name, (_, kw) in plans.items() if name not in lm_names}  # every row: small decoder
    partial = {name: plans[name][1] for name in lm_names} if others else {}  # the rows that keep wording
    for jobs, where in ((whole, list(range(N))), (partial, others)):
        if jobs:
            done = small(Z[where], jobs)
            for name in jobs:
                for i, text in zip(where, done[name]):
                    out[name][i] = text
    if lm_names:
        M = Z[rows, : ae.meaning_size]
        how = decoder.cfg.draft_how()
        draft_ids = drafts_of(ae, Z[rows], how, small)
        drafts = [ae.codec.decode(ids) for ids in draft_ids]
        reencode = lambda t: ae.encode(t)[:, : ae.meaning_size]  # noqa: E731
        configs = {name: decoder_config(decoder, plans[name][1]) for name in lm_names}
        by_setting: dict[tuple, Any] = {}
        for config in configs.values():
            by_setting.setdefault(lm_setting(config), config)  # decodings the LM reads alike share one text
        lm_out = dict(zip(by_setting, lm_texts(decoder, M, drafts, list(by_setting.values()), reencode=reencode)))
        margin = decoder.cfg.keep_draft_margin
        # What a row keeps where the guard rejects the LM's text: for the LM's greedy text (greedy, beam,
        # default) the draft; for a sampled decoding (sample, rerank) the small decoder's own output of that
        # decoding, so that a T row still shows a sample at its T and a new seed still draws anew.
        sampled = [name for name, config in configs.items() if lm_setting(config) != (GREEDY,)]
        own = small(Z[rows], {name: plans[name][1] for name in sampled}) if sampled and margin is not None else {}
        guards: dict[Any, list[bool]] = {}
        for name, config in configs.items():
            key = lm_setting(config)
            kept_ids = own.get(name, draft_ids)
            tag = name if name in own else key  # the draft's guard is shared by the decodings that read alike
            if tag not in guards:
                kept_texts = drafts if name not in own else [ae.codec.decode(ids) for ids in kept_ids]
                rewrite = invented_drafts(ae, kept_ids, lm_out[key]) if decoder.cfg.rewrite_invented else None
                guards[tag] = guarded(M, kept_texts, lm_out[key], margin, reencode, rewrite=rewrite)
            for i, text, ids, kept in zip(rows, lm_out[key], kept_ids, guards[tag]):
                out[name][i], writers[name][i] = (ids, DRAFT) if kept else (text, LM)
    return {n: out[n] for n in decodings}, {n: writers[n] for n in decodings}
