"""What each ``invemb`` subcommand does, given its parsed arguments (``cli.py`` builds the parser).

Each ``cmd_*`` is a thin wrapper over the public API: it turns the flags into configs or keyword
arguments, calls the engine, and prints. User errors (``InvEmbError``) propagate to ``cli.main``,
which prints them as one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from .config import DecodeConfig, ModelConfig, TrainConfig
from .errors import InvEmbError


def _config_from_args(cls: type, args: argparse.Namespace, base: dict | None = None):
    return cls(**_config_values(cls, args, base))


def _config_values(cls: type, args: argparse.Namespace, base: dict | None = None) -> dict:
    """The config keys given: ``base`` (a --config section, checked) overridden by the flags that were set."""
    values = dict(base or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvEmbError(
            f"--config: unknown {cls.__name__} key(s) {', '.join(unknown)}; the keys are {', '.join(sorted(known))}"
        )
    for f in fields(cls):
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    return values


def _decode_kwargs(args: argparse.Namespace) -> dict:
    """The decoding options given on the command line (checked); the rest are the checkpoint's defaults."""
    given = {f.name: getattr(args, f.name) for f in fields(DecodeConfig) if getattr(args, f.name, None) is not None}
    DecodeConfig(**given)
    return given


def _json_arg(text: str | None, flag: str) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvEmbError(f'{flag} is not JSON ({e}); e.g. \'{{"strategy": "rerank"}}\'') from e
    if not isinstance(value, dict):
        raise InvEmbError(f"{flag} must be a JSON object of decode options")
    try:
        DecodeConfig(**value)
    except TypeError as e:
        raise InvEmbError(f"{flag}: {e}") from e
    return value


def cmd_train(args: argparse.Namespace) -> None:
    from .train import train

    base = {}
    if args.config:
        try:
            base = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InvEmbError(f"cannot read --config {args.config}: {e}") from e
        if not isinstance(base, dict) or set(base) - {"model", "train"}:
            raise InvEmbError(f"--config {args.config}: expected an object with 'model' and/or 'train' sections")
    train_cfg = _config_from_args(TrainConfig, args, base.get("train"))
    if train_cfg.init_from:  # the saved architecture, changed by the model keys given (flags or --config)
        overrides = _config_values(ModelConfig, args, base.get("model"))
        model_cfg = ModelConfig()  # unused: the run's model is the saved one (checkpoint.load_as)
    else:
        model_cfg, overrides = _config_from_args(ModelConfig, args, base.get("model")), None
    train(
        model_cfg,
        train_cfg,
        args.out,
        resume=args.resume,
        progress=not args.quiet,
        description=args.description,
        events=args.events,
        default_decoding=_json_arg(args.default_decoding, "--default-decoding"),
        model_overrides=overrides,
    )


def _load(args: argparse.Namespace):
    from .checkpoint import load

    return load(args.checkpoint)


def cmd_eval(args: argparse.Namespace) -> None:
    from .data import read_sentences
    from .metrics import evaluate

    sentences = read_sentences(args.data, min_words=args.min_words, max_words=args.max_words, limit=args.limit)
    if not sentences:
        raise InvEmbError(f"no sentences of {args.min_words}-{args.max_words} words in {args.data}")
    ae = _load(args)
    result = evaluate(ae, sentences, semantic=not args.no_semantic, keep=args.keep, **_decode_kwargs(args))
    result.update(data=args.data, min_words=args.min_words, max_words=args.max_words)
    if args.captions:
        from .data import read_caption_sets
        from .metrics import same_item_retrieval

        captions, items = read_caption_sets(args.captions)
        result["retrieval"] = {
            "recall_at_1": same_item_retrieval(ae.encode(captions), items),
            "captions": len(captions),
            "items": len(set(items)),
        }
    if args.record:
        from .checkpoint import record_metrics

        path = record_metrics(ae.info["path"], args.record, result)
        print(f"recorded as {args.record!r} in {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    kept = "" if args.keep is None else f", wording kept {args.keep:g}"
    print(f"{args.data}: {result['n']} sentences{kept}")
    keys = ("token_accuracy", "exact_match", "bleu", "semantic_cosine")
    for name, part in [("all", result), *result["by_length"].items()]:
        print(f"  {name:>6} (n={part['n']:>4}): " + "  ".join(f"{k} {part[k]:.4f}" for k in keys if k in part))
    if "retrieval" in result:
        r = result["retrieval"]
        print(f"same-item retrieval R@1 {r['recall_at_1']:.4f} ({r['captions']} captions of {r['items']} items)")


def _printable(text: str) -> str:
    """User text as it can be echoed: argv may carry lone surrogates (undecodable bytes)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def cmd_reconstruct(args: argparse.Namespace) -> None:
    ae = _load(args)
    _, truncated = ae.tokenize(args.text)
    for text, out, cut in zip(args.text, ae.reconstruct(args.text, **_decode_kwargs(args)), truncated):
        note = f"  (input truncated to {ae.config.max_length} word pieces)" if cut else ""
        print(f"{_printable(text)}\n  -> {out}{note}")


def cmd_interpolate(args: argparse.Namespace) -> None:
    from .interpolate import interpolate

    for alpha, text in interpolate(
        _load(args), args.a, args.b, steps=args.steps, method=args.method, **_decode_kwargs(args)
    ):
        print(f"{alpha:.3f}  {text}")


def cmd_encode(args: argparse.Namespace) -> None:
    import numpy as np

    from .data import read_sentences

    sentences = list(args.text) if args.text else read_sentences(args.data)
    Z = _load(args).encode(sentences).numpy()
    np.save(args.out, Z)
    print(f"wrote {Z.shape[0]} vectors of size {Z.shape[1]} to {args.out}")


def cmd_project(args: argparse.Namespace) -> None:
    from .projection import build_projection

    if args.file:
        return _project_file(args)
    path = build_projection(
        _load(args), splits=args.data, name=args.name or "val-test", limit=args.limit, seed=args.seed
    )
    print(f"wrote {path}")


def _project_file(args: argparse.Namespace) -> None:
    """``invemb project --file``: a user's .txt or .csv, read as the app reads an upload but with no limit on
    its size, mapped as the app maps it."""
    from .corpus_map import corpus_projection, encode_corpus
    from .projection import save_projection
    from .user_corpus import NO_LIMITS, CorpusLimits, read_corpus

    path = Path(args.file).expanduser()
    if not path.is_file():
        raise InvEmbError(f"no such file: {path}")
    limits = CorpusLimits(max_sentences=args.limit, max_bytes=None) if args.limit else NO_LIMITS
    corpus = read_corpus(
        path.read_bytes(), filename=path.name, column=args.column, group_column=args.group_column, limits=limits
    )
    print("; ".join([corpus.summary] + corpus.notes), flush=True)
    ae = _load(args)

    def progress(share: float, message: str) -> None:
        print(f"\r{message} ({share:.0%})", end="", flush=True)

    encoded = encode_corpus(ae, corpus.sentences, progress=progress)
    print()
    name = args.name or path.stem
    projection = corpus_projection(ae, encoded, by=args.by, groups=corpus.groups, name=name, seed=args.seed)
    print(f"wrote {save_projection(projection, args.out or ae.info.get('path') or '.')}")


def cmd_calibrate(args: argparse.Namespace) -> None:
    from .calibration import CalibrationConfig, calibrate_checkpoint

    cfg = CalibrationConfig(sentences=args.sentences, epochs=args.epochs, l2=args.l2, seed=args.seed)
    summary = calibrate_checkpoint(args.checkpoint, cfg, data=args.data, progress=not args.quiet)
    print(
        f"wrote {summary['path']} (output bias fitted on {summary['sentences']} sentences in {summary['minutes']} min)"
    )


def cmd_data(args: argparse.Namespace) -> None:
    from .english import build_english

    summary = build_english(args.source, args.out, seed=args.seed)
    mix = ", ".join(f"{name} {n:,}" for name, n in summary.per_source.items())
    print(f"wrote {summary.train} ({summary.train_sentences:,} sentences: {mix})")
    print(f"wrote {summary.heldout} ({summary.heldout_sentences:,} held-out sentences, never trained on)")


def cmd_train_lm(args: argparse.Namespace) -> None:
    from .lm_decoder import LMDecoderConfig
    from .train_lm import LMTrainConfig, train_meaning_decoder

    def pick(cls):
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None})

    out = train_meaning_decoder(pick(LMTrainConfig), pick(LMDecoderConfig))
    print(f"meaning decoder saved in {out}")


def cmd_train_language(args: argparse.Namespace) -> None:
    from .train_language import LanguageTrainConfig, train_language

    cfg = LanguageTrainConfig(
        **{
            f.name: getattr(args, f.name)
            for f in fields(LanguageTrainConfig)
            if getattr(args, f.name, None) is not None
        }
    )
    print(f"language checkpoint saved in {train_language(cfg)}")


def cmd_setup_lm(args: argparse.Namespace) -> None:
    from .lm import resolve_lm_dir

    print(f"language model {args.lm!r} ready in {resolve_lm_dir(args.lm)}")


def cmd_lexicon(args: argparse.Namespace) -> None:
    from .checkpoint import write_lexicon

    path, n = write_lexicon(args.checkpoint, data=args.data, word_list=args.word_list, min_count=args.min_count)
    print(f"wrote {path} ({n:,} words)")
