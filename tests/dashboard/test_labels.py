"""How classes, runs and metrics are named on the pages: AAMI names beside
N/S/V/F/Q (title categories untouched), the user's run name in pickers, and
a line per metric card."""
from types import SimpleNamespace

from core.data.heartbeat import spelled_out
from dashboard import charts, services


def test_heartbeat_letters_get_their_aami_names_and_categories_stay():
    assert spelled_out(["N", "S", "V", "F", "Q"]) == ["N normal", "S supraventricular ectopic", "V ventricular ectopic",
                                                     "F fusion", "Q unknown / paced"]
    assert spelled_out(["SNEAKERS", "N"]) == ["SNEAKERS", "N"]  # not the heartbeat classes: as they are
    report = {n: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5} for n in "NSVFQ"}
    fig = charts.per_class_bars(report, list("NSVFQ"))
    assert list(fig.data[0].x)[1] == "S supraventricular ectopic"
    heat = charts.confusion_heatmap([[1, 0], [0, 1]], ["N", "F"], True)
    assert list(heat.data[0].y) == ["N normal", "F fusion"]


def test_run_label_carries_the_name_a_user_gave():
    row = SimpleNamespace(name="lesson 1", model="bi-gru 1x64", workload="heartbeat", sample=0.3, status="FINISHED",
                          run_id="abcdef0123456789")
    assert services.run_label(row) == "lesson 1 · bi-gru 1x64 · heartbeat · sample 0.3 · FINISHED · abcdef01"
    row.name = "bi-gru 1x64"  # the default name is the description: said once
    assert services.run_label(row).startswith("bi-gru 1x64 · heartbeat")


def test_every_report_card_says_what_it_measures():
    for key in ("test/accuracy", "test/balanced_accuracy", "test/macro_f1", "best_epoch"):
        assert len(services.METRIC_MEANING[key]) > 20


def test_the_accuracy_card_names_the_bar_of_this_test_set():
    report = {"N": {"support": 830}, "S": {"support": 20}, "V": {"support": 150}, "accuracy": 0.9,
              "macro avg": {"support": 1000}, "weighted avg": {"support": 1000}}
    line = services.metric_meaning("test/accuracy", report)
    assert line.endswith("always predicting the most frequent class (N normal) scores 0.83 here")
    titles = {f"CAT_{i}": {"support": 10 + (i == 7)} for i in range(632)}
    assert "(CAT_7) scores 0.00174 here" in services.metric_meaning("test/accuracy", titles)
    assert services.metric_meaning("test/accuracy", None) == services.METRIC_MEANING["test/accuracy"]
    assert services.metric_meaning("test/macro_f1", report) == services.METRIC_MEANING["test/macro_f1"]
