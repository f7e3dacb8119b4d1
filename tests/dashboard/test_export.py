import re
from datetime import datetime

import pandas as pd
from plotly.offline import get_plotlyjs

from core.config import RunConfig
from dashboard import charts, export, services

NAMES = ["N", "S", "V", "F", "Q"]


def _detail(run_id: str, name: str, macro_f1: float, model: str = "gru") -> dict:
    """What services.run_detail returns for a finished heartbeat run."""
    history = pd.DataFrame({"train/loss": [0.9, 0.5, 0.4], "val/loss": [0.8, 0.6, 0.55],
                            "val/accuracy": [0.7, 0.8, 0.85], "val/balanced_accuracy": [0.4, 0.5, 0.55],
                            "val/macro_f1": [0.3, 0.45, 0.5], "epoch_seconds": [2.0, 3.0, 4.0]},
                           index=pd.Index([1, 2, 3], name="epoch"))
    report = {n: {"precision": 0.81, "recall": 0.72, "f1-score": 0.7612, "support": 10} for n in NAMES}
    report |= {"macro avg": {"precision": 0.8, "recall": 0.7, "f1-score": macro_f1, "support": 50},
               "weighted avg": {"precision": 0.8, "recall": 0.7, "f1-score": 0.75, "support": 50}}
    matrix = [[8 if i == j else (2 if j == (i + 1) % 5 else 0) for j in range(5)] for i in range(5)]
    config = RunConfig().replace(**{"data.sample": 0.1, "model.name": model, "train.lr": 0.003}).to_params()
    return {"run_id": run_id, "name": name, "status": "FINISHED", "start_time": 1_700_000_000_000,
            "end_time": 1_700_000_100_000, "tags": {}, "params": config, "config": config,
            "describe": f"{model} 1x64", "metrics": {"test/accuracy": 0.9345, "test/balanced_accuracy": 0.6789,
                                                     "test/macro_f1": macro_f1, "best_epoch": 3.0},
            "history": history, "report": report, "confusion": {"labels": NAMES, "matrix": matrix},
            "top_confusions": [{"true": "N", "predicted": "S", "count": 2}], "artifact_uri": "file:///x"}


def _offline(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    bundle = get_plotlyjs()
    assert bundle[:2000] in page and bundle[-2000:] in page  # plotly's bundle, inline
    assert page.count(bundle[:2000]) == 1  # once, however many charts
    assert not re.search(r"<script[^>]+src=", page)  # no external script at all
    assert '<script src="http' not in page and "<link" not in page
    assert "#000001" not in page  # real colours, not the placeholders of Streamlit's chart template


def test_run_report_is_self_contained():
    import plotly.io as pio

    pio.templates.default = "streamlit"  # as inside the app (importing streamlit registers it)
    d = _detail("0123456789abcdef0123456789abcdef", "bi-gru <fast>", 0.6543)
    figures = [(charts.loss_curves(d["history"], 3), "Loss falls."),
               (charts.confusion_heatmap(d["confusion"]["matrix"], NAMES, True), "Rows are true classes.")]
    page = export.run_report_html(d, figures, datetime(2026, 1, 2, 3, 4))
    _offline(page)
    assert d["run_id"] in page
    for value in ("0.9345", "0.6789", "0.6543", "0.7612"):  # headline and per-class report
        assert value in page
    assert "2026-01-02 03:04" in page and "Run report: bi-gru &lt;fast&gt;" in page  # date; names escaped
    assert "model.name" in page and "0.003" in page  # the configuration
    assert page.count('class="plotly-graph-div"') == 2 and "Rows are true classes." in page
    assert "seconds per epoch" in page and "3.00" in page
    assert "<td>50</td>" in page and "50.0000" not in page  # supports are counts
    assert "S supraventricular ectopic" in page and "Q unknown / paced" in page  # AAMI names beside the letters


def test_run_report_without_charts_has_no_bundle():
    d = _detail("feedbeef" * 4, "stopped", 0.5)
    page = export.run_report_html(d, [])
    assert get_plotlyjs()[:2000] not in page and "feedbeef" * 4 in page


def test_comparison_is_self_contained():
    details = {"gru · 012345": _detail("0123456789abcdef0123456789abcdef", "gru", 0.6111),
               "lstm · fedcba": _detail("fedcba9876543210fedcba9876543210", "lstm", 0.7222, model="lstm")}
    table = services.compare_rows(details)
    figures = [(charts.overlaid_curves({n: d["history"] for n, d in details.items()}, "val/loss", "Validation loss",
                                       "cross-entropy"), "Lower is better."),
               (charts.confusion_difference(details["gru · 012345"]["confusion"]["matrix"],
                                            details["lstm · fedcba"]["confusion"]["matrix"], NAMES, "gru", "lstm"),
                "Red on the diagonal: B is right more often.")]
    page = export.comparison_html("heartbeat", table, details, figures, datetime(2026, 1, 2, 3, 4))
    _offline(page)
    for run_id in ("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"):
        assert run_id in page  # full ids, not the table's short ones
    assert "0.6111" in page and "0.7222" in page and "0.9345" in page
    assert page.count('class="plotly-graph-div"') == 2
    # the options that differ: model.name only
    differ = export.differing_options(details)
    assert list(differ["option"]) == ["model.name"]
    assert list(differ.iloc[0, 1:]) == ["gru", "lstm"]


def test_presenter_css_hides_the_sidebar():
    assert export.PRESENTER_CSS.startswith("<style>")
    assert 'stSidebar"]' in export.PRESENTER_CSS and "display: none" in export.PRESENTER_CSS


def test_exports_carry_the_mark_the_finding_and_the_page_colours():
    from core.diagnosis import MARK, check

    d = _detail("abcdefabcdefabcdefabcdefabcdef12", "all-N", 0.18)
    all_n = [[10, 0, 0, 0, 0]] * 5
    verdict = check(all_n, NAMES)
    d.update(confusion={"labels": NAMES, "matrix": all_n}, learned=verdict.learned, learned_reason=verdict.line)
    page = export.run_report_html(d, [])
    assert MARK in page and "predicts N for 100.0% of the test items" in page
    ok = _detail("0123456789abcdef0123456789abcdef", "gru", 0.6111) | {"learned": True, "learned_reason": ""}
    details = {"gru · 012345": ok, "all-N · abcdef": d}
    table = services.compare_rows(details)
    assert list(table["learned"]) == ["learned", MARK]
    colors = charts.run_colors(list(details))
    fig = charts.overlaid_curves({n: x["history"] for n, x in details.items()}, "val/loss", "loss", "ce", colors)
    finding = "These runs cannot tell gru from all-N: gru leads by 0.43 macro-F1 over 1 seed, no p-value."
    page = export.comparison_html("heartbeat", table, details, [(fig, "")], finding=finding)
    assert html_escape(finding) in page and MARK in page and "all-N · abcdef" in page
    # the colours the page drew are the colours the export draws (plotly's own template underneath)
    assert [t.line.color for t in fig.data] == [charts.PALETTE[0], charts.PALETTE[1]]
    for c in charts.PALETTE[:2]:
        assert c in page


def html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_report_export_shows_aami_figures_and_escaped_word_shares():
    d = _detail("r1", "words", 0.5)
    d["metrics"] |= {"test/recall_S": 0.55, "test/precision_S": 0.4, "test/f1_S": 0.46, "test/recall_V": 0.84,
                     "test/precision_V": 0.61, "test/f1_V": 0.71, "test/macro_f1_core": 0.527}
    d["explain"] = {"examples": [{"class": "A", "predicted": "B", "correct": False, "length": 2,
                                  "attribution": [0.3, -0.1], "words": ["<script>x</script>", "mesa"]}],
                    "neighbours": {"mesa": [["silla", 0.9], ["<b>", 0.5], ["sofa", 0.4], ["cama", 0.3], ["a", 0.1]]}}
    page = export.run_report_html(d, [], datetime(2026, 1, 1))
    assert "AAMI figures" in page and "SVEB (S supraventricular ectopic)" in page and "0.4600" in page
    assert "4-class macro-F1 (N, S, V, F)" in page and "0.5270" in page
    assert "What the model looked at" in page and "What the embedding learned" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>" not in page
