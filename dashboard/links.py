"""Links between pages: an empty page points to the page that fills it."""
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

VIEWS = Path(__file__).resolve().parent / "views"


def page(file: str, label: str, icon: str | None = None) -> None:
    """A link to another page of the app (views/<file>). A page opened on its
    own, outside the app's navigation, has no pages to link to: it names the
    page instead."""
    try:
        st.page_link(str(VIEWS / file), label=label, icon=icon)
    except (StreamlitAPIException, KeyError):
        st.markdown(f"→ **{label}** (in the sidebar)")


def new_run(label: str = "Start a run on the New run page") -> None:
    page("new_run.py", label, "▶️")


def unless_empty(frame, message: str):
    """`frame` (a DataFrame); when it is empty, `message`, a link to the New
    run page and a stop instead."""
    if frame.empty:
        st.info(message)
        new_run()
        st.stop()
    return frame
