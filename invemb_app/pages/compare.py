"""Compare: the same sentences through several checkpoints side by side, and what survives in each vector
as noise is added to it."""

import html

import pandas as pd
import streamlit as st

import invemb_core as ie
from invemb_app.render import diff_html, html_table, md_escape, scored_outputs_table
from invemb_app.state import checkpoint_facts, checkpoints, example_sentences, key, load_model
from invemb_app.widgets import pick_line, split_lines, warn_about_input
from invemb_core.report import NOISE_SCALES, compare_decodings, noisy_decodings


def fact(value: object) -> str:
    """A checkpoint fact as a table cell: numbers as they are, text escaped."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else html.escape(str(value))


st.title("Compare designs")
st.caption(
    "The same sentences through several checkpoints, greedy decoding. Highlighted words are not in the input; "
    "grey struck-through words are missing."
)

paths = [str(p) for p in checkpoints()]
names = {p: p.rsplit("/", 1)[-1] for p in paths}
chosen = st.multiselect("Checkpoints", paths, default=paths[:6], format_func=names.get, key="cmp_checkpoints")
if not chosen:
    st.info("Pick at least one checkpoint.")
    st.stop()

facts = [checkpoint_facts(*key(p)) for p in chosen]
columns = list(facts[0])
st.html(html_table(columns, [[fact(f[c]) for c in columns] for f in facts], numeric=(1, 2, 3, 8)))
st.caption(
    "Held-out figures are those saved with each checkpoint: n sentences of 5-30 words of its own held-out set "
    "(the 'held-out data' column: Multi30k's validation captions, or the general-English sentences kept out of "
    "training), decoded as the 'decoding' column says (rerank: the two-part checkpoints' own decoding). So two "
    "rows compare only where their held-out data is the same. The outputs below are greedy for every checkpoint. "
    "BENCHMARKS.md has test_2016 figures for all of them and the commands behind them."
)

if "cmp_text" not in st.session_state:
    st.session_state.cmp_text = "\n".join(example_sentences()[3:5])
text = st.text_area("Sentences, one per line (up to 5)", key="cmp_text", height=90)
sentences = split_lines(text, max_sentences=5)
if not sentences:
    st.info("Type a sentence to compare.")
    st.stop()

models: dict[str, ie.Autoencoder] = {}
for path in chosen:
    try:
        models[path] = load_model(*key(path))
    except ie.InvEmbError as e:
        st.error(md_escape(f"{names[path]}: {e}"))
if not models:
    st.stop()
warn_about_input(next(iter(models.values())), sentences)


@st.cache_data(show_spinner=False, max_entries=256)
def greedy_rows(path: str, written: float, sentence: str) -> pd.DataFrame:
    """One sentence through one checkpoint, greedy; kept per input, like every page's results."""
    return compare_decodings(load_model(path, written), [sentence], {"greedy": {"strategy": "greedy"}})


@st.cache_data(show_spinner=False, max_entries=256)
def noise_rows(path: str, written: float, sentence: str) -> list[tuple[float, str]]:
    return noisy_decodings(load_model(path, written), sentence)


results = {}
for path in models:
    try:
        results[path] = pd.concat([greedy_rows(*key(path), s) for s in sentences], ignore_index=True)
    except ie.InvEmbError as e:
        st.error(md_escape(f"{names[path]}: {e}"))
        st.stop()

for i in range(len(sentences)):
    labelled = [(names[path], table.iloc[i]) for path, table in results.items()]
    st.markdown(f"**Sentence {i + 1}**")
    st.html(
        scored_outputs_table(
            next(iter(results.values())).target.iloc[i], labelled, label="checkpoint", label_width="9rem"
        )
    )
outputs = pd.concat(
    [table.assign(checkpoint=names[path], sentence=range(1, len(table) + 1)) for path, table in results.items()]
)[["sentence", "input", "checkpoint", "output", "exact", "bleu", "cosine"]]
st.download_button("Download the outputs (CSV)", outputs.to_csv(index=False), "compare.csv", "text/csv", key="cmp_csv")
st.caption(
    "cosine: between the input's vector and the output's, both by that checkpoint's own encoder. An encoder that "
    "gives almost every sentence the same vector (study-match, trained by the match loss) scores near 1 even for "
    "garbage: read it beside exact and BLEU."
)

st.subheader("What survives in the vector")
st.caption(
    "Gaussian noise of growing size is added to the sentence's vector (its length is a share of the vector's "
    "own length; one fixed direction, seed 0), then decoded with each checkpoint's default decoding (so the 0% "
    "row can differ from the greedy output above). The words that change first are what the vector holds least "
    "firmly. In a two-part vector the small wording code drowns first and the meaning survives: its decoding "
    "notices that the text no longer leads back to the vector and writes from the meaning, so the text turns "
    "into a paraphrase before it turns into nonsense."
)
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
which = pick_line(sentences, "cmp_which", c1)
# Off until asked: six noise sizes through every checkpoint's default decoding take tens of seconds.
if not c2.toggle("Decode with noise", key="cmp_noise", help="Each checkpoint decodes the vector at 6 noise sizes"):
    st.stop()
noisy = {path: noise_rows(*key(path), sentences[which]) for path in models}
target = next(iter(results.values())).target.iloc[which]
rows = []
for k, scale in enumerate(NOISE_SCALES):
    rows.append([f"{scale:.0%}"] + [diff_html(target, noisy[path][k][1]) for path in models])
st.html(html_table(["noise"] + [names[p] for p in models], rows))
