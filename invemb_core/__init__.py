"""InvEmb: invertible sentence embeddings. A sentence goes in, one vector comes out, and back.

import invemb_core as ie
ae = ie.load()                                   # the shipped default checkpoint
Z = ae.encode(["A man rides a bike."])           # (N, d) tensor
ae.decode(Z)                                     # ["a man rides a bike."]
ie.interpolate(ae, "a dog runs.", "a cat sleeps.", steps=8, method="slerp")
ie.evaluate(ae, sentences)                       # token accuracy, exact match, BLEU, cosine
de = ie.load("checkpoints/de")                   # German in and out of the same meaning space
de.decode(de.from_meaning(Z[:, :384]))           # ["Ein Mann fährt Fahrrad."]
"""

from .autoencoder import Autoencoder
from .checkpoint import list_checkpoints, load, save
from .config import DecodeConfig, ModelConfig, TrainConfig
from .errors import InvEmbError
from .interpolate import arithmetic, interpolate
from .language import Language
from .metrics import evaluate
from .train import train

__all__ = [
    "Autoencoder",
    "DecodeConfig",
    "InvEmbError",
    "Language",
    "ModelConfig",
    "TrainConfig",
    "arithmetic",
    "evaluate",
    "interpolate",
    "list_checkpoints",
    "load",
    "save",
    "train",
]
__version__ = "0.1.0"
