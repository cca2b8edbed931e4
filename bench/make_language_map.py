"""Build the three-language map shipped with the default checkpoint: ``projection-languages.*``.

The test_2016 captions in English, German and French (3 x 1,000 rows), each encoded by its own language's
encoder into the default's meaning space (``multilingual_map.py``), laid out together; the Embedding map
colours them by language and says how often the three versions of a caption land together.

    python bench/make_language_map.py          # from bench/: into ../checkpoints/default
"""

from __future__ import annotations

import argparse
import time

import invemb_core as ie
from invemb_core.language import multi30k_file
from invemb_core.multilingual_map import agreement, encode_languages, language_map, map_agreement
from invemb_core.projection import save_projection
from invemb_core.train_language import read_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="../checkpoints/default")
    parser.add_argument("--languages", nargs="+", default=["../checkpoints/de", "../checkpoints/fr"])
    parser.add_argument("--split", default="test_2016_flickr")
    args = parser.parse_args()
    start = time.perf_counter()
    ae = ie.load(args.checkpoint)
    langs = [ie.load(p) for p in args.languages]
    texts = {code: read_lines(multi30k_file(args.split, code)) for code in ["en"] + [x.language for x in langs]}
    vectors = encode_languages(ae, langs, texts)
    projection = language_map(ae, vectors, texts)
    path = save_projection(projection, args.checkpoint)
    print(f"wrote {path} ({len(projection.table):,} rows) in {time.perf_counter() - start:.0f} s")
    print(
        f"nearest-neighbour agreement: {agreement(vectors):.3f} (full vectors), "
        f"{map_agreement(projection):.3f} (the map's stored 128 components)"
    )


if __name__ == "__main__":
    main()
