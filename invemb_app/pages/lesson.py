"""Lesson: the app's ideas in order, each live on one sentence the user types: a sentence becomes one vector,
the vector comes back, the meaning alone speaks in other words, temperature, a walk, the map. Each step says
what to notice (from what it measured) and links to the page that goes deeper."""

import streamlit as st

import invemb_core as ie
from invemb_app.languages import offered
from invemb_app.render import decodings_table, md_escape, path_table, vector_strip
from invemb_app.state import (
    current,
    current_model,
    example_sentences,
    in_background,
    load_map,
    meaning_cosine,
    place,
    reconstructions,
    vector_of,
    walk,
)
from invemb_app.widgets import warn_about_input
from invemb_core.report import word_diff

TEMPERATURES = (0.3, 1.0)
SAMPLES = 3  # per temperature, each with its own seed
WALK_POINTS = 5

st.title("Lesson")
st.caption(
    "Six steps through what this app does, each on your sentence: change it and every step follows. Each "
    "step ends with what to notice and a link to the page that goes deeper."
)
ae = current_model()
if "lesson_text" not in st.session_state:
    st.session_state.lesson_text = "A chef is cooking dinner in a busy kitchen."
sentence = st.text_input("Your sentence", key="lesson_text", max_chars=300).strip()
if not sentence:
    st.info("Type a sentence to start.")
    st.stop()
warn_about_input(ae, [sentence])
partners = [s for s in example_sentences() if len(s.split()) <= 10][:5]

two_part = ae.meaning_and_wording
# Samples come from the meaning alone where there is one to keep (with the whole vector the decoder is nearly
# sure of every word and samples repeat the sentence), else from the whole vector.
samples = {
    f"T={t:g} #{i + 1}": {"strategy": "sample", "temperature": t, "seed": 1000 * j + i}
    for j, t in enumerate(TEMPERATURES)
    for i in range(SAMPLES)
}
try:  # everything computed before anything is drawn (DEVELOPERS.md, "Running the app")
    partner = st.session_state.get("lesson_b") or partners[0]
    path = in_background(walk, *current(), sentence, partner, WALK_POINTS, "slerp", "default")
    vector = vector_of(*current(), sentence)
    whole = reconstructions([sentence], {"decoded": {}} | ({} if two_part else samples), None)
    alone = reconstructions([sentence], {"meaning alone": {}} | samples, 0.0) if two_part else None
    kept = meaning_cosine(*current(), sentence, alone.output[0]) if two_part else None
    projection = load_map(*current())
    placed = place(*current(), None, (sentence,)) if projection is not None else None
    alphas, texts, _ = path.result()
except ie.InvEmbError as e:
    st.error(md_escape(str(e)))
    st.stop()
back = whole.iloc[:1]
drawn = (alone if two_part else whole).loc[lambda t: t.decoding.isin(samples)]


def notice(text: str) -> None:
    st.markdown(f"**What to notice:** {text}")


st.subheader("1. A sentence becomes one vector")
st.html(vector_strip(vector, meaning_size=ae.meaning_size))
st.text("Its first numbers: " + "  ".join(f"{v:+.3f}" for v in vector[:10]) + "  ...")
notice(
    f"whatever its length, your sentence is now {len(vector)} numbers"
    + (
        f": {ae.meaning_size} of meaning (MiniLM's sentence embedding) and a wording code of {ae.wording_size}."
        if two_part
        else "."
    )
)
st.page_link("invemb_app/pages/model_card.py", label="How the encoder makes it: the Model page", icon="➡️")

st.subheader("2. The vector comes back")
st.html(decodings_table(back, diff=True, writers=False))
notice(
    "every word piece came back from the numbers alone (capitals are lost before encoding: the tokenizer lower-cases)."
    if back.exact.iloc[0]
    else f"this one did not come back exactly (BLEU {back.bleu.iloc[0]:.0f} of 100): highlighted words are the "
    "decoder's, struck-through words were lost."
)
st.page_link("invemb_app/pages/reconstruct.py", label="Every decoding side by side: Reconstruct", icon="➡️")

st.subheader("3. Drop the wording: the meaning alone speaks")
if two_part:
    st.html(decodings_table(alone.iloc[:1], diff=True, writers=alone.writer.iloc[0] != "decoder"))
    changed = sum(op == "new" for op, _ in word_diff(alone.target[0], alone.output[0]))
    notice(
        f"the decoder read only the {ae.meaning_size} numbers of meaning (the wording code set to zero) and wrote "
        + (
            "your sentence again word for word: this meaning leaves it little choice. Try a longer sentence."
            if changed == 0
            else f"{changed} word{'s' if changed > 1 else ''} of its own"
        )
        + f"; the meanings of the two texts have a cosine of {kept:.2f} (1 = the same direction)."
    )
elif ae.meaning_size:
    st.info("This checkpoint's vector is the meaning alone (no wording code): step 2 already decoded the meaning.")
else:
    st.info(
        "This checkpoint's vector is one learned code with no separate meaning part, so there is no wording to "
        "drop. Pick a two-part checkpoint in the sidebar (the Model page says which kind each is)."
    )
st.page_link("invemb_app/pages/reconstruct.py", label="Slide from all the wording to none: Reconstruct", icon="➡️")
if len(offered(ae)) > 1:
    st.page_link(
        "invemb_app/pages/languages.py",
        label="The same meaning, read and written in German or French: Languages",
        icon="➡️",
    )

st.subheader("4. Temperature")
st.html(decodings_table(drawn, diff=False, writers=bool((drawn.writer != "decoder").any())))
distinct = [drawn[drawn.decoding.str.startswith(f"T={t:g} ")].output.nunique() for t in TEMPERATURES]
notice(
    f"{SAMPLES} samples {'from the meaning alone' if two_part else 'from the vector'} at each temperature gave "
    + " and ".join(f"{n} different text{'s' if n > 1 else ''} at T = {t:g}" for n, t in zip(distinct, TEMPERATURES))
    + ". Sampling divides the decoder's scores by T before they become probabilities: the higher T, the more "
    "chances the less likely words get. Rows that gave the same text share a row."
)
st.page_link("invemb_app/pages/reconstruct.py", label="What temperature does, word by word: Reconstruct", icon="➡️")

st.subheader("5. A walk to another sentence")
st.selectbox("Walk to", partners, key="lesson_b")
st.html(path_table(alphas, texts))
steps = [sum(op != "same" for op, _ in word_diff(a, b)) for a, b in zip(texts, texts[1:])]
notice(
    f"{WALK_POINTS} evenly spaced points on the way from your sentence's vector to the other's, each decoded: "
    f"{len(set(texts))} different texts, each step changing {min(steps)} to {max(steps)} words (highlighted: "
    "new at that step)."
)
st.page_link("invemb_app/pages/interpolate.py", label="More steps, and lerp or slerp: Interpolate", icon="➡️")

st.subheader("6. The map")
if placed is not None:
    st.text(f"Nearest on the map: {placed.nearest[0]}")
    notice(
        f"the map draws {len(projection.table):,} sentences in two dimensions, near each other where their "
        f"vectors are; yours lands by the sentence above (similarity {placed.similarity[0]:.2f})."
    )
else:
    st.caption("This checkpoint ships no map (make one with `invemb project`).")
st.page_link("invemb_app/pages/embedding_map.py", label="See it among the others: Embedding map", icon="➡️")
