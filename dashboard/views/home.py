"""Home: what RNN Arena is, which datasets are ready, and the latest runs."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, links, services  # noqa: E402
from experiments import settings  # noqa: E402

st.title("RNN Arena")
st.markdown(
    "Compare recurrent classifiers (simple, packed and trimmed RNN, GRU, LSTM, uni- or bidirectional) "
    "on real data, with every run recorded in MLflow. "
    "Answer *which recurrent model should I use here, and why?* by pointing and clicking."
)

home = services.require_home()

st.header("Datasets")
for entry in services.datasets(str(home)):
    workload = services.workload(entry["workload"])
    with st.container(border=True):
        st.subheader(entry["name"])
        if not entry["ready"]:
            st.warning("Not prepared yet. " + workload.prepare_help)
            st.code(workload.prepare_lines(comments=False), language="bash")
            continue
        left, right = st.columns([2, 3])
        with left:
            st.success("Ready: " + entry["summary"])
        with right:
            chart = entry["chart"]
            log_y = st.toggle("log scale", value=workload.log_counts, key=f"log_{entry['workload']}")
            st.plotly_chart(charts.class_counts_bar(chart["names"], chart["counts"], chart["title"], log_y,
                                                    chart["xlabel"]), width="stretch")
            st.caption(entry["caption"])

st.header("Runs")
runs = services.runs(str(home))
if runs.empty:
    st.info("No runs yet.")
    links.new_run()
else:
    counts = runs["status"].value_counts()
    cols = st.columns(4)
    for col, status in zip(cols, ["FINISHED", "RUNNING", "FAILED", "KILLED"]):
        col.metric(status.lower(), int(counts.get(status, 0)))
    shown = runs.head(50)[["started", "status", "workload", "model", "sample", "epochs", "test/accuracy",
                           "test/balanced_accuracy", "test/macro_f1", "learned", "name", "run_id"]].copy()
    shown["learned"] = shown["learned"].map(services.learned_text)
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_config={
            "started": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm"),
            "sample": st.column_config.NumberColumn("sample", format="%.2f"),
            "test/accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
            "test/balanced_accuracy": st.column_config.NumberColumn("balanced acc.", format="%.4f"),
            "test/macro_f1": st.column_config.NumberColumn("macro-F1", format="%.4f"),
        },
    )
    st.caption(f"The {len(shown)} latest of {len(runs)} runs in {settings.store_label(home)}. Test metrics appear when a run finishes.")
