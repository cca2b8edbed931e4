"""Model: what the chosen checkpoint is, how well it inverts, and how encoder, decoder and decoding work."""

import pandas as pd
import streamlit as st

from invemb_app.render import md_escape
from invemb_app.state import checkpoint_description, current, current_model, data_name
from invemb_core.lm_decoder import describe

st.title("The model")
ae = current_model()
cfg = ae.config
description = checkpoint_description(*current())
if description:
    st.markdown(md_escape(description))

a, b, c, d = st.columns(4)
a.metric("Vector size", f"{cfg.vector_size} numbers")
if ae.meaning_and_wording:
    a.caption(f"{ae.meaning_size} meaning + {ae.wording_size} wording")
elif ae.meaning_size:
    a.caption("all-MiniLM-L6-v2's embedding alone")
CELLS = {
    "transformer": "Transformer",
    "gru": "GRU",
    "lstm": "LSTM",
    "rnn": "RNN",
    "pretrained": "Transformer (MiniLM's layers)",
}


def cell_name(cell: str, bidirectional: bool) -> str:
    """ "Transformer", "GRU", or "biGRU" for a recurrent cell that reads both ways."""
    name = CELLS.get(cell, cell)
    return f"bi{name}" if bidirectional and cell != "transformer" else name


encoder_name = cell_name(cfg.encoder, cfg.bidirectional)
decoder_name = cell_name(cfg.decoder_cell, cfg.bidirectional and cfg.decoder == "parallel")
if ae.meaning_size and not ae.wording_size:  # no encoder of its own: the vector is MiniLM's
    b.metric("Encoder", "MiniLM")
    b.caption("all-MiniLM-L6-v2, frozen")
else:
    b.metric("Encoder", encoder_name)
    b.caption(f"{cfg.encoder_layers} layers, {cfg.pooling} pooling")
c.metric("Decoder", cfg.decoder.capitalize())
c.caption(f"{cfg.decoder_layers}-layer {decoder_name}")
d.metric("Vocabulary", f"{ae.codec.vocab.size:,}")
d.caption("word pieces of all-MiniLM-L6-v2")

writer = describe(current()[0])
if writer:
    st.info(md_escape(writer), icon=":material/edit_note:")

train = ae.info.get("train_config", {})
history = ae.info.get("history", [])
if train:
    threads = train.get("threads") or 0
    cores = f" on {threads} CPU thread{'s' if threads > 1 else ''}" if threads else " on this project's 2-core CPU"
    run = f", {history[-1]['step']:,} steps in {history[-1]['minutes']:.0f} minutes{cores}" if history else ""
    source = {"minilm": "all-MiniLM-L6-v2's", "random": "random"}.get(cfg.embedding_source, cfg.embedding_source)
    corpora = ", ".join(dict.fromkeys(train.get("train_data", [])))  # a corpus listed twice weighs double
    start = train.get("init_from")
    tuned = f"Fine-tuned from {md_escape(start.rstrip('/').rsplit('/', 1)[-1])} on" if start else "Trained on"
    st.caption(
        f"Token embeddings: {source} ({'frozen' if cfg.freeze_embeddings else 'trained'}). "
        f"{tuned} {md_escape(corpora)} ({train.get('min_words')}-{train.get('max_words')} words){run}."
    )

metrics = ae.info.get("metrics", {})
for name, m in metrics.items():
    if isinstance(m, dict) and "exact_match" in m:
        n = m.get("n")
        data = md_escape(data_name(m.get("data")) or name)  # text from the checkpoint's config
        keep = m.get("wording_kept")
        if keep is None:  # training saves "validation"; invemb eval --record adds the rest later
            st.subheader(f"{'Quality at save time' if name == 'validation' else 'Measured after training'}: {data}")
        else:
            st.subheader(f"From the meaning alone: {data}" if keep == 0 else f"{keep:.0%} of the wording: {data}")
        strategy = (m.get("decoding") or {}).get("strategy", "greedy")
        how = "Greedy decoding" if strategy == "greedy" else f"The checkpoint's default decoding ({strategy})"
        calibrated = ", after calibration" if m.get("calibrated") else ""
        lo, hi = m.get("min_words", 5), m.get("max_words", 30)
        lengths = "" if lo <= 1 and hi >= 100 else f" of {lo}-{hi} words"  # eval's defaults: 5-30, as training's
        st.caption(
            (f"{how} of the first {n:,} sentences{lengths}{calibrated}" if n else how)
            + (
                f" ({md_escape(str(m.get('data')))}), measured after training with invemb eval --keep {keep:g} "
                f"--record {md_escape(name)}. "
                "A meaning has many wordings, so exact match is not the aim here: BLEU and the semantic cosine "
                "say how much of the sentence the meaning alone brings back."
                if keep is not None
                else ""
            )
        )
        cols = st.columns(4)
        cols[0].metric("Exact match", f"{m['exact_match']:.3f}")
        cols[1].metric("Token accuracy", f"{m['token_accuracy']:.3f}")
        cols[2].metric("BLEU", f"{m['bleu']:.1f}")
        if "semantic_cosine" in m:
            cols[3].metric("Semantic cosine", f"{m['semantic_cosine']:.3f}")
        if m.get("by_length"):
            by_length = pd.DataFrame(m["by_length"]).T.rename_axis("words")
            names = {"token_accuracy": "token accuracy", "exact_match": "exact match", "bleu": "BLEU", "n": "sentences"}
            by_length = by_length.rename(columns=names)
            three = st.column_config.NumberColumn(format="%.3f")
            formats = {
                "token accuracy": three,
                "exact match": three,
                "BLEU": st.column_config.NumberColumn(format="%.1f"),
            }
            formats["sentences"] = st.column_config.NumberColumn(format="%d")
            st.dataframe(by_length, key=f"model_len_{name}", column_config=formats)
st.caption("All figures for the shipped checkpoints, with the commands that produce them, are in BENCHMARKS.md.")

with st.expander("Full configuration"):
    st.json({"model": cfg.to_dict(), "training": ae.info.get("train_config", {}), "checkpoint": ae.info.get("path")})

st.subheader("How it works")
if ae.meaning_size and not ae.wording_size:
    vector_text = f"""
**The vector: a meaning alone.** The vector is the sentence's embedding by *all-MiniLM-L6-v2*, a
sentence-transformer trained so that sentences that mean the same thing get similar vectors: {ae.meaning_size}
numbers and nothing else. This model only learned the way back, from such a vector to a sentence, so it can
turn any MiniLM vector into text. It cannot bring a sentence back word for word (many sentences share a
meaning): what it writes is the sentence its decoder finds most likely for that meaning, a paraphrase.
Its decoder started as MiniLM's own first layers, made to write left to right.
"""
elif ae.meaning_size:
    vector_text = f"""
**The vector: meaning and wording.** The vector has two parts. The first {ae.meaning_size} numbers are the
sentence's embedding by *all-MiniLM-L6-v2*, a sentence-transformer trained so that sentences that mean the
same thing get similar vectors: this is the **meaning**. The other {ae.wording_size} numbers are a
**wording** code learned by this model's {cfg.encoder_layers}-layer {encoder_name} encoder: what the meaning
leaves open (which words, in which order). The wording part is scaled down, so comparing two vectors
compares their meanings. While training, the wording code was often cut short or dropped, so the decoder
also learned to write a sentence from the meaning alone: on the Reconstruct page, "wording kept" moves
from meaning only (paraphrases) to the exact sentence. Its default decoding checks its own work: it
re-encodes what it wrote, and where that does not come back to the vector (a point between two sentences,
a vector with noise added) it writes the sentence again from the meaning alone, with beam search: the
sentence the decoder finds most likely for that meaning. (*Correction*, below, is another step: it acts
only on a vector that has no wording code at all.)
"""
else:
    pooling = (
        "writes each position into its own small slot, then mixes all slots into one vector, so word order survives"
        if cfg.pooling == "slots"
        else "pools them into one vector"
    )
    exact = next((m["exact_match"] for m in metrics.values() if isinstance(m, dict) and "exact_match" in m), None)
    keeps = (
        "it is meant to keep the words"
        if exact is None
        else "it keeps the words almost perfectly"
        if exact >= 0.9
        else f"it is meant to keep the words, and this one brings back {exact:.0%} of held-out sentences exactly"
    )
    vector_text = f"""
**The vector.** A {cfg.encoder_layers}-layer {encoder_name} encoder reads the word pieces and {pooling}:
the sentence becomes **{cfg.vector_size} numbers**. This is a plain autoencoder's code: {keeps}, but sentences
that mean the same thing are not especially close.
"""
if cfg.decoder == "autoregressive":
    decoder_text = (
        f"An autoregressive {decoder_name} decoder writes one word at a time, each time looking at the vector "
        "and at the words it already wrote."
    )
elif cfg.decoder_cell == "transformer":
    decoder_text = (
        "A parallel decoder predicts every position at once: position *i* reads its part of the vector and says "
        "which word is there."
    )
else:
    decoder_text = (
        f"A parallel {decoder_name} decoder is fed the vector at every position and runs along the positions"
        f"{' in both directions' if cfg.bidirectional else ''}, then says which word is at each, all at once: no "
        "position sees the words chosen at the others."
    )
calibration_text = (
    " After training, each word piece got one more number, a bias added to its score, fitted over the whole "
    "vocabulary (training only ever compared a word with a sample of the others): sampling then rarely "
    "wanders into pieces the training text never used."
    if cfg.output_bias
    else ""
)
lexicon_text = (
    f"- *Whole words*: a sampled word may only be one of the {ae.lexicon.size:,} words of this checkpoint's "
    "lexicon (its training text and an English word list; whole words, each spelled in the vocabulary's word "
    "pieces), so samples never glue pieces into made-up words. "
    "Greedy and beam search are never restricted: they give back a typed sentence's own rare words.\n"
    if ae.lexicon is not None
    else ""
)
strategy = ae.default_decoding.get("strategy", "greedy")
correction_text = (
    "- *Correction* (the last step of this checkpoint's own decoding, after rerank, and only for a vector with "
    "no wording code): re-encode the text written, see how far its vector missed, decode again aiming that much "
    "past the vector (half of the miss), and keep whichever text comes back closer. It costs a second decoding; "
    "on both shipped two-part models it lifts held-out captions' meaning-only BLEU by about 4 points.\n"
    if ae.default_decoding.get("corrections")
    else ""
)
greedy_text = (
    "- *Greedy*: always take the most likely word. This checkpoint's reconstruction (its figures above, its "
    "map, the Compare page) is greedy."
    if strategy == "greedy"
    else "- *Greedy*: always take the most likely word. The Compare page uses it for every checkpoint; this "
    f"checkpoint's own decoding ({strategy}{', then correction' if ae.default_decoding.get('corrections') else ''}, "
    "below; the 'default' row on Reconstruct) is what its figures above and its map call its reconstruction."
)
st.markdown(f"""
**Tokens.** A sentence is cut into word pieces by the tokenizer of *all-MiniLM-L6-v2* (lower case, so
capitals are lost before anything is learned). Characters it does not know (emoji, for example) become
[UNK] and cannot come back.
{vector_text}
**Decoder.** It only sees the vector. {decoder_text} At each position it scores every word piece; the
best is the word.{calibration_text}

**Decoding strategies.**
{greedy_text}
- *Sampling with temperature T*: draw words at random by their probability. T < 1 sharpens toward greedy,
  T > 1 flattens and makes other words more likely; it shows how sure the model is.
- *top-k / top-p / min-p*: sample only among the k most likely words / the smallest set holding p of the
  probability / the words at least min-p times as likely as the best one (0.3 by default; the checkpoint's
  own decoding names its own).
{lexicon_text}- *Beam search* (autoregressive decoders): keep the few best partial sentences and extend them all.
- *Rerank*: take the greedy output and several samples, encode each again, keep the one whose vector is
  closest to the original: it can only land nearer than greedy, though not always on the right words.
{correction_text}
**Cosine similarity** compares two vectors by the angle between them: 1 means the same direction, 0
unrelated. It is how "near" is measured everywhere in the app.

**lerp and slerp** are two ways to walk between two vectors: lerp on the straight line, slerp along the
sphere (keeping the length). The decoder normalises what it reads, so the two mostly agree.

**UMAP** (the Embedding map) squeezes the vectors into two dimensions so that each sentence's nearest
neighbours stay nearby. Distances between far-apart clusters on the map mean little; the neighbourhoods
are what it preserves.
""")
