"""Compare runs side by side: metrics table, overlaid validation curves,
per-class F1 and seconds per epoch."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, services  # noqa: E402

st.title("Compare runs")
home = services.require_home()

runs = services.runs(str(home))
finished = runs[runs["status"] == "FINISHED"] if not runs.empty else runs
if finished.empty:
    st.info("Nothing to compare yet: finish at least two runs of one workload, for example")
    st.code(".venv/bin/python benchmarks/variants.py --workload heartbeat --sample 0.1 --epochs 20", language="bash")
    st.stop()

workload = st.radio("Workload", sorted(finished["workload"].unique()), horizontal=True)
pool = finished[finished["workload"] == workload]
labels = {r.run_id: f"{r.name} · {r.model} · sample {r.sample:g} · {r.run_id[:8]}" for r in pool.itertuples()}
chosen = st.multiselect("Runs", list(labels), default=list(labels)[:8], format_func=labels.get)
if len(chosen) < 2:
    st.info("Pick at least two runs.")
    st.stop()

names_by_id = pool.set_index("run_id")["name"]
# run names can repeat (a benchmark run twice): the short id keeps every run apart
details = {f"{names_by_id[r]} · {r[:6]}": services.run_detail(str(home), r) for r in chosen}
key = "balanced accuracy" if workload == "titles" else "macro-F1"
table = services.compare_rows(details).sort_values(key, ascending=False)
st.dataframe(table, hide_index=True, width="stretch", column_config={
    k: st.column_config.NumberColumn(k, format="%.4f") for k in ("test accuracy", "balanced accuracy", "macro-F1")
} | {"s/epoch": st.column_config.NumberColumn("s/epoch", format="%.1f")})
st.caption("Click a column to sort. One run per model says little about small differences: repeat with other "
           "seeds before calling a winner. Seconds per epoch depend on what else ran on the machine.")

left, right = st.columns(2)
histories = {name: d["history"] for name, d in details.items()}
metric = "val/balanced_accuracy" if workload == "titles" else "val/macro_f1"
left.plotly_chart(charts.overlaid_curves(histories, metric, f"Validation {metric.split('/')[1].replace('_', ' ')}",
                                         "score"), width="stretch")
right.plotly_chart(charts.overlaid_curves(histories, "val/loss", "Validation loss", "cross-entropy"), width="stretch")
st.caption("Curves that keep rising have not finished learning; a validation loss that turns up is overfitting.")

reports = {name: d["report"] for name, d in details.items() if d["report"]}
names = next((d["confusion"]["labels"] for d in details.values() if d["confusion"]), [])
if reports and 0 < len(names) <= 20:
    st.plotly_chart(charts.grouped_f1(reports, names), width="stretch")
    st.caption("The minority classes (S and F for heartbeats) separate the models; N is easy for all of them.")
