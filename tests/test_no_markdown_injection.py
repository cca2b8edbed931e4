"""No user text reaches an element that renders Markdown or HTML unescaped, on any page, from any text box.

A marked hostile string (Markdown emphasis, an external image, raw HTML) is typed into every text box of
every page; afterwards no Markdown-rendering element (markdown, caption, headers, alerts) may contain the
marker, and no HTML block may contain the raw tags or an image.
"""

import pytest
from streamlit.testing.v1 import AppTest

MARK = "ZQXMARK"
HOSTILE = f"**{MARK}** ![x](http://example.com/x.png) <b>{MARK}</b> <img src=http://example.com/y.png> :red[{MARK}]"
MARKDOWN_TYPES = {"markdown", "caption", "title", "header", "subheader", "warning", "info", "error", "success"}

BOXES = [
    ("invemb_app/pages/reconstruct.py", "text_area", "rec_text"),
    ("invemb_app/pages/interpolate.py", "text_input", "interp_a"),
    ("invemb_app/pages/interpolate.py", "text_input", "interp_b"),
    ("invemb_app/pages/interpolate.py", "text_input", "arith_a"),
    ("invemb_app/pages/interpolate.py", "text_input", "arith_b"),
    ("invemb_app/pages/interpolate.py", "text_input", "arith_c"),
    ("invemb_app/pages/embedding_map.py", "text_input", "map_search"),
    ("invemb_app/pages/embedding_map.py", "text_area", "map_own"),
]


@pytest.fixture(scope="module", autouse=True)
def _checkpoints(app_checkpoints):
    return app_checkpoints


def rendered_elements(at: AppTest):
    for element in list(at.main) + list(at.sidebar):
        yield getattr(element, "type", ""), element


@pytest.mark.parametrize("page, kind, key", BOXES)
def test_user_text_never_renders_as_markdown_or_html(page, kind, key):
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(page).run()
    getattr(at, kind)(key=key).set_value(HOSTILE).run()
    assert not at.exception, [e.value for e in at.exception]
    checked = 0
    for kind_name, element in rendered_elements(at):
        if kind_name in MARKDOWN_TYPES:
            checked += 1
            assert MARK not in str(element.value), (kind_name, element.value)
        elif kind_name == "html":
            body = element.proto.body
            checked += 1
            assert f"<b>{MARK}" not in body and "<img" not in body, body
    assert checked > 0  # the page did render text elements
