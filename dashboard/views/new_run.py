"""New run: every RunConfig option in a form, presets, an estimate of the
time; submitting starts the run in the background and opens the monitor."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from core import presets  # noqa: E402
from core.config import _to_str  # noqa: E402
from dashboard import services, state  # noqa: E402

PRESETS = {**{f"{name}: {presets.DESCRIPTIONS[name]}": {k: _to_str(v) for k, v in values.items()}
               for name, values in presets.PRESETS.items()}, "defaults": {}}
GROUPS = {
    "Data": ["data.workload", "data.sample", "data.val_fraction", "data.split_seed", "data.normalize", "data.noise_std",
             "data.scale_range", "data.max_shift", "data.reliable_only"],
    "Model": ["model.name", "model.bidirectional", "model.hidden_size", "model.num_layers", "model.dropout",
              "model.trim_steps", "model.head_hidden", "model.head_activation", "model.head_dropout",
              "model.embedding_dim", "model.word_vectors", "model.freeze_embeddings", "model.readout",
              "model.packed_impl", "model.frame"],
    "Training": ["train.epochs", "train.batch_size", "train.optimizer", "train.lr", "train.weight_decay",
                 "train.schedule", "train.warmup_epochs", "train.grad_clip", "train.label_smoothing", "train.class_weighted_loss",
                 "train.sampler", "train.bucket", "train.early_stopping", "train.monitor", "train.restore_best",
                 "train.seed", "train.device", "train.precision"],
}

st.title("New run")
home = services.require_home()

preset = st.selectbox("Preset", list(PRESETS), help="fills the form; change anything before starting")
defaults = {**services.option_defaults(), **PRESETS[preset]}
choices = services.choices()
workloads = ("heartbeat", "titles")


def widget(key: str, value: str):
    label = key.split(".", 1)[1].replace("_", " ")
    wkey = f"{state.FORM_PREFIX}{preset}:{key}"
    if key == "data.workload":
        return st.selectbox(label, workloads, index=workloads.index(value), key=wkey)
    if key in choices:
        options = list(choices[key])
        return st.selectbox(label, options, index=options.index(value), key=wkey)
    if value in ("true", "false"):
        return "true" if st.checkbox(label, value=value == "true", key=wkey) else "false"
    return st.text_input(label, value=value, key=wkey)


with st.form("new_run"):
    params = {}
    for group, keys in GROUPS.items():
        st.subheader(group)
        cols = st.columns(3)
        for i, key in enumerate(keys):
            with cols[i % 3]:
                params[key] = str(widget(key, defaults[key]))
    name = st.text_input("Run name (optional)")
    slots = st.number_input("Runs training at once", min_value=1, max_value=8, value=1,
                            help="queued runs wait for a free slot and start one after another")
    submitted = st.form_submit_button("Start run", type="primary")

estimate = services.estimate_seconds(str(home), params)
if estimate is not None:
    st.caption(f"Estimated time: about {estimate / 60:.0f} min, from finished runs of the same model on this machine.")
else:
    st.caption("No estimate yet: no finished run of this model. A 10% sample with 5 epochs takes a minute or two on a laptop.")

if submitted:
    try:
        with st.spinner("Starting the run in the background…"):  # feedback at once: the start takes seconds
            run_id = services.launch(str(home), params, name, int(slots))
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.session_state[state.LAST_LAUNCHED] = run_id
        st.success(f"Started run {run_id}. It keeps running if you close this tab.")
        st.switch_page(str(ROOT / "dashboard" / "views" / "monitor.py"))
