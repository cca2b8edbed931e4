"""Reconstruct: sentences in, their reconstructions under several decoding strategies side by side."""

import streamlit as st

from app_support import current_model, example_sentences, split_lines
from invemb_core import InvEmbError
from invemb_core.report import compare_decodings, default_decodings

st.title("Reconstruct")
st.caption("Each sentence is encoded into one vector and decoded back. «Marked» words differ from the input.")
ae = current_model()

if "rec_text" not in st.session_state:
    st.session_state.rec_text = "\n".join(example_sentences()[:3])
if "rec_seed" not in st.session_state:
    st.session_state.rec_seed = 0


def pick_examples() -> None:
    pool = example_sentences()
    st.session_state.rec_picks = (st.session_state.get("rec_picks", 0) + 3) % (len(pool) - 3)
    st.session_state.rec_text = "\n".join(pool[st.session_state.rec_picks : st.session_state.rec_picks + 3])


def resample() -> None:
    st.session_state.rec_seed += 1


left, right = st.columns([3, 2])
with left:
    st.button("Pick 3 Multi30k test captions", key="rec_examples", on_click=pick_examples)
    text = st.text_area("Sentences, one per line (up to 20)", key="rec_text", height=130)
with right:
    temperatures = st.multiselect(
        "Sampling temperatures", [0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0], default=[0.3, 0.7, 1.0, 1.5], key="rec_temps"
    )
    c1, c2 = st.columns(2)
    top_k = c1.number_input("top-k (0 = off)", 0, 1000, 0, key="rec_topk")
    top_p = c2.slider("top-p", 0.05, 1.0, 1.0, 0.05, key="rec_topp")
    c3, c4, c5 = st.columns(3)
    seed = c3.number_input("Seed", 0, 10**6, key="rec_seed")
    rerank = c4.number_input(
        "Rerank n",
        0,
        32,
        8,
        key="rec_rerank",
        help="n candidates: greedy plus samples at T=1, each re-encoded; the one whose vector is closest wins. 0 = off",
    )
    c5.button("Resample", key="rec_resample", help="New seed, same sentences", on_click=resample)

sentences = split_lines(text)
if not sentences:
    st.info("Type a sentence to reconstruct.")
    st.stop()

decodings = default_decodings(
    ae, temperatures=temperatures, top_k=int(top_k), top_p=float(top_p), seed=int(seed), rerank_candidates=int(rerank)
)
try:
    table = compare_decodings(ae, sentences, decodings)
except InvEmbError as e:
    st.error(str(e))
    st.stop()

if table.truncated.any():
    st.warning(f"Some inputs were longer than {ae.config.max_length} word pieces and were truncated.")
side = table.pivot(index="sentence", columns="decoding", values="marked")[list(decodings)]
side.insert(0, "input (as the tokenizer keeps it)", table.drop_duplicates("sentence").set_index("sentence").target)
st.subheader("Side by side")
st.dataframe(side, key="rec_side")

st.subheader("Scores per output")
st.caption(
    "exact: every word piece right · BLEU: sentence BLEU vs the input · cosine: between the input's "
    "vector and the vector of the output re-encoded"
)
columns = ["sentence", "decoding", "output", "exact", "bleu", "cosine"]
st.dataframe(
    table[columns],
    hide_index=True,
    key="rec_scores",
    column_config={"cosine": st.column_config.ProgressColumn("cosine", min_value=-1.0, max_value=1.0, format="%.3f")},
)
st.download_button("Download CSV", table.to_csv(index=False), "reconstructions.csv", "text/csv", key="rec_csv")
