"""Reconstruct: sentences in, their reconstructions under several decodings, one block per sentence; and
what temperature does to the decoder's choices."""

import pandas as pd
import streamlit as st

from invemb_app.jobs import note_interaction
from invemb_app.languages import ENGLISH, language_choice, offered, versions, written_in
from invemb_app.render import alternatives_table, decodings_table, md_escape, samples_table, text_table
from invemb_app.state import (
    current,
    current_model,
    everyday_sentences,
    example_sentences,
    in_background,
    reconstructions,
    temperature_view_of,
)
from invemb_app.widgets import (
    idle_knobs,
    line_index,
    meaning_decoder_note,
    pick_line,
    sampling_controls,
    say_idle,
    split_lines,
    warn_about_input,
)
from invemb_core import DecodeConfig, InvEmbError
from invemb_core.alternatives import TemperatureView
from invemb_core.language import LANGUAGES
from invemb_core.meaning_lm import DRAFT
from invemb_core.report import default_decodings

st.title("Reconstruct")
st.caption(
    "Each sentence is encoded into one vector and decoded back under several decodings. Decodings that give "
    "the same text share one row, labelled with all of their names."
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
    """A seed past every one the page drew with: the temperature section's samples use seeds seed .. seed +
    samples - 1, so a step of one would show five of its six samples again."""
    st.session_state.rec_seed += int(st.session_state.get("rec_samples", 6))


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
    if ae.meaning_and_wording:
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
    knobs, idle_slots = sampling_controls(on_resample=resample)

sentences = split_lines(text)
if not sentences:
    st.info("Type a sentence to reconstruct.")
    st.stop()

warn_about_input(ae, sentences)
decodings = default_decodings(ae, **knobs)
seed = knobs["seed"]  # the temperature section draws with it too


# The temperature section's widgets and their defaults; the section reads them, and a full run computes
# its view before drawing anything (below).
TEMPERATURE = {"rec_temperature": 1.0, "rec_temp_keep": 0.0, "rec_samples": 6}


def chosen_view(sentences: list[str], seed: int) -> TemperatureView:
    """The temperature section's view as its widgets stand (their last values, else their defaults)."""
    state = {key: st.session_state.get(key, default) for key, default in TEMPERATURE.items()}
    which = line_index(sentences, st.session_state.get("rec_which"))
    keep = state["rec_temp_keep"] if ae.meaning_and_wording and state["rec_temp_keep"] != 1.0 else None
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


# From a shortened wording code the default decoding corrects itself, which takes seconds for a few
# sentences: the other rows are drawn first and the default's when it is ready (BENCHMARKS.md, issue 23).
# From the meaning alone with a meaning decoder, its greedy text (greedy, beam and default share it) is drawn
# first and its samples (T and rerank rows, a generation each) after.
if keep == 0.0 and ae.get_meaning_decoder() is not None:
    later = {name: d for name, d in decodings.items() if d.get("strategy") in ("sample", "rerank")}
elif keep is not None and "default" in decodings:
    later = {"default": decodings["default"]}
else:
    later = {}
first = {name: d for name, d in decodings.items() if name not in later}
try:
    # The temperature section's view is decoded beside the tables (two decodings of a few rows share the two
    # cores better than they take turns), and both before anything is drawn: the browser drawing tables while
    # the server decodes would take a core from torch (BENCHMARKS.md, "Felt speed"). The section finds it cached.
    view = in_background(chosen_view, sentences, int(seed))
    table = reconstructions(sentences, first, keep)
    view.result()
except InvEmbError as e:
    st.error(md_escape(str(e)))
    st.stop()


if note := meaning_decoder_note(ae, keep):
    st.info(md_escape(note))
diff = left.toggle(  # under the text box, beside the knobs: one switch away from every table
    "Show word differences",
    key="rec_diff",
    help="Highlighted words are not in the input; grey struck-through words are in the input but not in the output.",
)


def draw(table, slots: list, pending: list[str]) -> None:
    """One table per sentence into its slot: a row per distinct output, then a row per name still decoding."""
    writers = bool((table.writer != "decoder").any())  # labelled only where some row is not the decoder's
    for slot, (_, block) in zip(slots, table.groupby("sentence", sort=True)):
        slot.html(decodings_table(block, diff=diff, writers=writers, pending=pending))


slots = []
for number in range(1, len(sentences) + 1):
    st.markdown(f"**Sentence {number}**")
    slots.append(st.empty())
draw(table, slots, pending=list(later))
if later:
    try:
        table = pd.concat([table, reconstructions(sentences, later, keep)]).sort_values("sentence", kind="stable")
    except InvEmbError as e:
        st.error(md_escape(str(e)))
        st.stop()
    draw(table, slots, pending=[])
say_idle(idle_slots, idle_knobs(ae, table, decodings, keep=keep))
st.caption(
    (
        "default: this checkpoint's standard decoding, with its own fixed settings (not the knobs above); from "
        "the meaning alone it also corrects itself once (the Model page says how) · "
        if "default" in decodings
        else ""
    )
    + "exact: every word piece right · BLEU: sentence BLEU against the input (as the tokenizer keeps it: lower "
    "case) · cosine: between the input's vector and the vector of the output re-encoded"
    + (
        " · meaning decoder: a pretrained language model tuned to rewrite the checkpoint's decoder's text (its "
        "draft) from the meaning alone; it writes the rows that keep no wording code, the checkpoint's decoder "
        "the others"
        if (table.writer != "decoder").any()
        else ""
    )
    + (
        " · decoder (kept): the meaning decoder's text for that row landed further from the meaning than the "
        "checkpoint's own decoder's (MiniLM cosine, past a small margin), so the row keeps that decoder's text: "
        "its default decoding for greedy, beam and default, its own sample or rerank for the others"
        if (table.writer == DRAFT).any()
        else ""
    )
)
csv = table.assign(wording_kept=1.0 if keep is None else keep).to_csv(index=False)
st.download_button("Download CSV", csv, "reconstructions.csv", "text/csv", key="rec_csv")

if keep == 0.0 and len(offered(ae)) > 1:  # the meaning alone: any language's decoder can write it
    code = language_choice(ae, "The meaning alone, written in", "rec_language")
    if code != ENGLISH:
        try:
            written, _ = written_in(*current(), versions(), tuple(sentences), ENGLISH, code)
        except InvEmbError as e:
            st.error(md_escape(str(e)))
            st.stop()
        st.html(text_table(pd.DataFrame({"you typed": sentences, LANGUAGES[code]: written})))
        st.caption(f"Written from the 384 meaning numbers by the {LANGUAGES[code]} decoder (the Languages page).")


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
        "continues the word before it. The samples follow the min-p and whole-words options above (not top-k "
        "or top-p)."
        + (
            " This section has its own Wording kept slider and starts from the meaning alone (0), where the "
            "decoder hesitates: its greedy row is then a paraphrase even while the table above, with all the "
            "wording, gives the sentence back."
            if ae.meaning_and_wording
            else ""
        )
    )
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
    pick_line(sentences, "rec_which", c1)
    c2.slider("Temperature", 0.1, 2.0, TEMPERATURE["rec_temperature"], 0.1, key="rec_temperature")
    if ae.meaning_and_wording:
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
        st.error(md_escape(str(e)))
        return
    st.html(alternatives_table(view))
    outputs = "output" if view.distinct == 1 else "outputs"
    temperature = st.session_state.rec_temperature
    st.markdown(f"**{view.distinct} distinct {outputs} in {len(view.samples)} samples at T = {temperature:g}**")
    st.html(samples_table(view))


temperature_section(sentences, int(seed))
