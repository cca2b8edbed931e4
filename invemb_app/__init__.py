"""InvEmb's Streamlit app (``streamlit run app.py``): thin pages over ``invemb_core``'s public API.

- ``state``: the chosen checkpoint and every cache derived from it, keyed on ``(path, stamp)``;
- ``widgets``: input widgets the pages share (a box of lines, a line picker, input warnings);
- ``render``: showing text safely (escaped HTML diffs and tables, never user text as Markdown);
- ``charts``: the geometry of a map's box selection;
- ``jobs`` and ``supervise``: Train-page runs in the background, stopped while anyone uses the app;
- ``pages/``: one file per page, run through ``app.py``'s ``st.navigation``.

``invemb_core`` never imports this package (``tests/test_config.py``).
"""
