"""Interpolate: walk from sentence A to sentence B in vector space and read every step; A - B + C."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import invemb_core as ie
from app_support import current_checkpoint, current_model, load_map
from invemb_core.interpolate import path

st.title("Interpolate")
st.caption("Decode evenly spaced points on the way from A's vector to B's. Marked steps are where the text changes.")
ae = current_model()
projection = load_map(current_checkpoint())

picks = list(projection.table.sentence[:300]) if projection is not None else []
if picks:
    with st.expander("Pick A and B from the map's corpus"):
        c1, c2 = st.columns(2)
        pick_a = c1.selectbox("A", [""] + picks, key="interp_pick_a")
        pick_b = c2.selectbox("B", [""] + picks, key="interp_pick_b")
        c1.button(
            "Use as A",
            key="interp_use_a",
            disabled=not pick_a,
            on_click=lambda: st.session_state.update(interp_a=st.session_state.interp_pick_a),
        )
        c2.button(
            "Use as B",
            key="interp_use_b",
            disabled=not pick_b,
            on_click=lambda: st.session_state.update(interp_b=st.session_state.interp_pick_b),
        )

c1, c2 = st.columns(2)
a = c1.text_input("Sentence A", "A dog runs through the snow.", key="interp_a", max_chars=2000)
b = c2.text_input("Sentence B", "Two women are drinking coffee in a cafe.", key="interp_b", max_chars=2000)
c3, c4, c5 = st.columns(3)
steps = c3.slider("Steps", 2, 21, 10, key="interp_steps")
method = c4.radio(
    "Path",
    ["slerp", "lerp"],
    horizontal=True,
    key="interp_method",
    help="slerp follows the sphere between the two vectors; lerp the straight line",
)
strategy = c5.selectbox(
    "Decoding", ["greedy", "rerank"] + (["beam"] if ae.supports_beam else []), key="interp_strategy"
)

try:
    za, zb = ae.encode([a, b])
    alphas, Z = path(za, zb, steps=steps, method=method)
    texts = ae.decode(Z, strategy=strategy)
except ie.InvEmbError as e:
    st.error(str(e))
    st.stop()

changed = [i == 0 or texts[i] != texts[i - 1] for i in range(len(texts))]
table = pd.DataFrame(
    {"alpha": [round(float(x), 3) for x in alphas], "changed": ["●" if c else "" for c in changed], "decoded": texts}
)
st.dataframe(table, hide_index=True, key="interp_table")
st.caption(f"{sum(changed)} distinct sentences along {steps} steps.")

if projection is not None:
    xy = projection.place(Z)
    fig = go.Figure()
    fig.add_scattergl(
        x=projection.table.x,
        y=projection.table.y,
        mode="markers",
        name="corpus",
        marker=dict(size=4, color="lightgrey"),
        hovertext=projection.table.sentence,
        hoverinfo="text",
    )
    fig.add_scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="lines+markers",
        name="path",
        hovertext=texts,
        hoverinfo="text",
        marker=dict(size=9, color=list(range(len(texts))), colorscale="Viridis"),
    )
    fig.update_layout(height=420, margin=dict(l=0, r=0, t=10, b=0))
    st.plotly_chart(fig, key="interp_map")

st.subheader("Vector arithmetic: A − B + C")
c1, c2, c3 = st.columns(3)
xa = c1.text_input("A", "A man is riding a horse.", key="arith_a", max_chars=2000)
xb = c2.text_input("B", "A man", key="arith_b", max_chars=2000)
xc = c3.text_input("C", "A woman", key="arith_c", max_chars=2000)
try:
    st.text(ie.arithmetic(ae, xa, xb, xc))
except ie.InvEmbError as e:
    st.error(str(e))
