"""Home: what RNN Arena is, which datasets are ready, and the latest runs."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, links, services  # noqa: E402
from experiments import prepare_job, settings  # noqa: E402

st.title("RNN Arena")
st.markdown(
    "Compare recurrent classifiers (simple, packed and trimmed RNN, GRU, LSTM, uni- or bidirectional) "
    "on real data, with every run recorded in MLflow. "
    "Answer *which recurrent model should I use here, and why?* by pointing and clicking."
)

home = services.require_home()
entries = services.datasets(str(home))

with st.container(border=True):
    st.subheader("Start here")
    beats_ready = any(e["ready"] for e in entries if e["workload"] == "heartbeat")
    runs_so_far = services.runs(str(home))
    steps = [
        ("Prepare the heartbeats", beats_ready, "one button below, under Datasets (a minute or two)"),
        ("Run the first comparison", not runs_so_far.empty,
         "One-click comparison → *Which recurrent variant?* → Start: ten models on the same classroom recipe, "
         "ranked with the lesson they teach"),
        ("Project the result", False, "the **Presenter mode** button on that page, or **Download as HTML** to "
                                      "keep it"),
    ]
    for i, (what, done, how) in enumerate(steps, 1):
        st.markdown(f"**{i}. {what}**{' ✓ done' if done else ''}: {how}")
    links.page("comparison.py", "Open the One-click comparison", "🏁")


@st.fragment(run_every=2)
def prepare_progress(workload: str) -> None:
    """A running preparation: its latest output lines, until it ends."""
    job = prepare_job.status(home, workload)
    if job["running"]:
        lines = [line for line in job["log"].replace("\r", "\n").splitlines() if line.strip()]
        st.info("Preparing… " + (lines[-1][-160:] if lines else "starting"), icon=":material/hourglass_top:")
    elif job["ok"] is False:
        st.error("The preparation stopped: " + (job["log"].strip().splitlines() or ["no output"])[-1][-300:])
    elif job["ok"]:
        services.datasets.clear()
        st.success("Prepared. Reload the page to see it.")


def prepare_form(workload) -> None:
    """Prepare a dataset from the page: download, a path on this machine, or an upload."""
    job = prepare_job.status(home, workload.name)
    if job["running"] or job["log"]:
        prepare_progress(workload.name)
    if job["running"]:
        return
    key = f"prepare_{workload.name}"
    cols = st.columns([3, 2])
    path = cols[0].text_input("Path of the files on this machine" + ("" if workload.needs_source else " (optional)"),
                              key=f"{key}_path", help=workload.prepare_help.replace("`", ""),
                              placeholder="/path/to/mitdb.tar.xz" if workload.name == "heartbeat"
                              else "/path/to/folder with spanish.*.jsonl.gz, or train.csv")
    kinds = ["zip", "tar", "tgz", "gz", "xz", "bz2", "csv"] + (["hea", "dat", "atr"] if workload.name == "heartbeat"
                                                             else [])  # archives, the CSVs, or the raw records
    uploads = cols[1].file_uploader("…or upload them", accept_multiple_files=True, key=f"{key}_upload", type=kinds,
                                    help="an archive (.zip, .tar.*) or the files themselves")
    label = "Prepare" if (path or uploads or workload.needs_source) else "Download and prepare"
    if st.button(f"{label} the {workload.label.lower()} data", key=f"{key}_go", type="primary"):
        try:
            source = path or None
            if uploads:
                source = prepare_job.save_upload(home, workload.name, [(f.name, f.getvalue()) for f in uploads])
            prepare_job.start(home, workload.name, source)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    with st.expander("The same from a terminal"):
        st.code(workload.prepare_lines(comments=False), language="bash")


st.header("Datasets")
for entry in entries:
    workload = services.workload(entry["workload"])
    with st.container(border=True):
        st.subheader(entry["name"])
        if not entry["ready"]:
            st.warning("Not prepared yet. " + workload.prepare_help)
            prepare_form(workload)
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
    # narrow enough for a 1400-pixel page: the run in words, its scores, whether it learned
    shown = runs.head(50)[["started", "status", "name", "model", "test/accuracy", "test/balanced_accuracy",
                           "test/macro_f1", "learned", "run_id"]].copy()
    shown["learned"] = shown["learned"].map(services.learned_text)
    shown["model"] = [("" if m == n else m) for m, n in zip(shown["model"], shown["name"])]  # a name said once
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_config={
            "started": st.column_config.DatetimeColumn("started", format="DD MMM HH:mm"),
            "name": st.column_config.TextColumn("run", width="medium"),
            "model": st.column_config.TextColumn("model", width="medium"),
            "test/accuracy": st.column_config.NumberColumn("accuracy", format="%.3f"),
            "test/balanced_accuracy": st.column_config.NumberColumn("balanced acc.", format="%.3f"),
            "test/macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f"),
            "run_id": st.column_config.TextColumn("run id", width="small"),
        },
    )
    st.caption(f"The {len(shown)} latest of {len(runs)} runs in {settings.store_label(home)}. Test metrics appear when a run finishes.")
