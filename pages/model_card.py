"""Model: what the chosen checkpoint is, how well it inverts, and how encoder, decoder and decoding work."""

import pandas as pd
import streamlit as st

from app_support import current_model

st.title("The model")
ae = current_model()
cfg = ae.config

a, b, c, d = st.columns(4)
a.metric("Vector size", cfg.vector_size)
b.metric("Encoder", f"{cfg.encoder} · {cfg.pooling}")
c.metric("Decoder", f"{cfg.decoder} · {cfg.decoder_cell}")
d.metric("Vocabulary", f"{ae.codec.vocab.size:,} word pieces")

train = ae.info.get("train_config", {})
history = ae.info.get("history", [])
if train:
    run = f", {history[-1]['step']:,} steps in {history[-1]['minutes']:.0f} minutes" if history else ""
    st.caption(
        f"Token embeddings: {cfg.embedding_source} ({'frozen' if cfg.freeze_embeddings else 'trained'}). "
        f"Trained on {', '.join(train.get('train_data', []))} ({train.get('min_words')}-{train.get('max_words')} words){run}."
    )

metrics = ae.info.get("metrics", {})
for name, m in metrics.items():
    if isinstance(m, dict) and "exact_match" in m:
        st.subheader(f"Quality at save time: {m.get('data', name)}")
        cols = st.columns(4)
        cols[0].metric("Exact match", f"{m['exact_match']:.3f}")
        cols[1].metric("Token accuracy", f"{m['token_accuracy']:.4f}")
        cols[2].metric("BLEU", f"{m['bleu']:.1f}")
        if "semantic_cosine" in m:
            cols[3].metric("Semantic cosine", f"{m['semantic_cosine']:.3f}")
        if m.get("by_length"):
            st.dataframe(pd.DataFrame(m["by_length"]).T, key=f"model_len_{name}")

with st.expander("Full configuration"):
    st.json({"model": cfg.to_dict(), "training": ae.info.get("train_config", {}), "checkpoint": ae.info.get("path")})

st.subheader("How it works")
st.markdown(f"""
**Tokens.** A sentence is cut into word pieces by the tokenizer of *all-MiniLM-L6-v2* (lower case, so
capitals are lost before anything is learned). Each piece starts as that model's
{"frozen" if cfg.freeze_embeddings else "trainable"} token embedding.

**Encoder.** A {cfg.encoder_layers}-layer {cfg.encoder} reads the pieces and
{"writes each position into its own small slot, then mixes all slots into one vector, so word order survives" if cfg.pooling == "slots" else "pools them into one vector"}:
the sentence becomes **{cfg.vector_size} numbers**. That vector is the sentence embedding.

**Decoder.** It only sees the vector. A {"parallel decoder predicts every position at once: position *i* reads its part of the vector and says which word is there" if cfg.decoder == "parallel" else "autoregressive decoder writes one word at a time, each time looking at the vector and at the words it already wrote"}.
Its output at each position is compared with every token embedding; the best match is the word.

**Decoding strategies.**
- *Greedy*: always take the most likely word. What "the reconstruction" means.
- *Sampling with temperature T*: draw words at random by their probability. T < 1 sharpens toward greedy,
  T > 1 flattens and makes mistakes more likely; it shows how sure the model is.
- *top-k / top-p*: sample only among the k most likely words / the smallest set holding p of the probability.
- *Beam search* (autoregressive decoders): keep the few best partial sentences and extend them all.
- *Rerank*: take the greedy output and several samples, encode each again, keep the one whose vector is
  closest to the original: it can only land nearer than greedy, though not always on the right words.
""")
