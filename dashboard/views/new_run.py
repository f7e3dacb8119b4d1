"""New run, for a learner: pick the workload, then only its options, the
basics first and the rest under "advanced"; typed widgets bounded as the
config allows, each with the help text the CLI's --help prints (one table,
core.options). Starting the run trains it in the background and opens the
monitor."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from core import options as O  # noqa: E402
from core import presets  # noqa: E402
from core import words  # noqa: E402
from core.config import _to_str  # noqa: E402
from dashboard import services, state  # noqa: E402

WORKLOADS = services.workload_labels()
SECTIONS = {"data": "Data", "model": "Model", "train": "Training"}

st.title("New run")
home = services.require_home()

workload = st.radio("Workload", list(WORKLOADS), format_func=WORKLOADS.get, horizontal=True,
                    help=O.option("data.workload").help)
choices = services.run_presets(workload, str(home))
preset = st.selectbox("Start from", list(choices), format_func=lambda k: choices[k]["label"],
                      help="fills the form below; change anything before starting")
values = {**services.option_defaults(), **{k: _to_str(v) for k, v in choices[preset]["overrides"].items()},
          "data.workload": workload}
types = services.option_types()
MODEL_WORDS = {m: f"{words.model_words(m)} ({m})" for m in O.choices_for("model.name", workload) or ()}


def widget(opt: O.Option, value: str) -> str:
    """One typed widget for an option, its help from core.options; returns the
    value as the config's text."""
    key = f"{state.FORM_PREFIX}{workload}:{preset}:{opt.key}"
    typ = types.get(opt.key, "str")
    options = O.choices_for(opt.key, workload)
    if options:
        options = list(options)
        words = MODEL_WORDS if opt.key == "model.name" else {}
        return st.selectbox(opt.label, options, index=options.index(value) if value in options else 0, key=key,
                            help=opt.idea, format_func=lambda v: words.get(v, v))
    if typ == "bool":
        return _to_str(st.checkbox(opt.label, value=value == "true", key=key, help=opt.idea))
    if typ == "int" and opt.low is not None:
        low, high = int(opt.low), int(opt.high)
        number = st.number_input(opt.label, min_value=low, max_value=high, value=min(max(int(value), low), high),
                                 step=1, key=key, help=opt.idea)
        return str(int(number))
    if typ == "float" and opt.low is not None:
        low, high = float(opt.low), float(opt.high)
        number = st.number_input(opt.label, min_value=low, max_value=high, value=min(max(float(value), low), high),
                                 step=opt.step or 0.1, format="%g", key=key, help=opt.idea)
        return _to_str(float(number))
    return st.text_input(opt.label, value=value, key=key, help=opt.idea)


def fields(opts: list[O.Option], params: dict) -> None:
    cols = st.columns(3)
    for i, opt in enumerate(opts):
        with cols[i % 3]:
            params[opt.key] = widget(opt, values[opt.key])


params = dict(values)  # the other workload's options keep their defaults
shown = O.for_workload(workload)
st.subheader("Basics")
fields([o for o in shown if o.basic], params)
with st.expander("Advanced options"):
    for section, title in SECTIONS.items():
        part = [o for o in shown if not o.basic and o.key.startswith(section + ".")]
        if part:
            st.markdown(f"**{title}**")
            fields(part, params)

cols = st.columns([3, 1])
name = cols[0].text_input("Run name (optional)", help="shown wherever runs are listed or picked; default: the "
                                                      "model in words")
slots = cols[1].number_input("Runs training at once", min_value=1, max_value=8, value=1,
                             help="queued runs wait for a free slot and start one after another")

estimate = services.estimate_seconds(str(home), params)
if estimate is not None:
    st.caption(f"Estimated time: about {estimate / 60:.1f} min, from finished runs of the same model on this machine.")
else:
    st.caption("No estimate yet: no finished run of this model here. A 10% sample with 5 epochs takes a minute or "
               "two on a laptop.")

if st.button("Start run", type="primary"):
    try:
        with st.spinner("Starting the run in the background…"):  # feedback at once: the start takes seconds
            run_id = services.launch(str(home), params, name, int(slots))
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.session_state[state.LAST_LAUNCHED] = str(run_id)
        if getattr(run_id, "repeat", False):  # a second click or another tab: the first run, not a new one
            st.info(f"{run_id.note} Run {run_id}.")
            st.page_link(str(ROOT / "dashboard" / "views" / "monitor.py"), label="Watch it on the Monitor page")
        else:
            st.success(f"Started run {run_id}. It keeps running if you close this tab.")
            st.switch_page(str(ROOT / "dashboard" / "views" / "monitor.py"))
