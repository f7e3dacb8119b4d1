"""Run report: curves, metrics, classification report, confusion matrix,
config; presenter mode and an HTML export."""
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.metrics import MANY_CLASSES  # noqa: E402
from dashboard import charts, explain_charts, export, links, services  # noqa: E402
from dashboard import presenter as presenter_mode  # noqa: E402
from experiments.tags import EPOCH_TAG, ERROR_TAG  # noqa: E402


presenter = presenter_mode.header("Run report", "the headline numbers and the charts only. The run picker stays reachable under 'Selection'")
home = services.require_home()

runs = links.unless_empty(services.runs(str(home)), "No runs yet. Start one, then come back here to read its report.")

labels = {r.run_id: services.run_label(r) + (" · ⚠" if r.learned is False else "") for r in runs.itertuples()}
wanted = st.query_params.get("run")
ids = list(labels)
controls = st.expander("Selection", expanded=False) if presenter else st.container()
run_id = controls.selectbox("Run", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=labels.get)
st.query_params["run"] = run_id
try:
    d = services.run_detail(str(home), run_id)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

m = d["metrics"]
if d["status"] == "FAILED":
    st.error(f"This run failed: {d['tags'].get(ERROR_TAG, 'no message recorded')}")
elif d["status"] in ("RUNNING", "SCHEDULED"):
    st.info(f"This run is still {d['status'].lower()} (epoch {d['tags'].get(EPOCH_TAG, '0')}); "
            "test metrics appear when it finishes.")
elif d["status"] == "KILLED":
    st.warning(f"This run was stopped. Resume it with: .venv/bin/python -m experiments run --resume {run_id}")
if d.get("learned") is False:
    st.warning(d["learned_reason"], icon=":material/warning:")
elif d.get("learned"):
    st.caption("✓ Learned: no class takes 98% of the predictions and macro-F1 is clear of always predicting the most "
               "frequent class.")

cols = st.columns(4)
for col, (key, name) in zip(cols, [("test/accuracy", "test accuracy"), ("test/balanced_accuracy", "balanced accuracy"),
                                   ("test/macro_f1", "macro-F1"), ("best_epoch", "best epoch")]):
    value = m.get(key)
    col.metric(name, "-" if value is None else (f"{int(value)}" if key == "best_epoch" else f"{value:.4f}"))
    col.caption(services.metric_meaning(key, d["report"]))
if presenter:
    st.markdown(f"**{d['describe']}** · {d['config']['data.workload']} · sample {float(d['config']['data.sample']):g}"
                f" · {len(d['history'])} epochs · run `{run_id[:8]}`")

figures: list[tuple] = []  # (figure, caption) for the HTML export


def show(fig, caption: str, where=st, caption_here: bool = True) -> None:
    where.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch")
    if caption and caption_here:
        where.caption(caption)
    figures.append((fig, caption))


# built when clicked, from this run's figures (all of them by then)
controls.download_button(
    "Download this report as HTML", on_click="ignore", icon=":material/download:",
    data=lambda: export.run_report_html(d, figures, datetime.now()),
    file_name=f"rnn-arena-run-{run_id[:8]}.html", mime="text/html",
    help="One self-contained file (charts included, opens offline): metrics, charts, per-class report and "
         "configuration.")

history = d["history"]
st.subheader("Learning curves")
if history.empty:
    st.info("No epoch has finished yet.")
elif "train/loss" not in history or history["train/loss"].dropna().empty:
    st.info("This model is fitted in one pass, without epochs or a training loss (TF-IDF with a linear SVM, say): "
            "there are no learning curves to draw.")
else:
    best = int(m["best_epoch"]) if "best_epoch" in m else None
    left, right = st.columns(2)
    if len(history) == 1:
        note = "One epoch only: curves need at least two points to show a trend."
    else:
        note = ("Validation loss rising while training loss falls is overfitting; the dashed line marks the epoch "
                "whose weights were tested.")
    show(charts.loss_curves(history, best), "", left)
    show(charts.metric_curves(history), note, right, caption_here=False)
    st.caption(note)

report, confusion = d["report"], d["confusion"]
if report and confusion:
    names = confusion["labels"]
    st.subheader("Test set")
    if len(names) <= MANY_CLASSES:
        show(charts.per_class_bars(report, names),
             "Minority classes with low recall are the ones the model misses; compare them across runs.")
        if not presenter:
            table = services.per_class_table(report, names)
            st.dataframe(table.style.format({c: "{:,.0f}" if c == "support" else "{:.4f}" for c in table.columns}),
                         width="stretch")
            st.caption("Sensitivity (Se, recall): share of each true class the model found. Positive predictive "
                       "value (PPV, +P, precision): share of the predictions of a class that are right."
                       + services.workload(d["config"]["data.workload"]).per_class_note)
            if d["config"].get("data.split") == "inter-patient":
                st.caption("Inter-patient run: tested on de Chazal's DS2 records, whose patients the model never "
                           "saw in training; compare it with published DS2 results, not with intra-patient runs."
                           + services.validation_text(d))
        events = services.event_table(d)
        if not events.empty:
            st.markdown("**AAMI figures** (how ECG papers report a beat classifier)")
            core = m.get("test/macro_f1_core")
            (st.table if presenter else st.dataframe)(
                events.set_index("event").style.format("{:.3f}", na_rep="-"), **({} if presenter else {"width": "stretch"}))
            st.caption("SVEB: supraventricular ectopic beats (S), premature beats from above the ventricles; VEB: "
                       "ventricular ectopic beats (V). Se: share of those beats found; +P: share of the model's calls "
                       "that were right."
                       + (f" 4-class macro-F1 over N, S, V and F: {core:.3f} (Q, paced or unclassifiable, is left "
                          "out: it has a handful of beats in the inter-patient test set)." if core is not None else ""))
        by_record = services.per_record_table(d)
        if not by_record.empty and not presenter:
            with st.expander(f"Per record (patient) of the test set: {len(by_record)} records"):
                st.dataframe(by_record.style.format(
                    {c: "{:.2f}" for c in by_record.columns if c.endswith(("Se", "+P"))}, na_rep="-"),
                    hide_index=True, width="stretch")
                st.caption("S beats sit in a few records: a model can miss one patient's premature beats entirely. "
                           "Se is blank where a record has none of those beats, +P where the model called none.")
        normalised = (controls if presenter else st).toggle("normalise rows (share of each true class)", value=True)
        show(charts.confusion_heatmap(confusion["matrix"], names, normalised),
             "Rows are true classes, columns predictions; the diagonal is what the model got right.")
    else:
        per_class = pd.DataFrame({n: report[n] for n in names}).T.sort_values("f1-score")
        left, right = st.columns(2)
        for where, title, part in ((left, "**Worst 10 classes by F1**", per_class.head(10)),
                                   (right, "**Best 10 classes by F1**", per_class.tail(10).iloc[::-1])):
            where.markdown(title)
            if presenter:  # a plain table takes the big type; two columns fit half the width
                where.table(part[["recall", "f1-score"]].style.format("{:.3f}"))
            else:
                where.dataframe(part, width="stretch")
    if d["top_confusions"] and not presenter:
        st.markdown("**Most confused pairs**")
        confused = pd.DataFrame(d["top_confusions"]).head(15)
        for col in {"true", "pred"} & set(confused):
            confused[col] = services.spelled_out(confused[col])
        st.dataframe(confused, hide_index=True, width="stretch")

explained = d.get("explain")
if explained:
    st.subheader("Inside the model")
    show(explain_charts.gradient_curves({d["describe"]: explained}), explain_charts.HOW_TO_READ["gradient"])
    examples = explain_charts.attribution_examples(explained.get("examples", []))
    if examples is not None:
        show(examples, explain_charts.HOW_TO_READ["attribution"])
    if explained.get("hidden"):
        show(explain_charts.hidden_heatmap(explained["hidden"], f"Hidden state over time: one {explained['hidden']['class']} "
                                                                "beat"), explain_charts.HOW_TO_READ["hidden"])

if presenter:
    st.stop()
with st.expander("Configuration (MLflow params)"):
    st.dataframe(pd.DataFrame(sorted(d["config"].items()), columns=["option", "value"]), hide_index=True,
                 width="stretch")
st.caption(f"Run `{run_id}` · artifacts in `{d['artifact_uri']}` · started "
           f"{pd.to_datetime(d['start_time'], unit='ms'):%Y-%m-%d %H:%M}")
