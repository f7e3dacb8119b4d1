"""One colour-blind-safe palette set on every trace, a run's colour kept
across charts, decade ticks on log axes, intervals drawn inside [0, 1]."""
import math

import pandas as pd
import pytest

from dashboard import charts, study_charts


def _history(values):
    return pd.DataFrame({"val/loss": values, "val/macro_f1": values}, index=pd.Index(range(1, len(values) + 1)))


def test_a_run_keeps_its_colour_from_chart_to_chart():
    names = ["bi-gru · a", "gru · b", "rnn · c"]
    colors = charts.run_colors(names)
    assert list(colors.values()) == list(charts.PALETTE[:3])
    curves = charts.overlaid_curves({n: _history([0.5, 0.4]) for n in names}, "val/loss", "loss", "ce", colors)
    report = {"N": {"f1-score": 0.9}}
    bars = charts.grouped_f1({n: report for n in names}, ["N"], colors)
    # the seconds chart lists the runs in the table's order (sorted by score), not the selection's
    timed = charts.seconds_per_epoch(list(reversed(names)), [1.0, 2.0, 3.0], colors)
    by_curve = {t.name: t.line.color for t in curves.data}
    by_bar = {t.name: t.marker.color for t in bars.data}
    by_time = dict(zip(timed.data[0].y, timed.data[0].marker.color))
    assert by_curve == by_bar == by_time == colors


def test_every_trace_has_an_explicit_palette_colour():
    hist = pd.DataFrame({"train/loss": [1.0, 0.8], "val/loss": [1.1, 0.9], "val/accuracy": [0.5, 0.6],
                         "val/balanced_accuracy": [0.3, 0.4], "val/macro_f1": [0.2, 0.3]}, index=[1, 2])
    report = {n: {"precision": 0.5, "recall": 0.5, "f1-score": 0.5} for n in "NSVFQ"}
    figs = [charts.loss_curves(hist, 2), charts.metric_curves(hist), charts.per_class_bars(report, list("NSVFQ")),
            charts.class_counts_bar(list("NSVFQ"), [9000, 300, 700, 80, 800], "beats", log_y=True),
            charts.category_rank([5, 3, 1], [4, 2, 1], True, "rank")]
    for fig in figs:
        for trace in fig.data:
            painted = trace.line.color if trace.type == "scatter" else trace.marker.color
            assert painted in charts.PALETTE, (fig.layout.title.text, trace.name)
    assert "#F0E442" not in charts.PALETTE and len(set(charts.PALETTE)) >= 10  # ten arms, no yellow on white


def test_log_axes_tick_whole_decades():
    fig = charts.class_counts_bar(list("NSVFQ"), [90000, 2800, 7200, 800, 8000], "beats", log_y=True)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick == 1
    bars = charts.category_bars(["a", "b"], [1000, 3], "titles", log_x=True)
    assert bars.layout.xaxis.type == "log" and bars.layout.xaxis.dtick == 1
    assert charts.class_counts_bar(["a"], [1], "x").layout.yaxis.type is None


def test_study_charts_stay_inside_the_metric_range():
    rows = [{"config": "a", "verdict": "best", "macro_f1": 0.95, "macro_f1_low": 0.9, "macro_f1_high": 1.0},
            {"config": "b", "verdict": "worse", "macro_f1": 0.09, "macro_f1_low": 0.0, "macro_f1_high": 0.3},
            {"config": "c", "verdict": "not different", "macro_f1": 0.5, "macro_f1_low": math.nan,
             "macro_f1_high": math.nan}]
    fig = study_charts.ranking(rows, "macro_f1", "macro-F1")
    assert tuple(fig.layout.xaxis.range) == (0, 1.02)
    for trace in fig.data:
        for x, down, up in zip(trace.x, trace.error_x.arrayminus, trace.error_x.array):
            assert 0 <= x - down and x + up <= 1
    runs = pd.DataFrame({"model.name": ["gru", "a-very-long-model-name-indeed"], "seed": [0, 1],
                         "macro_f1": [0.2, 0.4]})
    par = study_charts.parallel_coordinates(runs, ["model.name"], "macro_f1", "macro-F1")
    dims = par.data[0].dimensions
    assert tuple(dims[-1].range) == (0, 1) and all(len(t) <= 16 for t in dims[0].ticktext)
    effect = {"factor": "model.name", "contrasts": [],
              "levels": [{"level": "gru", "mean": 0.1, "low": 0.0, "high": 0.5, "n": 2, "informative": False},
                         {"level": "rnn", "mean": 0.3, "low": 0.2, "high": 0.45, "n": 3, "informative": True}]}
    bar = study_charts.factor_effect(effect, "macro-F1")
    assert tuple(bar.layout.yaxis.range) == (0, 1.08) and bar.data[0].marker.color == charts.PALETTE[0]
    # two runs: no bar at all; three: the interval as it is
    assert list(bar.data[0].error_y.array) == [0.0, pytest.approx(0.15)]
    assert list(bar.data[0].error_y.arrayminus) == [0.0, pytest.approx(0.1)]


def test_ten_arms_of_a_comparison_never_share_both_colour_and_marker():
    import pandas as pd

    from dashboard import comparison_charts as CC

    arms = [f"arm {i}" for i in range(10)]
    styles = CC.arm_styles(arms + arms[:3])  # an arm keeps its style wherever it appears again
    assert len(set(styles.values())) == 10
    runs = [{"arm": a, "seed": 0, "epochs": 2, "history": pd.DataFrame({"val/macro_f1": [0.3, 0.5]}, index=[1, 2])}
            for a in arms]
    fig = CC.live_overlay(runs, "val/macro_f1", "t", "macro-F1")
    looks = {(t.line.color, t.marker.symbol) for t in fig.data}
    assert len(looks) == 10


def test_class_recall_keeps_the_workloads_class_order_and_the_seed_range():
    from core.workloads import in_class_order
    from dashboard import study_charts
    from dashboard import study_services as ss

    assert in_class_order(["F", "N", "Q", "S", "V"]) == ["N", "S", "V", "F", "Q"]
    assert in_class_order(["b", "a"]) == ["b", "a"]  # not one workload's fixed classes: as given

    def run(config, seed, s_recall):
        return {"config": config, "seed": seed, "macro_f1": 0.5, "seconds": 1.0, "learned": True,
                "recall": {"S": s_recall, "N": 0.99}}

    rep = {"metric": "macro_f1", "rows": [{"config": "sampler", "rank": 1}, {"config": "none", "rank": 2}],
           "runs": [run("sampler", 0, 0.8), run("sampler", 1, 0.84), run("none", 0, 0.6), run("none", 1, 0.64)]}
    data = ss.class_recall(rep)
    assert data["classes"] == ["N", "S"] and data["configs"] == ["sampler", "none"]
    assert abs(data["means"][0][1] - 0.82) < 1e-9 and data["texts"][0][1] == "0.82<br>(0.80–0.84)"
    fig = study_charts.class_recall(data)
    assert list(fig.data[0].x) == ["N normal", "S supraventricular ectopic"]
    many = {"metric": "macro_f1", "rows": [{"config": "a", "rank": 1}],
            "runs": [{"config": "a", "seed": 0, "macro_f1": 0.5, "seconds": 1.0, "learned": True,
                      "recall": {f"c{i}": 0.5 for i in range(30)}}]}
    assert ss.class_recall(many) is None  # 30 categories: no heatmap
