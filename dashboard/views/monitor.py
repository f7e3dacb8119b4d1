"""Monitor: queued and running runs with progress, live loss curves, ETA and
a cancel button; the latest finished, failed and stopped runs below."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, links, services  # noqa: E402
from experiments.tags import PROGRESS_TAG  # noqa: E402

st.title("Monitor")
home = services.require_home()


@st.fragment(run_every=3)
def live() -> None:
    runs = services.runs(str(home))  # shared by every session; read again when the store changes
    active = runs[runs["status"].isin(["RUNNING", "QUEUED"])] if not runs.empty else runs
    if active.empty:
        st.info("Nothing is running. Start a run from the New run page; it will appear here.")
        links.new_run()
    for r in active.itertuples():
        with st.container(border=True):
            top = st.columns([4, 1])
            model = "" if r.model == r.name else f" · {r.model}"  # a run named after its model: once
            top[0].markdown(f"**{r.name}**{model} · {r.workload} · {r.sample:.0%} of the data · `{r.run_id[:8]}`")
            if top[1].button("Cancel", key=f"cancel_{r.run_id}"):
                result = services.cancel(str(home), r.run_id)
                st.toast(f"run {r.run_id[:8]}: {result}" + (f" ({result.note})" if getattr(result, "repeat", False) else ""))
            if r.status == "QUEUED":
                st.caption("Queued: waits for a free slot.")
                continue
            d = services.run_detail(str(home), r.run_id)
            hist, total = d["history"], int(d["config"]["train.epochs"])
            fraction, line = services.live_progress(hist, total, d["tags"].get(PROGRESS_TAG))
            st.progress(fraction, text=line)
            if len(hist) >= 1:
                st.plotly_chart(charts.live_curves(hist), width="stretch", key=f"curve_{r.run_id}")
    recent = runs[~runs["status"].isin(["RUNNING", "QUEUED"])].head(10) if not runs.empty else runs
    if not recent.empty:
        st.subheader("Latest finished, failed and stopped runs")
        shown = recent[["started", "status", "name", "model", "epochs", "test/macro_f1", "learned",
                        "run_id"]].copy()
        shown["learned"] = shown["learned"].map(services.learned_text)
        shown["run_id"] = shown["run_id"].str[:8]
        shown["started"] = shown["started"].dt.strftime("%d %b %H:%M")
        st.dataframe(shown.rename(columns={"test/macro_f1": "macro-F1", "run_id": "run"}), hide_index=True,
                     width="stretch", column_config={"macro-F1": st.column_config.NumberColumn(format="%.3f")})
        for r in recent[recent["error"].fillna("") != ""].itertuples():
            st.error(f"**{r.name}** (`{r.run_id[:8]}`) failed: {r.error}")
        for r in recent[recent["learned"] == False].itertuples():  # noqa: E712 (None means unknown)
            st.warning(f"**{r.name}** (`{r.run_id[:8]}`): {r.learned_reason}")
        st.caption("A run whose process died shows as FAILED with the reason; a stopped (KILLED) run can be resumed "
                   "with `.venv/bin/python -m experiments run --resume RUN_ID`.")


live()
