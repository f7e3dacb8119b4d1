"""Self-contained HTML reports of a run or of a comparison, and the styles of
presenter mode. Pure functions (no Streamlit): figures and tables in, one
HTML string out that opens offline, plotly's JavaScript bundle written inline
once (no CDN, no network)."""
from __future__ import annotations

import html
from datetime import datetime

import pandas as pd

from core.data.heartbeat import spelled_out
from core.metrics import MANY_CLASSES

# presenter mode: no sidebar or toolbar, the full width, bigger type
PRESENTER_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] {display: none !important;}
[data-testid="stMainBlockContainer"], .block-container {max-width: 100% !important;
  padding: 1.2rem 2.5rem 2rem 2.5rem !important;}
[data-testid="stMain"] h1 {font-size: 3.2rem !important;}
[data-testid="stMain"] h2, [data-testid="stMain"] h3 {font-size: 2.2rem !important;}
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stCaptionContainer"] {font-size: 1.35rem !important;}
[data-testid="stMain"] [data-testid="stMetricValue"] p {font-size: 3.2rem !important; line-height: 1.2 !important;}
[data-testid="stMain"] [data-testid="stMetricLabel"] p {font-size: 1.3rem !important;}
[data-testid="stTable"] table {font-size: 1.35rem !important;}
[data-testid="stTable"] th, [data-testid="stTable"] td {padding: 0.45rem 0.8rem !important;}
</style>"""

STYLE = """
body {font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
      max-width: 1200px; padding: 0 1.5rem; color: #1f2328;}
h1 {margin-bottom: 0.2rem;} .meta {color: #57606a; margin-top: 0;}
table {border-collapse: collapse; margin: 0.6rem 0 1.4rem 0; font-size: 0.92rem; max-width: 100%;}
th, td {border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: right; overflow-wrap: anywhere;}
th {background: #f6f8fa;} td:first-child, th:first-child {text-align: left;}
.caption {color: #57606a; font-size: 0.9rem; margin: -0.4rem 0 1.6rem 0;}
.figure {margin: 0.5rem 0;} details {margin: 0.6rem 0;} code {font-size: 0.9rem;}
.finding {border-left: 4px solid #0072B2; background: #eef5fb; padding: 0.6rem 0.9rem; margin: 0.8rem 0;}
.mark {border-left: 4px solid #D55E00; background: #fdf1ea; padding: 0.6rem 0.9rem; margin: 0.8rem 0;}
.lesson {border-left: 4px solid #009E73; background: #eaf7f2; padding: 0.6rem 0.9rem; margin: 0.8rem 0;}
"""
METRICS = (("test/accuracy", "test accuracy"), ("test/balanced_accuracy", "balanced accuracy"),
           ("test/macro_f1", "macro-F1"), ("test/loss", "test loss"))


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _table(frame: pd.DataFrame, digits: int = 4, index: bool = False) -> str:
    fmt = lambda v: f"{v:.{digits}f}"  # noqa: E731
    return frame.to_html(index=index, border=0, na_rep="-", float_format=fmt, escape=True)


def _figures(figures: list[tuple[object, str]]) -> str:
    """Each (plotly figure, caption) as a div; the first carries plotly's bundle
    inline, the others reuse it."""
    import plotly.graph_objects as go

    parts = []
    for i, (fig, caption) in enumerate(figures):
        # a copy with plotly's own light template: inside Streamlit the default
        # template is Streamlit's, whose placeholder colours only its app fills in
        fig = go.Figure(fig).update_layout(template="plotly_white")
        div = fig.to_html(full_html=False, include_plotlyjs=True if i == 0 else False,
                          config={"displaylogo": False, "responsive": True})
        parts.append(f'<div class="figure">{div}</div>')
        if caption:
            parts.append(f'<p class="caption">{_esc(caption)}</p>')
    return "\n".join(parts)


def _page(title: str, meta_lines: list[str], body: list[str]) -> str:
    meta = "<br>".join(_esc(line) for line in meta_lines)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_esc(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{_esc(title)}</h1>\n<p class=\"meta\">{meta}</p>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _when(generated: datetime | None) -> str:
    return f"{(generated or datetime.now()):%Y-%m-%d %H:%M}"


def _started(ms) -> str:
    return "-" if not ms else f"{pd.to_datetime(ms, unit='ms'):%Y-%m-%d %H:%M}"


def _config_table(config: dict[str, str]) -> str:
    return _table(pd.DataFrame(sorted(config.items()), columns=["option", "value"]))


def _event_rows(detail: dict) -> pd.DataFrame | None:
    """SVEB/VEB Se, +P and F1 (and the 4-class macro-F1) of a heartbeat run, as text cells; None if none."""
    from core import workloads as W

    name = detail["config"].get("data.workload", "")
    if name not in W.NAMES:
        return None
    rows = W.get(name).event_rows(detail["metrics"])
    if not rows:
        return None
    table = pd.DataFrame(rows)
    for col in table.columns[1:]:
        table[col] = [f"{v:.4f}" if v is not None else "-" for v in table[col]]
    core = detail["metrics"].get("test/macro_f1_core")
    if core is not None:
        label = W.get(name).class_metrics()["macro_f1_core"][0]
        table.loc[len(table)] = [label, "", "", f"{core:.4f}"]
    return table


def run_report_html(detail: dict, figures: list[tuple[object, str]], generated: datetime | None = None) -> str:
    """One run: headline metrics, charts, the per-class report, the most
    confused pairs and the configuration. `detail` is services.run_detail's dict
    (config as params)."""
    m, history = detail["metrics"], detail["history"]
    rows = [{"metric": name, "value": f"{m[key]:.4f}"} for key, name in METRICS if m.get(key) is not None]
    if "best_epoch" in m:
        rows.append({"metric": "best epoch", "value": str(int(m["best_epoch"]))})
    rows.append({"metric": "epochs run", "value": str(len(history))})
    if "epoch_seconds" in history and len(history):
        rows.append({"metric": "seconds per epoch", "value": f"{float(history['epoch_seconds'].mean()):.2f}"})
    body = ["<h2>Headline</h2>", _table(pd.DataFrame(rows))]
    if detail.get("learned") is False:
        body.insert(0, f'<p class="mark">{_esc(detail.get("learned_reason", ""))}</p>')
    if figures:
        body += ["<h2>Charts</h2>", _figures(figures)]
    report, confusion = detail.get("report"), detail.get("confusion")
    if report and confusion:
        names = confusion["labels"]
        per_class = pd.DataFrame({n: report[n] for n in names}).T.astype({"support": int})
        if len(names) <= MANY_CLASSES:
            extra = [k for k in ("macro avg", "weighted avg") if k in report]
            table = pd.DataFrame({n: report[n] for n in [*names, *extra]}).T.astype({"support": int})
            table.index = [*spelled_out(names), *extra]  # "S supraventricular ectopic"
            body += ["<h2>Classification report (test)</h2>", _table(table, index=True)]
            events = _event_rows(detail)
            if events is not None:
                body += ["<h2>AAMI figures (test)</h2>", _table(events)]
        else:
            ranked = per_class.sort_values("f1-score")
            body += ["<h2>Worst 10 classes by F1 (test)</h2>", _table(ranked.head(10), index=True),
                     "<h2>Best 10 classes by F1 (test)</h2>", _table(ranked.tail(10).iloc[::-1], index=True)]
    if detail.get("top_confusions"):
        confused = pd.DataFrame(detail["top_confusions"]).head(15)
        for col in {"true", "pred"} & set(confused):
            confused[col] = spelled_out(confused[col])
        body += ["<h2>Most confused pairs</h2>", _table(confused)]
    explained = detail.get("explain") or {}
    if any("words" in e for e in explained.get("examples", [])):
        from dashboard import explain_charts

        body += ["<h2>What the model looked at</h2>", _table(explain_charts.word_shares(explained["examples"])),
                 f"<p>{_esc(explain_charts.HOW_TO_READ['words'])}</p>"]
        if explained.get("neighbours"):
            body += ["<h2>What the embedding learned</h2>",
                     _table(explain_charts.neighbour_table(explained["neighbours"])),
                     f"<p>{_esc(explain_charts.HOW_TO_READ['neighbours'])}</p>"]
    body += ["<h2>Configuration</h2>", _config_table(detail["config"])]
    meta = [f"Run {detail['run_id']} · {detail.get('describe', '')} · status {detail['status']}",
            f"Workload {detail['config'].get('data.workload', '?')} · sample {detail['config'].get('data.sample', '?')}"
            f" · started {_started(detail.get('start_time'))}",
            f"Report generated {_when(generated)} by RNN Arena"]
    return _page(f"Run report: {detail.get('name') or detail['run_id']}", meta, body)


def differing_options(details: dict[str, dict]) -> pd.DataFrame:
    """Options whose value differs between the runs: one row per option, one
    column per run."""
    configs = {name: d["config"] for name, d in details.items()}
    keys = sorted(set().union(*configs.values())) if configs else []
    rows = {k: {name: c.get(k, "-") for name, c in configs.items()} for k in keys}
    differ = {k: v for k, v in rows.items() if len(set(v.values())) > 1}
    frame = pd.DataFrame.from_dict(differ, orient="index")
    frame.index.name = "option"
    return frame.reset_index() if not frame.empty else pd.DataFrame(columns=["option"])


def comparison_html(workload: str, table: pd.DataFrame, details: dict[str, dict],
                    figures: list[tuple[object, str]], generated: datetime | None = None, finding: str = "") -> str:
    """A comparison: its finding, the headline table (with full run ids), the
    runs that did not learn, charts, the options that differ, and each run's
    full configuration."""
    table = table.copy()
    ids = {name: d["run_id"] for name, d in details.items()}
    if "run" in table:
        table["run id"] = table["run"].map(ids).fillna(table.get("run id", ""))
    body = [f'<p class="finding">{_esc(finding)}</p>'] if finding else []
    body += ["<h2>Headline</h2>", _table(table)]
    body += [f'<p class="mark"><b>{_esc(name)}</b>: {_esc(d.get("learned_reason", ""))}</p>'
             for name, d in details.items() if d.get("learned") is False]
    if figures:
        body += ["<h2>Charts</h2>", _figures(figures)]
    differ = differing_options(details)
    body += ["<h2>Options that differ</h2>",
             _table(differ) if len(differ) else "<p>All runs share every option.</p>",
             "<h2>Configuration of each run</h2>"]
    for name, d in details.items():
        body.append(f"<details><summary>{_esc(name)} · <code>{_esc(d['run_id'])}</code></summary>"
                    f"{_config_table(d['config'])}</details>")
    meta = [f"{len(details)} runs of the {workload} workload: " + ", ".join(ids.values()),
            f"Report generated {_when(generated)} by RNN Arena"]
    return _page(f"Comparison of {len(details)} {workload} runs", meta, body)


def study_html(title: str, meta_lines: list[str], finding: str, table: pd.DataFrame,
               figures: list[tuple[object, str]], explanations: list[tuple[str, str]] | None = None,
               notes: list[str] | None = None, details: dict[str, pd.DataFrame] | None = None,
               generated: datetime | None = None) -> str:
    """A study or a one-click comparison: the finding (the lesson first), the
    ranked table with the full-data reference column where the page has it,
    why each config that did not fully learn fell short (in full), notes
    under the table, the charts, and further tables (the tests, the technical
    config) folded under their titles."""
    body = [f'<p class="finding">{_esc(finding)}</p>'] if finding else []
    body += ["<h2>Ranking</h2>", _table(table)]
    for kind, line in explanations or []:
        body.append(f'<p class="{"lesson" if kind == "expected" else "mark"}">{_esc(line)}</p>')
    body += [f'<p class="caption">{_esc(n)}</p>' for n in notes or [] if n]
    if figures:
        body += ["<h2>Charts</h2>", _figures(figures)]
    for name, frame in (details or {}).items():
        body.append(f"<details><summary>{_esc(name)}</summary>{_table(frame)}</details>")
    return _page(title, [*meta_lines, f"Report generated {_when(generated)} by RNN Arena"], body)
