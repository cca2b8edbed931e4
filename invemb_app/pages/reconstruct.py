"""Reconstruct: sentences in, their reconstructions under several decodings, one block per sentence; and
what temperature does to the decoder's choices."""

import html

import pandas as pd
import streamlit as st

from invemb_app.jobs import note_interaction
from invemb_app.render import diff_html, html_table, scored_outputs_table
from invemb_app.state import current, current_model, everyday_sentences, example_sentences, load_model
from invemb_app.widgets import line_index, pick_line, split_lines, warn_about_input
from invemb_core import DecodeConfig, InvEmbError
from invemb_core.alternatives import TemperatureView, temperature_view
from invemb_core.report import compare_decodings, default_decodings

st.title("Reconstruct")
st.caption(
    "Each sentence is encoded into one vector and decoded back. "
    "Highlighted words are not in the input; grey struck-through words are missing from the output."
)
ae = current_model()

if "rec_text" not in st.session_state:
    st.session_state.rec_text = "\n".join(example_sentences()[:2] + everyday_sentences()[2:3])
if "rec_seed" not in st.session_state:
    st.session_state.rec_seed = 0


def pick_examples(pool: list[str], counter: str) -> None:
    """The next three sentences of ``pool`` into the text box (``counter``: where this pool's picks are)."""
    st.session_state[counter] = (st.session_state.get(counter, 0) + 3) % (len(pool) - 3)
    st.session_state.rec_text = "\n".join(pool[st.session_state[counter] : st.session_state[counter] + 3])


def resample() -> None:
    st.session_state.rec_seed += 1


left, right = st.columns([3, 2])
with left:
    b1, b2 = st.columns(2)
    b1.button(
        "Pick 3 Multi30k test captions",
        key="rec_examples",
        on_click=pick_examples,
        args=(example_sentences(), "rec_picks"),
    )
    b2.button(
        "Pick 3 everyday sentences",
        key="rec_everyday",
        on_click=pick_examples,
        args=(everyday_sentences(), "rec_everyday_picks"),
        help="Sentences a user would type (news, questions, requests, idioms), none of them trained on",
    )
    text = st.text_area("Sentences, one per line (up to 20)", key="rec_text", height=130)
    keep = None
    if ae.meaning_size:
        keep = st.slider(
            "Wording kept",
            0.0,
            1.0,
            1.0,
            0.05,
            key="rec_keep",
            help=(
                f"This vector is {ae.meaning_size} numbers of meaning (MiniLM's sentence embedding) plus "
                f"{ae.wording_size} of wording. 1 keeps all the wording: the sentence comes back exactly. "
                "0 keeps the meaning only: the decoder writes a sentence that means the same, and sampling "
                "gives paraphrases. The code is ordered, most important numbers first: half of it (0.5) still "
                "brings back 94% of test captions exactly, an eighth (0.125) 40% "
                "(the default checkpoint, greedy decoding; BENCHMARKS.md)."
            ),
        )
        keep = None if keep == 1.0 else keep
with right:
    temperatures = st.multiselect(
        "Sampling temperatures", [0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0], default=[0.3, 0.7, 1.0, 1.5], key="rec_temps"
    )
    c1, c2 = st.columns(2)
    top_k = c1.number_input("top-k (0 = off)", 0, 1000, 0, key="rec_topk")
    top_p = c2.slider("top-p", 0.05, 1.0, 1.0, 0.05, key="rec_topp")
    c6, c7 = st.columns(2)
    min_p = c6.slider(
        "min-p",
        0.0,
        0.5,
        DecodeConfig.min_p,
        0.05,
        key="rec_minp",
        help="Drop pieces less likely than this share of the most likely one's probability. 0 = off",
    )
    whole_words = c7.toggle(
        "Whole words",
        value=DecodeConfig.whole_words,
        key="rec_whole",
        help="Samples only spell words the model read in training, never glued fragments like 'birdicle'",
    )
    c3, c4, c5 = st.columns(3)
    seed = c3.number_input(
        "Seed", 0, 10**6, key="rec_seed", help="Each temperature draws with its own seed from this one"
    )
    rerank = c4.number_input(
        "Rerank n",
        0,
        32,
        8,
        key="rec_rerank",
        help="n candidates: greedy plus samples at T=0.5, each re-encoded; the one whose vector is closest wins. 0 = off",
    )
    c5.button("Resample", key="rec_resample", help="New seed, same sentences", on_click=resample)

sentences = split_lines(text)
if not sentences:
    st.info("Type a sentence to reconstruct.")
    st.stop()

warn_about_input(ae, sentences)
decodings = default_decodings(
    ae,
    temperatures=temperatures,
    top_k=int(top_k),
    top_p=float(top_p),
    min_p=float(min_p),
    whole_words=bool(whole_words),
    seed=int(seed),
    rerank_candidates=int(rerank),
)


@st.cache_data(show_spinner="Decoding...", max_entries=512)
def reconstruction(checkpoint: str, written: float, sentence: str, decodings: dict, keep: float | None) -> pd.DataFrame:
    """One sentence's rows, decoded on its own: its samples depend on it and the seed only, not on the other
    lines, so editing one line decodes that line alone and leaves the others' outputs as they were."""
    return compare_decodings(load_model(checkpoint, written), [sentence], decodings, keep=keep)


def reconstructions(sentences: list[str], decodings: dict, keep: float | None) -> pd.DataFrame:
    path, written = current()
    blocks = [
        reconstruction(path, written, sentence, decodings, keep).assign(sentence=number)
        for number, sentence in enumerate(sentences, 1)
    ]
    return pd.concat(blocks, ignore_index=True)


@st.cache_data(show_spinner=False, max_entries=256)
def temperature_view_of(
    checkpoint: str,
    written: float,
    sentence: str,
    keep: float | None,
    temperature: float,
    samples: int,
    seed: int,
    rules: tuple[float, bool],
) -> TemperatureView:
    min_p, whole_words = rules
    return temperature_view(
        load_model(checkpoint, written),
        sentence,
        temperature=temperature,
        samples=samples,
        seed=seed,
        keep=keep,
        min_p=min_p,
        whole_words=whole_words,
    )


# The temperature section's widgets and their defaults; the section reads them, and a full run computes
# its view before drawing anything (below).
TEMPERATURE = {"rec_temperature": 1.0, "rec_temp_keep": 0.0, "rec_samples": 6}


def chosen_view(sentences: list[str], seed: int) -> TemperatureView:
    """The temperature section's view as its widgets stand (their last values, else their defaults)."""
    state = {key: st.session_state.get(key, default) for key, default in TEMPERATURE.items()}
    which = line_index(sentences, st.session_state.get("rec_which"))
    keep = state["rec_temp_keep"] if ae.meaning_size and state["rec_temp_keep"] != 1.0 else None
    return temperature_view_of(
        *current(),
        sentences[which],
        keep,
        float(state["rec_temperature"]),
        int(state["rec_samples"]),
        seed,
        (
            st.session_state.get("rec_minp", DecodeConfig.min_p),
            st.session_state.get("rec_whole", DecodeConfig.whole_words),
        ),
    )


try:
    table = reconstructions(sentences, decodings, keep)
    # Decoded before anything is drawn: the browser drawing these tables while the server decodes the section
    # below would take a core from torch (BENCHMARKS.md, "Felt speed"). The section then finds it cached.
    chosen_view(sentences, int(seed))
except InvEmbError as e:
    st.error(str(e))
    st.stop()

for number, block in table.groupby("sentence", sort=True):
    labelled = [(f'<span class="ie-label">{r.decoding}</span>', r) for r in block.itertuples()]
    st.markdown(f"**Sentence {number}**")
    st.html(scored_outputs_table(block.target.iloc[0], labelled, label="decoding", label_width="8rem"))
st.caption(
    "exact: every word piece right · BLEU: sentence BLEU against the input (as the tokenizer keeps it: lower "
    "case) · cosine: between the input's vector and the vector of the output re-encoded"
)
st.download_button("Download CSV", table.to_csv(index=False), "reconstructions.csv", "text/csv", key="rec_csv")


@st.fragment
def temperature_section(sentences: list[str], seed: int) -> None:
    """Reruns on its own when its widgets change: the reconstructions above are not decoded again."""
    note_interaction()  # a fragment's rerun skips app.py, which says so for full reruns
    st.subheader("What temperature does")
    st.caption(
        "At every position the decoder gives a probability to each of its 30,522 word pieces. Sampling divides "
        "the scores by the temperature T before turning them into probabilities: T < 1 sharpens them toward the "
        "most likely piece, T > 1 spreads them over the alternatives. Below: the top pieces at each position of "
        "the greedy output, at the chosen T, and samples drawn with independent seeds. A piece written ##s "
        "continues the word before it. The samples follow the min-p and whole-words options above."
    )
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
    pick_line(sentences, "rec_which", c1)
    c2.slider("Temperature", 0.1, 2.0, TEMPERATURE["rec_temperature"], 0.1, key="rec_temperature")
    if ae.meaning_size:
        c3.slider(
            "Wording kept (this section)",
            0.0,
            1.0,
            TEMPERATURE["rec_temp_keep"],
            0.05,
            key="rec_temp_keep",
            help="With all of the wording the decoder is almost certain of every word (p close to 1), so "
            "sampling copies the sentence. With the meaning only (0) it hesitates between paraphrases.",
        )
    c4.number_input("Samples", 2, 12, TEMPERATURE["rec_samples"], key="rec_samples")
    try:
        view = chosen_view(sentences, seed)
    except InvEmbError as e:
        st.error(str(e))
        return
    temperature = st.session_state.rec_temperature
    # An HTML table, like the others on the page: drawn at once (a data grid fills in its cells later).
    rows = [
        [
            str(p.index + 1),
            html.escape(p.chosen),
            f"{p.chosen_probability:.3f}",
            "  ·  ".join(
                f"<b>{html.escape(t)}</b> {q:.2f}" if t == p.chosen else f"{html.escape(t)} {q:.2f}"
                for t, q in p.alternatives
            ),
        ]
        for p in view.positions
    ]
    st.html(html_table(["position", "greedy", "p(greedy)", "top alternatives at this T"], rows, numeric=(0, 2)))
    outputs = "output" if view.distinct == 1 else "outputs"
    st.markdown(f"**{view.distinct} distinct {outputs} in {len(view.samples)} samples at T = {temperature:g}**")
    rows = [
        [f'<span class="ie-label">seed {s}</span>', diff_html(view.target, text)] for s, text in view.samples.items()
    ]
    st.html(html_table(["seed", "sample"], rows))


temperature_section(sentences, int(seed))
