"""Every st.session_state key the dashboard uses, in one place."""
HOME = "arena_home"  # the data folder the dashboard reads (str)
FORM_PREFIX = "new_run:"  # prefix of the New run form's widget keys
LAST_LAUNCHED = "last_launched_run"  # run id started from the New run page (str)
COMPARE_RUNS = "compare_runs:"  # + workload: the run ids chosen on the Compare page (list[str])
COMPARE_PICKED = "compare_picked:"  # + workload: what the last ready-made grouping picked (str)
COMPARE_METRIC = "compare_metric:"  # + workload: the metric the question of the last grouping ranks by (str)
COMPARE_CM = "compare_cm:"  # + "a" / "b": the two runs of the confusion-matrix difference (str)
COMPARE_PAIR_FOR = "compare_pair_for"  # the runs A and B were last chosen among (list[str]): new runs, new defaults
STUDY_SELECTED = "study_selected"  # the study (parent run id) shown on the Studies page (str)
COMPARISON_SELECTED = "comparison_selected"  # the one-click comparison (study parent run id) being watched (str)
COMPARISON_PREFIX = "comparison:"  # prefix of the one-click comparison's widget keys
