"""One-click comparison: pick the question (which recurrent variant, what a
sampler changes, or your own factors), tick the arms, give a budget in
minutes and the seeds. The page estimates the time and fits the budget,
launches the arms in the background as a study on the classroom recipe,
overlays their validation curves while they train, and ends in the ranked
table with the finding."""
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, comparison_charts, explain_charts, export, links, services, state, study_charts  # noqa: E402
from dashboard import comparison_services as cs  # noqa: E402
from dashboard import presenter as presenter_mode  # noqa: E402
from dashboard import study_services as ss  # noqa: E402

K = state.COMPARISON_PREFIX
WORKLOADS = services.workload_labels()

presenter = presenter_mode.header("One-click comparison", "the live curves, the finding and the ranking only. The "
                                                          "question and the picker stay reachable under 'Selection'")
intro = st.empty() if presenter else st.container()
intro.markdown("Every arm trains on the same **classroom recipe** (the same sample, steps, batch, learning-rate "
            "schedule and readout), so the arms differ only in what you compare. The runs go on in the "
            "background: you can close the tab and come back.")
home = services.require_home()
home_dir = str(home)

ready = ss.prepared_workloads(home_dir)
if not ready:
    st.info("No data is prepared yet: the Home page prepares the heartbeats with one button.")
    links.page("home.py", "Prepare the data (Home)", "🏠")
    st.stop()


def own_factors(workload: str) -> dict:
    """The options and values of "your own factors" (at most three options)."""
    offered = cs.factor_options(workload)
    keys = st.multiselect("Options to vary", list(offered), default=["model.name"], max_selections=cs.MAX_FACTORS,
                          key=f"{K}{workload}:factors", help="each combination of their values is one arm",
                          format_func=lambda k: offered[k]["label"])
    factors = {}
    for key in keys:
        spec = offered[key]
        wkey = f"{K}{workload}:values:{key}"
        if spec["choices"]:
            default = [cs.recipe_value(workload, key)]
            if key == "model.name":
                default = [c for c in ("gru", "lstm") if c in spec["choices"]]
            picked = st.multiselect(f"values of {spec['label']}", spec["choices"], default=default, key=wkey,
                                    help=spec["help"])
            factors[key] = picked
        else:
            text = st.text_input(f"values of {spec['label']} (comma-separated)", cs.recipe_value(workload, key), key=wkey,
                                 help=spec["help"])
            factors[key] = cs.parse_values(key, text, spec["type"])
    return factors


def choose() -> "cs.Plan | None":
    """The question, the arms, the budget and seeds; the plan that fits."""
    top = st.columns([2, 3])
    workload = top[0].radio("Workload", ready, format_func=WORKLOADS.get, horizontal=True, key=f"{K}workload")
    asked = cs.questions(workload)
    question = top[1].radio("Question", list(asked), format_func=asked.get, horizontal=True, key=f"{K}question")
    study = cs.base_study(question, workload, own_factors(workload) if question == "own" else None)
    all_arms = cs.arms(study)
    if study.description and question != "own":
        st.caption(study.description)
    st.markdown("**Arms**")
    cols = st.columns(min(len(all_arms), 4) or 1)
    picked = []
    for i, arm in enumerate(all_arms):
        label = arm["name"] + (" ⓘ" if arm["note"] else "")
        help_text = " ".join(x for x in (
            arm["explain"], ("Expected to fail, and that is the lesson: " + arm["note"] + ".") if arm["note"] else "",
            f"Technical config: {arm['label']}.") if x)
        if cols[i % len(cols)].checkbox(label, value=True, key=f"{K}{workload}:{question}:arm:{arm['label']}",
                                        help=help_text):
            picked.append(arm["label"])
    knobs = st.columns([1, 1, 2])
    budget = knobs[0].number_input("Budget (minutes)", min_value=1, max_value=600, value=10, step=1,
                                   key=f"{K}budget", help="wall time for every arm and seed together")
    seeds = knobs[1].number_input("Seeds", min_value=1, max_value=10, value=1, step=1, key=f"{K}seeds",
                                  help="runs per arm with seeds 0..N-1; with fewer than 3 the interval over seeds "
                                       "says little, and the ranking leans on the test-set bootstrap")
    name = knobs[2].text_input("Name (optional)", key=f"{K}name", placeholder=f"compare {study.name}",
                               help="how this comparison and its runs are listed on Studies, Monitor and Run report")
    comparison = cs.comparison_study(study, picked, name)
    return cs.plan(services.runs(home_dir), comparison, workload, int(seeds), float(budget))


def show_plan(p: "cs.Plan") -> None:
    """The estimate before launch, and what was changed to fit the budget."""
    recipe = f"{p.recipe['train.epochs']} epochs on a {p.recipe['data.sample']:.0%} sample"
    runs = f"{p.runs} runs ({len(p.arms)} arms × {p.seeds} seed{'s' if p.seeds != 1 else ''}), {p.workers} at a time"
    if p.seconds is None:
        st.info(f"{runs}, the classroom recipe ({recipe}). No estimate: " + "; ".join(p.changes) + ".")
    elif not p.fits:
        st.warning(f"These arms will not fit {p.budget_seconds / 60:.0f} min: the recipe ({recipe}) takes about "
                   f"{p.seconds / 60:.1f} min for {runs}, and even {cs.MIN_EPOCHS} epochs on a "
                   f"{cs.MIN_SAMPLE:.0%} sample would not fit. Tick fewer arms, use fewer seeds or give more minutes.")
    elif p.changes:
        st.warning(f"To fit {p.budget_seconds / 60:.0f} min: {' and '.join(p.changes)}. Estimated "
                   f"{p.seconds / 60:.1f} min for {runs}. Fewer training steps than the measured recipe: an arm may "
                   "not learn; the table marks those that do not.")
    else:
        st.success(f"Estimated {p.seconds / 60:.1f} min for {runs}: the classroom recipe as measured ({recipe}) "
                   f"fits {p.budget_seconds / 60:.0f} min.")
    names = {a["label"]: a["name"] for a in cs.arms(p.study)}
    with st.expander("Where the estimate comes from"):
        for a in p.arms:
            seconds = f"{a['seconds']:.0f} s a run" if "seconds" in a else "no speed"
            st.markdown(f"- **{names.get(a['label'], a['label'])}**: {seconds}; "
                        f"{a.get('source', 'nothing measured applies')}")


with (st.expander("Selection", expanded=False) if presenter else st.container(border=True)):
    try:
        the_plan = choose()
    except ValueError as exc:
        st.error(str(exc))
        the_plan = None
    if the_plan is not None:
        show_plan(the_plan)
        if st.button("Start the comparison", type="primary"):
            with st.spinner("Recording the runs and starting them in the background…"):
                try:
                    parent, created = cs.launch(home_dir, the_plan)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    st.session_state[state.COMPARISON_SELECTED] = str(parent)
                    if getattr(parent, "repeat", False):  # a second click or another tab
                        st.info(parent.note)
                    elif created:
                        st.toast("Comparison started; its curves appear below as the runs train.")
                    else:
                        st.info("This exact comparison was recorded before: it is shown below, and any runs it "
                                "still lacked are training. Give it another name to start afresh.")

recorded = ss.studies(home_dir)
if not recorded:
    st.stop()
by_id = {s["parent_id"]: s for s in recorded}
ids = services.own_first(recorded)
current = st.session_state.get(state.COMPARISON_SELECTED)
picker = st.expander("Comparison shown", expanded=False) if presenter else st.container()
# no "k of n done" here: the label is drawn once per page, the bar below every few seconds
selected = picker.selectbox("Comparison to watch", ids, index=ids.index(current) if current in ids else 0,
                            format_func=lambda i: f"{by_id[i]['name']} · {by_id[i]['workload']} · {by_id[i]['total']} "
                                                  f"runs · {i[:8]}" + (" · full data, reference"
                                                                      if by_id[i].get("reference") else ""))
st.session_state[state.COMPARISON_SELECTED] = selected


def timing(view: dict, p: dict) -> str:
    elapsed = max(0.0, time.time() - view["start_time"] / 1000) if view["start_time"] else 0.0
    text = f"{p['done']} of {p['total']} runs done"
    if p["active"]:
        text += f" · {elapsed / 60:.1f} min so far"
        if view["estimate_seconds"]:
            text += f" of about {view['estimate_seconds'] / 60:.1f} min estimated"
    return text


def ranking(p: dict, view: dict) -> None:
    rep = ss.report(home_dir, selected, p["done"])
    if not rep["rows"]:
        return
    st.subheader("Ranking" + (" so far" if p["active"] or p["done"] < p["total"] else ""))
    sentence = cs.finding(rep)
    lead, rest = cs.finding_parts(rep)
    if lead:  # green only where the best arm learned: a ranking of failures is no answer
        (st.success if rep["rows"][0].get("learned") else st.info)(lead, icon=":material/lightbulb:")
    if rest:
        st.markdown(rest)
    settle = cs.settle_text(rep)
    if settle:
        st.caption(settle)
    table = cs.ranked(rep, view["runs"], view["notes"])
    if presenter:
        st.table(table, hide_index=True)
    else:
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"arm": st.column_config.TextColumn("arm", width="large")})
    for kind, line in cs.reasons(rep):  # in full, under the table: never cut
        (st.warning if kind == "unlearned" else st.info)(line, icon=":material/school:")
    notes = [f"Ranked by mean test {rep['metric_name']} over seeds, with its 95% interval. 'vs best': whether the "
             "gap to the best arm is significant (paired bootstrap on the test set and the seeds, Holm-corrected). "
             "The Studies page has every test and the factor effects."]
    if rep.get("reference"):
        notes.append("full data, reference: the same configs trained on all the training data with more epochs "
                     "(results/reference): the answer key a one-lesson budget is read against. "
                     + (rep["agreement"]["sentence"] if rep.get("agreement") else ""))
    for line in notes:
        st.caption(line)
    flips = ss.flip_lines(rep)  # in full: each pair the full data orders the other way, and why
    for line in flips:
        st.info(line, icon=":material/swap_vert:")
    notes += flips
    figures = []
    recall = ss.class_recall(rep)
    if recall:
        fig = study_charts.class_recall(recall)
        st.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch", key="class_recall")
        st.caption(ss.class_recall_caption(recall))
        figures.append((fig, ss.class_recall_caption(recall)))
    inside = ss.explanations(home_dir, ss.first_seed_runs(rep))
    if len(inside) >= 2:  # why one arm beats another: its gradient through time
        styles = comparison_charts.arm_styles([r.get("name") or r["arm"] for r in view["runs"]])
        fig = explain_charts.gradient_curves(inside, {arm: style[0] for arm, style in styles.items()})
        how = explain_charts.HOW_TO_READ["gradient"] + " One run per arm (its first seed)."
        st.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch", key="gradient_in_time")
        st.caption(how)
        figures.append((fig, how))
    for note in rep["notes"]:
        st.caption(f"Note: {note}")
    if view["runs"] and any(not r["history"].empty for r in view["runs"]):
        curve = view.get("curve_metric", rep["metric"])
        curve_name = {"macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy"}.get(curve, curve)
        figures.insert(0, (comparison_charts.live_overlay(view["runs"], f"val/{curve}",
                                                          f"Validation {curve_name}", curve_name,
                                                          (0, 1.02)), "One colour per arm, one dash per seed."))
    title = view.get("name") or "comparison"
    st.download_button(
        "Download this comparison as HTML", on_click="ignore", icon=":material/download:",
        data=export.study_html(
            f"One-click comparison: {title}", [f"{p['done']} of {p['total']} runs done · study run {selected}"],
            sentence, table, figures, cs.reasons(rep), [*notes, *rep["notes"]],
            {"Technical config of each arm": ss.technical_table(rep)}, datetime.now()),
        file_name=f"rnn-arena-{services.file_slug(title)}-{datetime.now():%Y%m%d-%H%M}.html", mime="text/html",
        key="download_comparison",
        help="One self-contained file (charts included, opens offline): the finding, the ranking with the "
             "full-data reference where loaded, why an arm fell short, and the charts.")


@st.fragment(run_every=3)
def watch() -> None:
    ss.progress.clear()
    p = ss.progress(home_dir, selected)
    view = cs.live(home_dir, selected)
    st.progress(p["done"] / max(p["total"], 1), text=timing(view, p))
    running = [r for r in view["runs"] if r["status"] == "RUNNING"]
    for r in running:  # per arm: epoch, batch, and a time left once measured batches ground it
        st.caption("Training now: " + cs.arm_progress(r))
    if not p["active"] and p["done"] + p["failed"] < p["total"]:
        st.caption("Not running: the Studies page can resume it (finished runs are kept).")
    if p["failed"]:
        st.warning(f"{p['failed']} run(s) failed; the Monitor and Run report pages show why.")
    metric = view.get("curve_metric", view["metric"])
    name = {"macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy"}.get(metric, metric)
    if any(not r["history"].empty for r in view["runs"]):
        left, right = st.columns(2)
        left.plotly_chart(comparison_charts.live_overlay(view["runs"], f"val/{metric}", f"Validation {name}", name,
                                                         (0, 1.02)), width="stretch", key="live_score")
        right.plotly_chart(comparison_charts.live_overlay(view["runs"], "val/loss", "Validation loss",
                                                          "cross-entropy"), width="stretch", key="live_loss")
        st.caption("One colour per arm, one dash per seed. A curve still rising at the last epoch had not finished "
                   "learning; one flat near the bottom has not learned.")
    elif p["done"] < p["total"]:
        st.info("The first epochs are training; the curves appear after each arm's first epoch.")
    ranking(p, view)


watch()
