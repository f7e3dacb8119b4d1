"""Studies: start a built-in or custom study in the background, watch its
progress, and read the result: configs ranked with confidence intervals and
significance marks, every run in a parallel-coordinates view, and the effect
of each factor."""
import os
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import charts, explain_charts, export, links, services, state, study_charts  # noqa: E402
from dashboard import presenter as presenter_mode  # noqa: E402
from dashboard import comparison_services as cs  # noqa: E402
from dashboard import study_services as ss  # noqa: E402

presenter = presenter_mode.header("Studies", "the finding, the ranking and the charts only. The study picker stays "
                                             "reachable under 'Selection'")
home = services.require_home()
home_dir = str(home)
recorded = ss.studies(home_dir)

with st.expander("Start a study", expanded=not recorded and not presenter):
    ready = ss.prepared_workloads(home_dir)
    if not ready:
        st.info("Prepare a dataset first: the Home page prepares it with one button.")
        links.page("home.py", "Prepare a dataset (Home)", "🏠")
    else:
        builtins = ss.builtin_studies()
        choice = st.selectbox("Study", [*builtins, ss.CUSTOM],
                              format_func=lambda k: builtins.get(k, "custom: your own configs, written in YAML"))
        fits = [w for w in ready if w in ss.study_defaults(choice, ready[0])["workloads"]]
        if not fits:
            st.info(f"This study runs on {', '.join(ss.study_defaults(choice, ready[0])['workloads'])}: prepare "
                    "that dataset first (the Home page says how).")
            st.stop()
        workload = st.selectbox("workload", fits)
        defaults = ss.study_defaults(choice, workload)
        if defaults["recipe"] == "classroom":
            st.caption(f"Every config starts from the {workload} classroom recipe (sample {defaults['sample']:g}, "
                       f"{defaults['epochs']} epochs): chosen so that the configs learn within a lesson on a "
                       "2-core laptop and differ only in the factor under study. Changing sample or epochs below "
                       "changes every config alike.")
        with st.form(f"start_study_{choice}_{workload}"):
            yaml_text = ""
            if choice == ss.CUSTOM:
                yaml_text = st.text_area("Study (YAML)", ss.example_yaml(), height=320,
                                         help="base options, factors (a list of values, or named levels that set "
                                              "several options), search: grid or random (with trials: N)")
            cols = st.columns(4)
            sample = cols[0].number_input("sample fraction", min_value=0.001, max_value=1.0, value=defaults["sample"],
                                          step=0.05, format="%.3f", help="share of train and validation each run uses")
            seeds = int(cols[1].number_input("seeds", min_value=1, max_value=20, value=3))
            epochs = int(cols[2].number_input("epochs", min_value=1, max_value=1000, value=defaults["epochs"]))
            workers = int(cols[3].number_input("workers", min_value=1, max_value=64, value=os.cpu_count() or 1,
                                               help="runs at a time, each in its own process"))
            other = st.text_area("Other run options (optional, one 'option: value' per line)", height=90,
                                 placeholder="model.hidden_size: 64\ntrain.bucket: true\ntrain.schedule: onecycle")
            submitted = st.form_submit_button("Start study", type="primary")
        if submitted:
            try:
                parent_id = ss.launch_study(home_dir, choice, yaml_text, workload, float(sample), seeds, epochs,
                                            workers, other)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.session_state[state.STUDY_SELECTED] = str(parent_id)
                if getattr(parent_id, "repeat", False):  # a second click or another tab
                    st.info(parent_id.note)
                else:
                    st.success(f"Study started in the background (`{parent_id[:8]}`); its progress shows below.")
                recorded = ss.studies(home_dir)

if not recorded:
    st.info("No study yet. Start one above, or from a terminal; running the same command again resumes it:")
    st.code(".venv/bin/python -m experiments study architectures --seeds 3   # the classroom recipe", language="bash")
    st.stop()

by_id = {s["parent_id"]: s for s in recorded}
ids = services.own_first(recorded)
current = st.session_state.get(state.STUDY_SELECTED)
controls = st.expander("Selection", expanded=False) if presenter else st.container()
selected = controls.selectbox(
    "Recorded studies", ids, index=ids.index(current) if current in ids else 0,
    format_func=lambda i: f"{by_id[i]['name']} · {by_id[i]['workload']} · sample {by_id[i]['sample']} · "
                          f"{by_id[i]['done']}/{by_id[i]['total']} done · {i[:8]}" + (" · full data, reference" if by_id[i].get("reference") else ""))
st.session_state[state.STUDY_SELECTED] = selected
st.caption(by_id[selected]["describe"])


@st.fragment(run_every=3)
def live() -> None:
    p = ss.progress(home_dir, selected)
    total = max(p["total"], 1)
    st.progress(p["done"] / total, text=f"{p['done']} of {p['total']} runs done")
    cols = st.columns(4)
    cols[0].metric("done", p["done"])
    cols[1].metric("running", p["running"])
    cols[2].metric("queued", p["queued"] + p["interrupted"],
                   help="waiting, or interrupted and to run again from its last epoch")
    cols[3].metric("failed", p["failed"])
    if p["active"]:
        if st.button("Stop the study", help="running configs end KILLED and run again when the study is resumed"):
            st.toast(f"study {selected[:8]}: {ss.stop_study(home_dir, selected)}")
    elif p["done"] < p["total"]:
        left = p["total"] - p["done"] - p["failed"]
        st.caption(f"Not running: {left} runs wait. Resuming skips finished runs and never trains a config twice.")
        if left and st.button("Resume the study"):
            try:
                resumed = ss.start_worker(home_dir, selected, os.cpu_count() or 1)
                st.toast(resumed.note or "resumed in the background")
            except ValueError as exc:
                st.error(str(exc))


live()

finished = ss.progress(home_dir, selected)["done"]
rep = ss.report(home_dir, selected, finished)
if not rep["rows"]:
    st.info("No run of this study has finished yet: the ranking, the sweep and the factor effects appear here as "
            "runs finish (reload the page to update them).")
    st.stop()

metric, name = rep["metric"], rep["metric_name"]
figures: list[tuple] = []  # (figure, caption) for the HTML export


def show(fig, caption: str, key: str | None = None) -> None:
    st.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch", key=key)
    st.caption(caption)
    figures.append((fig, caption))


st.subheader("Finding")
decided = len(rep["rows"]) > 1 and rep["rows"][1]["verdict"] == "worse" and rep["rows"][0]["learned"]
lead, rest = cs.finding_parts(rep)  # the lesson of the whole table first, then the ties
(st.success if decided or (rep.get("lesson") and rep["rows"][0]["learned"]) else st.info)(
    lead, icon=":material/lightbulb:")
if rest:
    st.markdown(rest)
if rep["seeds_to_settle"]:
    st.caption(f"Seeds to settle it: about {rep['seeds_to_settle']} per config, from the observed difference and "
               f"seed spread (Welch's t-test, alpha {rep['alpha']:g}, power 0.8).")
few = ss.few_seeds(rep)
if few:
    st.warning(few, icon=":material/warning:")
st.subheader("Ranking")
table = ss.ranked_table(rep)
if presenter:
    st.table(table, hide_index=True)
else:
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"config": st.column_config.TextColumn("config", width="large")})
for kind, line in rep["explanations"]:  # in full, under the table
    if kind == "unlearned":
        st.warning(line)
    else:  # an expected teaching failure or a class never found: a lesson, not an error
        st.info(line, icon=":material/school:")
with st.expander("Technical config of each row"):
    st.dataframe(ss.technical_table(rep), hide_index=True, width="stretch")
with st.expander("Other metrics and every test against the best"):
    st.dataframe(ss.tests_table(rep), hide_index=True, width="stretch", column_config={
        k: st.column_config.NumberColumn(k, format="%.4f") for k in ("p bootstrap", "p seeds",
                                                                     "min. detectable acc. diff.")})
st.caption(rep["legend"])
if rep.get("reference"):
    st.caption("**full data, reference**: the same configs trained on all the training data with the same recipe "
               "and more epochs (imported from `results/reference` by `python -m experiments reference import`; "
               "hours on a CPU), mean and 95% interval over their seeds. "
               + (rep["agreement"]["sentence"] if rep.get("agreement") else ""))
    for line in ss.flip_lines(rep):  # in full: each pair the full data orders the other way, and why
        st.info(line, icon=":material/swap_vert:")
show(study_charts.ranking(rep["rows"], metric, name),
     "Dots are means over seeds, bars their 95% intervals (see 'CI from' under 'Other metrics'); dark blue is the "
     "best, light blue configs are not significantly different from it, vermillion ones are worse (Holm-corrected).")

recall = ss.class_recall(rep)
if recall:
    show(study_charts.class_recall(recall), ss.class_recall_caption(recall))

export_area = controls if presenter else st.container()

inside = ss.explanations(home_dir, ss.first_seed_runs(rep))
if len(inside) >= 2:
    st.subheader("Inside the models")
    show(explain_charts.gradient_curves(inside), explain_charts.HOW_TO_READ["gradient"]
         + " One run per config (its first seed).")
    with_hidden = [label for label, ex in inside.items() if ex.get("hidden")]
    if len(with_hidden) >= 2:
        pair = ss.contrast_pair(with_hidden)
        left, right = st.columns(2)
        for col, default, key in ((left, pair[0], "hidden_a"), (right, pair[1], "hidden_b")):
            label = col.selectbox("Hidden state of", with_hidden, index=with_hidden.index(default), key=key)
            fig = explain_charts.hidden_heatmap(inside[label]["hidden"], label)
            col.plotly_chart(charts.for_projector(fig) if presenter else fig, width="stretch")
            figures.append((fig, explain_charts.HOW_TO_READ["hidden"]))
        st.caption(explain_charts.HOW_TO_READ["hidden"] + " The same beat for both models.")

with st.expander("Every run, seed by seed"):
    st.dataframe(ss.runs_table(rep), hide_index=True, width="stretch", column_config={
        k: st.column_config.NumberColumn(k, format="%.4f") for k in ("macro-F1", "balanced accuracy", "accuracy")})

st.subheader("The sweep")
runs = ss.runs_frame(rep)
show(study_charts.parallel_coordinates(runs, rep["factors"], metric, name),
     f"One line per finished run, from its factor levels to its test {name}; drag along an axis to pick runs.")

st.subheader("Effect of each factor")
if not rep["effects"]:
    st.info("No factor has two levels with finished runs yet.")
for effect in rep["effects"]:
    show(study_charts.factor_effect(effect, name), ss.effect_sentence(effect, name), key=f"effect_{effect['factor']}")
for note in rep["notes"]:
    st.warning(note)

study = by_id[selected]
export_area.download_button(
    "Download this study as HTML", on_click="ignore", icon=":material/download:",
    data=lambda: export.study_html(
        f"Study: {study['name']}", [f"{study['describe']} · {study['workload']} · study run {selected}"],
        rep["finding"], table, figures, rep["explanations"],
        [rep["legend"], rep["agreement"]["sentence"] if rep.get("agreement") else "", *ss.flip_lines(rep)],
        {"Other metrics and every test against the best": ss.tests_table(rep),
         "Technical config of each row": ss.technical_table(rep)}, datetime.now()),
    file_name=f"rnn-arena-study-{services.file_slug(study['name'])}-{datetime.now():%Y%m%d-%H%M}.html",
    mime="text/html", help="One self-contained file (charts included, opens offline): the finding, the ranking "
                           "with the full-data reference where loaded, the charts and the tests.")
