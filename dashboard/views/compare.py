"""Compare runs side by side: metrics table, overlaid validation curves,
per-class F1, seconds per epoch, the confusion-matrix difference of two runs;
ready-made groupings for the two studies; presenter mode and an HTML export."""
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from core.config import CELLS  # noqa: E402
from core.metrics import MANY_CLASSES  # noqa: E402
from dashboard import charts, export, links, services, state  # noqa: E402
from dashboard import presenter as presenter_mode  # noqa: E402


presenter = presenter_mode.header("Compare runs", "the table and the charts only. The selection stays reachable under 'Selection'")
home = services.require_home()

runs = services.runs(str(home))
finished = links.unless_empty(runs[runs["status"] == "FINISHED"] if not runs.empty else runs,
                              "Nothing to compare yet: finish at least two runs of one workload "
                              "(or run a study on the Studies page).")


def select(key: str, picked_key: str, run_ids: list[str], message: str, metric: str | None = None) -> None:
    st.session_state[key] = run_ids
    st.session_state[picked_key] = message
    st.session_state[metric_key] = metric  # the question decides the metric: the same ranking as One-click
    for suffix in ("a", "b"):  # a new grouping gets a fresh pair A/B (two different configs)
        st.session_state.pop(state.COMPARE_CM + suffix, None)


controls = st.expander("Selection", expanded=False) if presenter else st.container()
with controls:
    workload = st.radio("Workload", sorted(finished["workload"].unique()), horizontal=True)
    pool = finished[finished["workload"] == workload]
    labels = dict(services.run_choices(pool))
    runs_key, picked_key = state.COMPARE_RUNS + workload, state.COMPARE_PICKED + workload
    metric_key = state.COMPARE_METRIC + workload

    with st.container(border=True):
        st.markdown("**Ready-made comparisons**: one click picks one finished run per variant.")
        fractions = services.study_fractions(runs, workload)
        if not fractions:
            st.caption(f"These need finished recurrent runs ({', '.join(CELLS)}; padded, packed or trimmed).")
        else:
            opts = st.columns([2, 2, 3])
            sample = opts[0].selectbox("Sample fraction", fractions, format_func=lambda s: f"{s:g}",
                                       help="Only runs trained on this share of the data are compared.")
            how = opts[1].radio("Per variant take the", ["best", "latest"], horizontal=True,
                                help=f"best: highest test {services.key_metric(workload).split('/')[1].replace('_', ' ')}; "
                                     "latest: the most recent finished run.")
            models = services.sampler_models(runs, workload, sample)
            model = opts[2].selectbox("Model for the sampler study", models or ["(none with two treatments yet)"],
                                      disabled=not models)
            buttons = st.columns(2)
            variant_ids = services.variant_study(runs, workload, sample, how)
            why_not = {
                "variants": "" if len(variant_ids) >= 2 else
                f"Needs finished runs of two or more recurrent variants at sample {sample:g} without a sampler or "
                f"class-weighted loss; there {'is one' if variant_ids else 'is none'}.",
            }
            buttons[0].button(
                "RNN vs packed vs trimmed RNN vs GRU vs LSTM (uni and bi)", width="stretch",
                disabled=len(variant_ids) < 2, on_click=select, help=why_not["variants"] or None,
                args=(runs_key, picked_key, variant_ids,
                      f"{len(variant_ids)} variants at sample {sample:g}, the {how} run of each, no sampler.",
                      services.question_metric("variants", workload)))
            sampler_ids = services.sampler_study(runs, workload, sample, model, how) if models else []
            why_not["sampler"] = "" if len(sampler_ids) >= 2 else (
                f"Needs one model (same variant and size) run at sample {sample:g} with two or more of: no sampler, "
                f"the weighted sampler, class-weighted loss, both.")
            buttons[1].button(
                "The effect of the sampler: none vs weighted vs class-weighted loss", width="stretch",
                disabled=len(sampler_ids) < 2, on_click=select, help=why_not["sampler"] or None,
                args=(runs_key, picked_key, sampler_ids,
                      f"{model} at sample {sample:g}: the {how} run per treatment.",
                      services.question_metric("samplers", workload)))
            for where, reason in zip(buttons, why_not.values()):
                if reason:
                    where.caption(reason)
            if st.session_state.get(picked_key):
                st.caption("Picked: " + st.session_state[picked_key])

    # keep only runs that still exist; the first 8 the first time
    st.session_state[runs_key] = [r for r in st.session_state.get(runs_key, list(labels)[:8]) if r in labels]
    chosen = st.multiselect("Runs", list(labels), key=runs_key, format_func=labels.get)
    references = services.references_for(pool, chosen)
    if references:
        def add_references() -> None:
            st.session_state[runs_key] = [*st.session_state.get(runs_key, []), *references]
            st.session_state[picked_key] = (f"{len(references)} full-data reference run(s) of the same configs "
                                            "added (marked 'full data, reference').")

        st.button(f"Set these runs beside their full-data references ({len(references)} run(s))",
                  on_click=add_references,
                  help="The same study configs trained on all the data (results/reference): does the classroom "
                       "comparison point the same way?")

if len(chosen) < 2:
    st.info("Pick at least two runs.")
    st.stop()

names_by_id = pool.set_index("run_id")["name"]
# run names can repeat (a benchmark run twice): the short id keeps every run apart
details = {f"{names_by_id[r]} · {r[:6]}": services.run_detail(str(home), r) for r in chosen}
metric = st.session_state.get(metric_key) or services.key_metric(workload)
key = {"test/balanced_accuracy": "balanced accuracy", "test/macro_f1": "macro-F1",
       "test/accuracy": "test accuracy"}.get(metric, services.workload(workload).key_metric_name)
table = services.compare_rows(details).sort_values(key, ascending=False)
colors = charts.run_colors(list(details))  # a run keeps its colour in every chart
figures: list[tuple] = []  # (figure, caption) for the HTML export

result = services.compare_finding(str(home), tuple(chosen), workload, metric)
st.caption(f"Ranked by test {result['metric_name']}" + (
    ": the question of this grouping decides, as on the One-click comparison and Studies pages."
    if st.session_state.get(metric_key) else "."))
decided = len(result["rows"]) > 1 and result["rows"][1]["verdict"] == "worse" and result["rows"][0]["learned"]
(st.success if decided else st.info)(result["finding"], icon=":material/lightbulb:")
for note in result["notes"]:
    st.caption(note)
unlearned = {name: d for name, d in details.items() if d.get("learned") is False}
if unlearned:
    st.warning("\n\n".join(f"**{name}**: {d['learned_reason']}" for name, d in unlearned.items()))


def show(fig, caption: str, where=st) -> None:
    where.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch")
    where.caption(caption)
    figures.append((fig, caption))


scores = ("test accuracy", "balanced accuracy", "macro-F1")
if presenter:
    shown = table[["run", "model", "sample", *scores, "epochs", "s/epoch", "sampler", "learned"]]
    st.table(shown.style.format({**{k: "{:.4f}" for k in scores}, "s/epoch": "{:.1f}", "sample": "{:g}"},
                                na_rep="-"), hide_index=True)
else:
    # the columns that fit a 1400-pixel page; the run id, best epoch and learning rate are in the export
    st.dataframe(table, hide_index=True, width="stretch", column_order=[
        c for c in ("run", "model", "sample", *scores, "epochs", "s/epoch", "sampler", "learned") if c in table],
        column_config={
        k: st.column_config.NumberColumn(k, format="%.4f") for k in scores
    } | {"s/epoch": st.column_config.NumberColumn("s/epoch", format="%.1f")})
    st.caption("Click a column to sort. One run per model says little about small differences: repeat with other "
               "seeds before calling a winner. Seconds per epoch depend on what else ran on the machine.")

# built when clicked, from this run's table and figures (all of them by then)
export_area = controls if presenter else st.container()
export_area.download_button(
    "Download this comparison as HTML", on_click="ignore", icon=":material/download:", key="download_compare",
    data=lambda: export.comparison_html(workload, table, details, figures, datetime.now(), finding=result["finding"]),
    file_name=f"rnn-arena-comparison-{workload}-{datetime.now():%Y%m%d-%H%M}.html", mime="text/html",
    help="One self-contained file (charts included, opens offline): the table, the charts and each run's options.")

left, right = st.columns(2)
histories = {name: d["history"] for name, d in details.items()}
metric, metric_name = f"val/{services.workload(workload).key_metric}", services.workload(workload).key_metric_name
show(charts.overlaid_curves(histories, metric, f"Validation {metric_name}", "score", colors),
     "Curves that keep rising have not finished learning.", left)
show(charts.overlaid_curves(histories, "val/loss", "Validation loss", "cross-entropy", colors),
     "A validation loss that turns up while the score stalls is overfitting.", right)

reports = {name: d["report"] for name, d in details.items() if d["report"]}
names = next((d["confusion"]["labels"] for d in details.values() if d["confusion"]), [])
if reports and 0 < len(names) <= MANY_CLASSES:
    show(charts.grouped_f1(reports, names, colors),
         services.workload(workload).f1_note)

timed = table.dropna(subset=["s/epoch"])
if len(timed):
    show(charts.seconds_per_epoch(list(timed["run"]), list(timed["s/epoch"]), colors),
         "The cost side of the table: packed sequences and bidirectional layers cost time per epoch. Compare only "
         "runs timed on the same machine under the same load.")

pair = services.confusion_pair(details)
if len(pair) >= 2:
    st.subheader("Where two runs differ")
    pair_names = list(pair)
    ranked = [n for n in table["run"] if n in pair]  # best first
    first, second = services.default_pair(pair, ranked)
    key_a, key_b = state.COMPARE_CM + "a", state.COMPARE_CM + "b"
    if st.session_state.get(state.COMPARE_PAIR_FOR) != pair_names:
        # a new selection (a ready-made grouping, runs added or removed): the default pair, never A = B
        st.session_state[key_a], st.session_state[key_b] = first, second
        st.session_state[state.COMPARE_PAIR_FOR] = pair_names
    pick_area = controls if presenter else st.container()
    pick = pick_area.columns(2)
    run_a = pick[0].selectbox("Run A (compared against)", pair_names, key=state.COMPARE_CM + "a")
    run_b = pick[1].selectbox("Run B", pair_names, key=state.COMPARE_CM + "b")
    if run_a == run_b:
        st.info("Pick two different runs for A and B.")
    else:
        cm_a, cm_b = pair[run_a]["confusion"]["matrix"], pair[run_b]["confusion"]["matrix"]
        labels_ab = pair[run_a]["confusion"]["labels"]
        if len(labels_ab) <= MANY_CLASSES:
            show(charts.confusion_difference(cm_a, cm_b, labels_ab, run_a, run_b),
                 "Each row is a true class, normalised to shares. Red on the diagonal: B gets that class right more "
                 "often than A; blue off the diagonal: B makes that mistake less often. A pale map means the two "
                 "runs make the same mistakes.")
        else:
            show(charts.recall_difference(cm_a, cm_b, labels_ab, run_a, run_b),
                 "Red bars: categories B recognises more often than A; blue: less often. Long bars of both colours "
                 "with a similar balanced accuracy mean the runs trade categories rather than one being better.")
