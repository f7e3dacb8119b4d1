"""Run report: curves, metrics, classification report, confusion matrix, config."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import charts, services  # noqa: E402

st.title("Run report")
home = services.require_home()

runs = services.runs(str(home))
if runs.empty:
    st.info("No runs yet. Start one, then come back here to read its report:")
    st.code(".venv/bin/python -m experiments run heartbeat --model gru --bidirectional --sample 0.1 --epochs 5",
            language="bash")
    st.stop()

labels = {r.run_id: f"{r.model} · {r.workload} · sample {r.sample:g} · {r.status} · {r.run_id[:8]}"
          for r in runs.itertuples()}
wanted = st.query_params.get("run")
ids = list(labels)
run_id = st.selectbox("Run", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=labels.get)
st.query_params["run"] = run_id
try:
    d = services.run_detail(str(home), run_id)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

m = d["metrics"]
if d["status"] == "FAILED":
    st.error(f"This run failed: {d['tags'].get('error', 'no message recorded')}")
elif d["status"] in ("RUNNING", "SCHEDULED"):
    st.info(f"This run is still {d['status'].lower()} (epoch {d['tags'].get('arena.epoch', '0')}); "
            "test metrics appear when it finishes.")
elif d["status"] == "KILLED":
    st.warning(f"This run was stopped. Resume it with: .venv/bin/python -m experiments run --resume {run_id}")

cols = st.columns(4)
for col, (key, name) in zip(cols, [("test/accuracy", "test accuracy"), ("test/balanced_accuracy", "balanced accuracy"),
                                   ("test/macro_f1", "macro-F1"), ("best_epoch", "best epoch")]):
    value = m.get(key)
    col.metric(name, "-" if value is None else (f"{int(value)}" if key == "best_epoch" else f"{value:.4f}"))

history = d["history"]
st.subheader("Learning curves")
if history.empty:
    st.info("No epoch has finished yet.")
else:
    best = int(m["best_epoch"]) if "best_epoch" in m else None
    left, right = st.columns(2)
    left.plotly_chart(charts.loss_curves(history, best), width="stretch")
    right.plotly_chart(charts.metric_curves(history), width="stretch")
    if len(history) == 1:
        st.caption("One epoch only: curves need at least two points to show a trend.")
    else:
        st.caption("Validation loss rising while training loss falls is overfitting; the dashed line marks the epoch "
                   "whose weights were tested.")

report, confusion = d["report"], d["confusion"]
if report and confusion:
    names = confusion["labels"]
    st.subheader("Test set")
    if len(names) <= 20:
        st.plotly_chart(charts.per_class_bars(report, names), width="stretch")
        st.caption("Minority classes with low recall are the ones the model misses; compare them across runs.")
        table = pd.DataFrame({n: report[n] for n in [*names, "macro avg", "weighted avg"]}).T
        st.dataframe(table.style.format({"precision": "{:.4f}", "recall": "{:.4f}", "f1-score": "{:.4f}",
                                         "support": "{:,.0f}"}), width="stretch")
        normalised = st.toggle("normalise rows (share of each true class)", value=True)
        st.plotly_chart(charts.confusion_heatmap(confusion["matrix"], names, normalised), width="stretch")
        st.caption("Rows are true classes, columns predictions; the diagonal is what the model got right.")
    else:
        per_class = pd.DataFrame({n: report[n] for n in names}).T.sort_values("f1-score")
        left, right = st.columns(2)
        left.markdown("**Worst 10 classes by F1**")
        left.dataframe(per_class.head(10), width="stretch")
        right.markdown("**Best 10 classes by F1**")
        right.dataframe(per_class.tail(10).iloc[::-1], width="stretch")
    if d["top_confusions"]:
        st.markdown("**Most confused pairs**")
        st.dataframe(pd.DataFrame(d["top_confusions"]).head(15), hide_index=True, width="stretch")

with st.expander("Configuration (MLflow params)"):
    st.dataframe(pd.DataFrame(sorted(d["config"].items()), columns=["option", "value"]), hide_index=True,
                 width="stretch")
st.caption(f"Run `{run_id}` · artifacts in `{d['artifact_uri']}` · started "
           f"{pd.to_datetime(d['start_time'], unit='ms'):%Y-%m-%d %H:%M}")
