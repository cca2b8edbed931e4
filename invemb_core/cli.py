"""The ``invemb`` command line: train, eval, reconstruct, interpolate, encode, project, data, calibrate, lexicon,
train-lm, train-language, setup-lm.

The only module that parses arguments: the flags of every subcommand (many built from the config
dataclasses' fields and help texts) and ``main``. What each subcommand does is in ``commands.py``, a thin
wrapper over the public API; user errors (``InvEmbError``) print one line on stderr and exit with status
2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from typing import NoReturn

from .commands import (
    cmd_calibrate,
    cmd_data,
    cmd_encode,
    cmd_eval,
    cmd_interpolate,
    cmd_lexicon,
    cmd_project,
    cmd_reconstruct,
    cmd_setup_lm,
    cmd_train,
    cmd_train_language,
    cmd_train_lm,
)
from .config import STRATEGIES, DecodeConfig, ModelConfig, TrainConfig
from .errors import InvEmbError


def _add_config_flags(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """One ``--flag`` per dataclass field, typed from its default, with the field's help text (``config.opt``)."""
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f"{f.metadata['help']} (default: {default})".replace("%", "%%")  # argparse formats help with %
        if isinstance(default, bool):
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif f.name == "train_data":
            parser.add_argument(
                flag, dest=f.name, nargs="+", default=None, help=help_text + "; multi30k:<split> or files"
            )
        elif f.name == "seed" and cls is DecodeConfig:
            parser.add_argument(flag, dest=f.name, type=int, default=None, help=help_text)
        else:
            kind = type(default) if default is not None else {"float": float}.get(str(f.type).split(" | ")[0], int)
            parser.add_argument(flag, dest=f.name, type=kind, default=None, help=help_text)


def _add_decode_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per ``DecodeConfig`` field, typed by its annotation, with its help text; none given means
    the checkpoint's default decoding."""
    group = parser.add_argument_group("decoding (default: the checkpoint's own decoding)")
    for f in fields(DecodeConfig):
        flag, help_text = "--" + f.name.replace("_", "-"), f.metadata["help"].replace("%", "%%")
        help_text += f" (default {f.default})" if f.default is not None else ""
        kind = str(f.type).split(" | ")[0]
        if kind == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif f.name == "strategy":
            group.add_argument(flag, dest=f.name, choices=STRATEGIES, default=None, help=f.metadata["help"])
        else:
            group.add_argument(flag, dest=f.name, type={"int": int, "float": float}[kind], default=None, help=help_text)


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line that names the command (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "required: text" in message or "unrecognized arguments: -" in message:
            hint = " (a text that begins with '-' goes after '--': invemb reconstruct -- '-hi')"
        self.exit(2, f"{self.prog}: error: {message}{hint}\nsee: {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="invemb", description="Invertible sentence embeddings: train, evaluate and use sentence autoencoders."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an autoencoder (resumable, checkpoints as it goes)")
    p.add_argument("--out", required=True, help="checkpoint directory to write (and to resume from)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out exactly where it stopped")
    p.add_argument("--config", help="JSON file with {'model': {...}, 'train': {...}}; flags override it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--description", default="", help="one line on what this checkpoint is (shown in the app)")
    p.add_argument("--events", default=None, help="append one JSON line per evaluation to this file (live viewers)")
    p.add_argument(
        "--default-decoding",
        default=None,
        help='decode options the checkpoint uses when none are given, as JSON: \'{"strategy": "rerank"}\'',
    )
    _add_config_flags(p, ModelConfig)
    _add_config_flags(p, TrainConfig)
    p.set_defaults(func=cmd_train)

    def with_checkpoint(q: argparse.ArgumentParser) -> None:
        q.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")

    p = sub.add_parser("eval", help="token accuracy, exact match, BLEU and semantic cosine on a corpus")
    with_checkpoint(p)
    p.add_argument("--data", required=True, help="multi30k:<split> or a .txt/.gz file, one sentence per line")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--limit", type=int, default=None, help="use only the first N sentences")
    p.add_argument("--min-words", type=int, default=5, help="skip shorter sentences (default 5, as in the study)")
    p.add_argument("--max-words", type=int, default=30, help="skip longer sentences (default 30)")
    p.add_argument("--no-semantic", action="store_true", help="skip the sentence-transformer cosine")
    p.add_argument(
        "--keep",
        type=float,
        default=None,
        help="two-part checkpoints: decode the meaning with this share of the wording code (0 = meaning only)",
    )
    p.add_argument(
        "--record",
        default=None,
        metavar="NAME",
        help="also save the figures in the checkpoint's config.json as NAME (the app's Model page shows them)",
    )
    p.add_argument(
        "--captions",
        nargs="+",
        default=None,
        help="files of parallel captions (line i of each = item i): also report same-item retrieval R@1",
    )
    _add_decode_flags(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("reconstruct", help="encode and decode sentences")
    with_checkpoint(p)
    p.add_argument("text", nargs="+", help="one or more sentences")
    _add_decode_flags(p)
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("interpolate", help="decode points between two sentences' vectors")
    with_checkpoint(p)
    p.add_argument("a", help="first sentence")
    p.add_argument("b", help="second sentence")
    p.add_argument("--steps", type=int, default=8, help="points including both ends (default 8)")
    p.add_argument("--method", choices=("slerp", "lerp"), default="slerp", help="path (default slerp)")
    _add_decode_flags(p)
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("encode", help="write sentence vectors to a .npy file")
    with_checkpoint(p)
    p.add_argument("text", nargs="*", help="sentences (or use --data)")
    p.add_argument("--data", default=None, help="a corpus to encode instead of TEXT")
    p.add_argument("--out", required=True, help="output .npy path")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("project", help="precompute the UMAP map of a corpus into the checkpoint (for the app)")
    with_checkpoint(p)
    p.add_argument("--data", nargs="+", default=["multi30k:val", "multi30k:test_2016_flickr"], help="corpora to map")
    p.add_argument("--limit", type=int, default=None, help="at most N sentences per corpus")
    p.add_argument(
        "--name", default=None, help="the map's name: projection-NAME.* (default: val-test, or the --file's stem)"
    )
    p.add_argument("--seed", type=int, default=0, help="UMAP random state")
    p.add_argument(
        "--file", default=None, help="your own corpus instead of --data: a .txt (a sentence a line) or .csv, any size"
    )
    p.add_argument("--column", default=None, help="with a .csv --file: the column of sentences (default: guessed)")
    p.add_argument("--group-column", default=None, help="with a .csv --file: a column to colour the map by")
    p.add_argument(
        "--by",
        choices=("meaning", "whole"),
        default=None,
        help="with --file: lay out by the meaning (default) or whole vector",
    )
    p.add_argument("--out", default=None, help="with --file: the folder for the map files (default: the checkpoint)")
    p.set_defaults(func=cmd_project)

    p = sub.add_parser("data", help="build a training corpus from the sources the repository carries")
    p.add_argument("corpus", choices=("english",), help="english: the general-English mix (data/english)")
    p.add_argument("--source", default=None, help="folder of source files (default: data/english/sources)")
    p.add_argument("--out", default=None, help="where train.en.gz and heldout.en.gz go (default: data/english)")
    p.add_argument("--seed", type=int, default=0, help="which lines of each source the mix keeps")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser(
        "calibrate", help="fit the output layer's per-piece bias with the full softmax (better sampling), in place"
    )
    with_checkpoint(p)
    p.add_argument("--data", nargs="+", default=None, help="training corpora (default: the checkpoint's own)")
    p.add_argument("--sentences", type=int, default=4000, help="training sentences to fit on")
    p.add_argument("--epochs", type=int, default=2, help="passes over their pieces")
    p.add_argument("--l2", type=float, default=0.01, help="prior that keeps the biases small")
    p.add_argument("--seed", type=int, default=0, help="which sentences are drawn")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("lexicon", help="write the words sampling may spell (whole-word sampling) into a checkpoint")
    with_checkpoint(p)
    p.add_argument("--data", nargs="+", default=None, help="corpora to take words from (default: the checkpoint's own)")
    p.add_argument(
        "--word-list", default=None, help="also every word of this file, e.g. /usr/share/dict/american-english"
    )
    p.add_argument("--min-count", type=int, default=2, help="keep corpus words seen at least this often (default 2)")
    p.set_defaults(func=cmd_lexicon)

    from .lm_decoder import LMDecoderConfig
    from .train_lm import LMTrainConfig

    p = sub.add_parser("train-lm", help="train the meaning decoder (a pretrained LM behind the meaning; resumable)")
    _add_config_flags(p, LMTrainConfig)
    _add_config_flags(p, LMDecoderConfig, skip=("meaning_size",))
    p.set_defaults(func=cmd_train_lm)

    from .train_language import LanguageTrainConfig

    p = sub.add_parser(
        "train-language",
        help="train a German or French checkpoint: a decoder and an encoder of the meaning (resumable)",
    )
    _add_config_flags(p, LanguageTrainConfig)
    p.set_defaults(func=cmd_train_language)

    p = sub.add_parser("setup-lm", help="de-quantise a language model from its package once (about 20 s)")
    p.add_argument(
        "--lm",
        default="smollm2",
        help="smollm2 (the meaning decoder's), gemma3 (the students' reader), a directory or a hub id",
    )
    p.set_defaults(func=cmd_setup_lm)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed
        return e.code if isinstance(e.code, int) else 2
    if args.command == "encode" and not args.text and not args.data:
        print("invemb encode: give sentences or --data FILE", file=sys.stderr)
        return 2
    try:
        args.func(args)
    except InvEmbError as e:
        print(f"invemb {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
