"""Presenter mode, shared by the pages that have it: a title with a toggle
button; `?present=1` in the URL turns it on, so a projector can open it directly."""
import streamlit as st

from dashboard import export


def _set(on: bool) -> None:
    if on:
        st.query_params["present"] = "1"
    else:
        st.query_params.pop("present", None)


def header(title: str, what_stays: str) -> bool:
    """The page title and the presenter-mode button; returns whether it is on."""
    presenter = st.query_params.get("present") == "1"
    head = st.columns([3, 1], vertical_alignment="bottom")
    head[0].title(title)
    head[1].button("Exit presenter mode" if presenter else "Presenter mode", icon=":material/slideshow:",
                   on_click=_set, args=(not presenter,), width="stretch",
                   help=f"Full width, big type, {what_stays}: for a projector.")
    if presenter:
        st.markdown(export.PRESENTER_CSS, unsafe_allow_html=True)
    return presenter
