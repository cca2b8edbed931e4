"""InvEmb's app: `streamlit run app.py` (or ./dev app). Navigation and the shared checkpoint picker.

Streamlit runs this file as the script (``__name__ == "__main__"``) for every page a browser opens. Before
that, ``streamlit run`` finds ``app`` below and serves the script through it: its lifespan hook
(``invemb_app/startup.py``) loads the default model while the first browser is still loading the page.
"""

import streamlit as st

from invemb_app.startup import lifespan

app = st.App("app.py", lifespan=lifespan)


def main() -> None:
    # Imported here, not above: the server imports this file once to find ``app``, and torch must load in
    # the warm-up thread, not before the server answers.
    from invemb_app.jobs import note_interaction
    from invemb_app.render import md_escape
    from invemb_app.state import CHECKPOINT_KEY, checkpoint_description, checkpoints, key

    st.set_page_config(page_title="InvEmb: invertible sentence embeddings", page_icon="🔁", layout="wide")

    train = st.Page("invemb_app/pages/train.py", title="Train", icon=":material/model_training:")
    pages = [
        st.Page("invemb_app/pages/lesson.py", title="Lesson", icon=":material/school:", default=True),
        st.Page("invemb_app/pages/reconstruct.py", title="Reconstruct", icon=":material/replay:"),
        st.Page("invemb_app/pages/interpolate.py", title="Interpolate", icon=":material/linear_scale:"),
        st.Page("invemb_app/pages/embedding_map.py", title="Embedding map", icon=":material/scatter_plot:"),
        st.Page("invemb_app/pages/similarity.py", title="Similarity", icon=":material/join_inner:"),
        st.Page("invemb_app/pages/languages.py", title="Languages", icon=":material/translate:"),
        st.Page("invemb_app/pages/compare.py", title="Compare designs", icon=":material/compare:"),
        train,
        st.Page("invemb_app/pages/model_card.py", title="Model", icon=":material/info:"),
    ]
    navigation = st.navigation(pages)
    if navigation is not train:
        note_interaction()  # a Train-page run pauses while anyone uses the other pages

    with st.sidebar:
        found = checkpoints()
        if found:
            paths = [str(p) for p in found]
            st.selectbox(
                "Checkpoint",
                paths,
                format_func=lambda p: ("runs/" if "/runs/" in p else "") + p.rsplit("/", 1)[-1],
                key=CHECKPOINT_KEY,
                help="Every directory under checkpoints/ with a config.json, then finished runs from the Train page",
            )
            chosen = st.session_state.get(CHECKPOINT_KEY) or paths[0]
            description = checkpoint_description(*key(chosen))
            st.caption(md_escape(description) if description else "No description.")
            with st.expander("Every checkpoint"):  # one line each; open on a laptop, closed on a projector
                for path in [p for p in paths if "/runs/" not in p]:
                    text = checkpoint_description(*key(path)) or "no description"
                    st.caption(f"**{md_escape(path.rsplit('/', 1)[-1])}**: {md_escape(text)}")
        else:
            st.warning("No checkpoints under checkpoints/.")
        st.caption("A sentence goes in, one vector comes out, and the decoder turns it back into the sentence.")

    navigation.run()


if __name__ == "__main__":
    main()
