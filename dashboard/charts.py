"""Plotly figures. Each has a title and axis labels; pages add the caption.

Every series takes its colour from one colour-blind-safe palette (Okabe and
Ito), set explicitly on the trace: Streamlit's light and dark chart themes and
the HTML export (plotly's own template) would otherwise each pick their own,
and a run keeps its colour from chart to chart when the page passes
`run_colors`."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from core.data.heartbeat import spelled_out as _spelled  # "S supraventricular ectopic"; titles' categories unchanged
from core.metrics import MANY_CLASSES

# Okabe & Ito (2008), ordered so the first series are the most distinct; their
# black is a grey here (it must show on the dark theme too) and the pale yellow
# comes last (it is faint on white)
# Okabe and Ito's colour-blind-safe set without its yellow (it vanishes on white under a projector), then
# Paul Tol's darker colour-blind-safe ones: twelve colours, so ten arms never share one
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#882255", "#117733",
           "#332288", "#999933", "#999999")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def wrapped(title: str, width: int = 44) -> str:
    """A long chart title on two lines, its bracketed detail smaller beneath:
    a chart half a page wide cuts a long one-line title, and titles of charts
    side by side collide."""
    if len(title) <= width or " (" not in title or "<br>" in title:
        return title
    head, rest = title.split(" (", 1)
    return f"{head}<br><sup>({rest}</sup>"


def run_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per run, by its place in the selection: the same in every chart."""
    return {name: color(i) for i, name in enumerate(names)}


def _log_decades(axis: dict | None = None) -> dict:
    """A log axis ticked at whole decades (1, 10, 100...): plotly's default
    also labels 2 and 5 between them, which reads as "5, 2" on a short axis."""
    return {**(axis or {}), "type": "log", "dtick": 1}



def class_counts_bar(names: list[str], counts: list[int], title: str, log_y: bool = False,
                     xlabel: str = "class", total: int | None = None) -> go.Figure:
    """Bars of class counts; with `total`, the hover also gives each class's share."""
    share = [c / total if total else 0.0 for c in counts]
    fig = go.Figure(go.Bar(x=_spelled(names), y=counts, text=[f"{c:,}" for c in counts], textposition="outside",
                           customdata=share, marker_color=color(0), hovertemplate="%{x}: %{y:,}" + (" (%{customdata:.2%})" if total else "")
                           + "<extra></extra>", cliponaxis=False))
    fig.update_layout(title=wrapped(title), xaxis_title=xlabel, yaxis_title="count" + (" (log scale)" if log_y else ""),
                      height=360, margin=dict(t=84, b=40, l=40, r=20))
    if log_y:
        fig.update_yaxes(**_log_decades())
    return fig


def _epoch_ticks(fig: go.Figure, epochs: int) -> go.Figure:
    """Whole epochs on the x axis (no 1.2, 1.4 ... for short runs)."""
    fig.update_xaxes(tick0=0, dtick=max(1, -(-epochs // 10)))
    return fig


def loss_curves(history, best_epoch: int | None) -> go.Figure:
    """Train and validation loss per epoch, the best epoch marked."""
    fig = go.Figure()
    for i, (key, name) in enumerate((("train/loss", "train"), ("val/loss", "validation"))):
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name,
                                     line=dict(color=color(i))))
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dash", line_color="gray", annotation_text=f"best epoch {best_epoch}")
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="cross-entropy", height=360,
                      margin=dict(t=60, b=40, l=40, r=20))
    return _epoch_ticks(fig, len(history))


def metric_curves(history) -> go.Figure:
    fig = go.Figure()
    for i, (key, name) in enumerate((("val/accuracy", "accuracy"), ("val/balanced_accuracy", "balanced accuracy"),
                                     ("val/macro_f1", "macro-F1"))):
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name,
                                     line=dict(color=color(i))))
    fig.update_layout(title="Validation metrics per epoch", xaxis_title="epoch", yaxis_title="score", height=360,
                      yaxis_range=[0, 1.02], margin=dict(t=60, b=40, l=40, r=20))
    return _epoch_ticks(fig, len(history))


def confusion_heatmap(matrix, labels: list[str], normalised: bool) -> go.Figure:
    import numpy as np

    cm = np.asarray(matrix, dtype=float)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalised else cm
    text = [[f"{v:.2f}" if normalised else f"{int(v):,}" for v in row] for row in values]
    show_text = len(labels) <= MANY_CLASSES
    fig = go.Figure(go.Heatmap(z=values, x=_spelled(labels), y=_spelled(labels), colorscale="Blues", text=text if show_text else None,
                               texttemplate="%{text}" if show_text else None, hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"))
    fig.update_layout(title="Confusion matrix" + (" (share of each true class)" if normalised else " (counts)"),
                      xaxis_title="predicted class", yaxis_title="true class", height=460,
                      yaxis_autorange="reversed", margin=dict(t=60, b=40, l=40, r=20))
    return fig


def per_class_bars(report: dict, labels: list[str]) -> go.Figure:
    fig = go.Figure()
    for i, key in enumerate(("precision", "recall", "f1-score")):
        fig.add_trace(go.Bar(x=_spelled(labels), y=[report[n][key] for n in labels], name=key, marker_color=color(i)))
    fig.update_layout(title="Precision, recall and F1 per class (test)", barmode="group", xaxis_title="class",
                      yaxis_title="score", yaxis_range=[0, 1.05], height=380, margin=dict(t=60, b=40, l=40, r=20))
    return fig


def overlaid_curves(histories: dict[str, "object"], key: str, title: str, ylabel: str,
                    colors: dict[str, str] | None = None) -> go.Figure:
    """One line per run for one per-epoch metric."""
    colors = colors or run_colors(list(histories))
    fig = go.Figure()
    for name, history in histories.items():
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name,
                                     line=dict(color=colors.get(name, color(0)))))
    fig.update_layout(title=wrapped(title), xaxis_title="epoch", yaxis_title=ylabel, margin=dict(t=84, b=40, l=40, r=20),
                      **_legend_below(len(histories), 400))
    return _epoch_ticks(fig, max((len(h) for h in histories.values()), default=1))


def _legend_below(n: int, plot_height: int) -> dict:
    """Run names are long: the legend goes under the plot, one row per name,
    and the figure grows so the plot keeps its height."""
    return {"height": plot_height + 22 * n,
            "legend": dict(orientation="h", yanchor="top", y=-0.12 - 0.02 * min(n, 10), x=0, font=dict(size=11),
                           entrywidth=1.0, entrywidthmode="fraction")}


def grouped_f1(reports: dict[str, dict], labels: list[str], colors: dict[str, str] | None = None) -> go.Figure:
    colors = colors or run_colors(list(reports))
    fig = go.Figure()
    for name, report in reports.items():
        fig.add_trace(go.Bar(x=_spelled(labels), y=[report[n]["f1-score"] for n in labels], name=name,
                             marker_color=colors.get(name, color(0))))
    fig.update_layout(title="Test F1 per class", barmode="group", xaxis_title="class", yaxis_title="F1",
                      yaxis_range=[0, 1.05], margin=dict(t=60, b=40, l=40, r=20), **_legend_below(len(reports), 400))
    return fig


def live_curves(history) -> go.Figure:
    """Train and validation loss of a live run."""
    fig = loss_curves(history, None)
    fig.update_layout(title="Loss so far", height=300)
    return fig


# ---------------------------------------------------------------------------
# the Data page
CLASS_COLORS = PALETTE[:5]


def _band_color(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def beat_examples(classes: list[dict], title: str) -> go.Figure:
    """One example beat per class, each in its own panel, cut at its true length."""
    from plotly.subplots import make_subplots

    shown = [c for c in classes if "example" in c]
    fig = make_subplots(rows=1, cols=max(1, len(shown)), shared_yaxes=True,
                        subplot_titles=[f"{c['name']} (beat #{c['example_index']:,})" for c in shown])
    for i, c in enumerate(shown, start=1):
        color = CLASS_COLORS[(i - 1) % len(CLASS_COLORS)]
        fig.add_trace(go.Scatter(y=c["example"], mode="lines", name=c["name"], line=dict(color=color)), row=1, col=i)
        fig.update_xaxes(title_text="time step", row=1, col=i)
    fig.update_yaxes(title_text="amplitude (min-max scaled)", row=1, col=1)
    fig.update_layout(title=wrapped(title), height=320, showlegend=False, margin=dict(t=80, b=40, l=50, r=20))
    return fig


def mean_beats(classes: list[dict], title: str) -> go.Figure:
    """Per class, the mean beat with a band of one standard deviation either side."""
    from plotly.subplots import make_subplots

    shown = [c for c in classes if c.get("mean")]
    fig = make_subplots(rows=1, cols=max(1, len(shown)), shared_yaxes=True,
                        subplot_titles=[f"{c['name']} ({c['count']:,} beats)" for c in shown])
    for i, c in enumerate(shown, start=1):
        color = CLASS_COLORS[(i - 1) % len(CLASS_COLORS)]
        steps = list(range(len(c["mean"])))
        upper = [m + s for m, s in zip(c["mean"], c["std"])]
        lower = [m - s for m, s in zip(c["mean"], c["std"])]
        fig.add_trace(go.Scatter(x=steps + steps[::-1], y=upper + lower[::-1], fill="toself", hoverinfo="skip",
                                 fillcolor=_band_color(color, 0.25), line=dict(width=0), name=f"{c['name']} ±1 std"),
                      row=1, col=i)
        fig.add_trace(go.Scatter(x=steps, y=c["mean"], mode="lines", line=dict(color=color), name=f"{c['name']} mean"),
                      row=1, col=i)
        fig.update_xaxes(title_text="time step", row=1, col=i)
    fig.update_yaxes(title_text="amplitude (mean ± 1 std)", row=1, col=1)
    fig.update_layout(title=wrapped(title), height=340, showlegend=False, margin=dict(t=80, b=40, l=50, r=20))
    return fig


def beat_lengths(classes: list[dict], title: str, bin_width: int = 5) -> go.Figure:
    """True beat length per class, as the share of each class's beats per bin
    (classes differ by two orders of magnitude in size)."""
    fig = go.Figure()
    for i, c in enumerate(classes):
        counts = c.get("length_counts")
        if not counts or not c["count"]:
            continue
        bins = [sum(counts[j : j + bin_width]) / c["count"] for j in range(0, len(counts), bin_width)]
        fig.add_trace(go.Scatter(x=[j + bin_width / 2 for j in range(0, len(counts), bin_width)], y=bins,
                                 mode="lines", line=dict(shape="hvh", color=CLASS_COLORS[i % len(CLASS_COLORS)]),
                                 name=f"{c['name']} ({c['count']:,})"))
    fig.update_layout(title=wrapped(title), xaxis_title=f"true length (time steps, bins of {bin_width})",
                      yaxis_title="share of the class's beats", height=360, margin=dict(t=60, b=40, l=50, r=20))
    return fig


def category_bars(names: list[str], counts: list[int], title: str, log_x: bool = False,
                  total: int | None = None) -> go.Figure:
    """Horizontal bars for many long category names, the first name on top."""
    share = [c / total if total else 0.0 for c in counts]
    fig = go.Figure(go.Bar(y=names, x=counts, orientation="h", text=[f"{c:,}" for c in counts],
                           textposition="outside", customdata=share, marker_color=color(0),
                           hovertemplate="%{y}: %{x:,}" + (" (%{customdata:.2%})" if total else "") + "<extra></extra>",
                           cliponaxis=False))
    fig.update_layout(title=wrapped(title), xaxis_title="titles" + (" (log scale)" if log_x else ""), yaxis_title="category",
                      height=120 + 22 * len(names), margin=dict(t=60, b=40, l=40, r=30),
                      yaxis=dict(autorange="reversed", automargin=True))
    if log_x:
        fig.update_xaxes(**_log_decades())
    return fig


def title_lengths(length_counts: list[int], max_len: int, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(range(len(length_counts))), y=length_counts, name="titles", marker_color=color(0)))
    fig.add_vline(x=max_len + 0.5, line_dash="dash", line_color="gray", annotation_text=f"max_len {max_len}")
    fig.update_layout(title=wrapped(title), xaxis_title="tokens per title (stopwords dropped, before truncation)",
                      yaxis_title="titles", height=360, margin=dict(t=60, b=40, l=50, r=20))
    return fig


def category_rank(full: list[int], sample: list[int], log_y: bool, title: str) -> go.Figure:
    """Every category's share of the titles, categories ranked by full-data count."""
    import numpy as np

    order = np.argsort(-np.asarray(full), kind="stable")
    fig = go.Figure()
    for k, (name, counts) in enumerate((("full data", full), ("sample", sample))):
        total = max(sum(counts), 1)
        fig.add_trace(go.Scatter(x=list(range(1, len(order) + 1)), y=[counts[i] / total for i in order],
                                 mode="lines", name=name, line=dict(color=color(k))))
    fig.update_layout(title=wrapped(title), xaxis_title="category rank (most frequent first)",
                      yaxis_title="share of titles" + (" (log scale)" if log_y else ""), height=360,
                      margin=dict(t=60, b=40, l=50, r=20))
    if log_y:
        fig.update_yaxes(**_log_decades())
    return fig


# ---------------------------------------------------------------------------
# the Compare page
def normalised_rows(matrix):
    import numpy as np

    cm = np.asarray(matrix, dtype=float)
    return cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)


def confusion_difference(matrix_a, matrix_b, labels: list[str], name_a: str, name_b: str) -> go.Figure:
    """Row-normalised confusion matrix of B minus A: red cells are where B
    puts more of a true class, blue where it puts less."""
    import numpy as np

    diff = normalised_rows(matrix_b) - normalised_rows(matrix_a)
    limit = max(float(np.abs(diff).max()), 0.01)
    show_text = len(labels) <= MANY_CLASSES
    fig = go.Figure(go.Heatmap(
        z=diff, x=_spelled(labels), y=_spelled(labels), colorscale="RdBu_r", zmid=0, zmin=-limit, zmax=limit,
        text=[[f"{v:+.2f}" for v in row] for row in diff] if show_text else None,
        texttemplate="%{text}" if show_text else None, colorbar=dict(title="B − A"),
        hovertemplate="true %{y}<br>predicted %{x}<br>B − A %{z:+.3f}<extra></extra>"))
    fig.update_layout(title=f"Confusion matrix difference, B − A (share of each true class)<br>"
                            f"<sup>A: {name_a} · B: {name_b}</sup>",
                      xaxis_title="predicted class", yaxis_title="true class", height=500,
                      yaxis_autorange="reversed", margin=dict(t=80, b=40, l=40, r=20))
    return fig


def recall_difference(matrix_a, matrix_b, labels: list[str], name_a: str, name_b: str, k: int = 16) -> go.Figure:
    """For many classes: the categories whose recall (diagonal of the
    row-normalised matrix) rose most and fell most from A to B, k/2 of each."""
    import numpy as np

    diff = np.diag(normalised_rows(matrix_b)) - np.diag(normalised_rows(matrix_a))
    order = np.argsort(-diff, kind="stable")
    rose = [i for i in order[: k // 2] if diff[i] > 0]
    fell = [i for i in order[::-1][: k // 2] if diff[i] < 0][::-1]
    picked = rose + fell
    values = diff[picked]
    fig = go.Figure(go.Bar(x=values, y=[labels[i] for i in picked], orientation="h",
                           marker_color=[PALETTE[3] if v > 0 else PALETTE[0] for v in values],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_layout(title=f"Categories whose recall rose most (red) and fell most (blue), B − A<br>"
                            f"<sup>A: {name_a} · B: {name_b} · {int((diff > 0).sum())} rose, "
                            f"{int((diff < 0).sum())} fell, {int((diff == 0).sum())} unchanged</sup>",
                      xaxis_title="recall of B − recall of A", yaxis_title="category",
                      height=140 + 24 * max(len(picked), 1), margin=dict(t=80, b=40, l=40, r=20),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig


def seconds_per_epoch(names: list[str], seconds: list[float], colors: dict[str, str] | None = None) -> go.Figure:
    """Horizontal bars: run names are long."""
    colors = colors or run_colors(names)
    fig = go.Figure(go.Bar(y=names, x=seconds, orientation="h", text=[f"{s:.1f}" if s == s else "" for s in seconds],
                           textposition="outside", cliponaxis=False,
                           marker_color=[colors.get(n, color(0)) for n in names]))
    fig.update_layout(title="Seconds per epoch (mean over the run's epochs)", xaxis_title="seconds per epoch",
                      yaxis_title="run", height=140 + 28 * len(names), margin=dict(t=60, b=40, l=40, r=40),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig


def for_projector(fig: go.Figure) -> go.Figure:
    """Bigger type and taller plots for presenter mode (a copy; the original is kept)."""
    big = go.Figure(fig)
    height = big.layout.height or 400
    big.update_layout(font=dict(size=18), title_font=dict(size=26), height=int(height * 1.3),
                      legend=dict(font=dict(size=16)))
    # explicit axis fonts: Streamlit's chart theme replaces the layout's default font size
    big.update_xaxes(tickfont=dict(size=16), title_font=dict(size=20))
    big.update_yaxes(tickfont=dict(size=16), title_font=dict(size=20))
    big.update_annotations(font_size=20)
    big.update_traces(textfont_size=16, selector=dict(type="heatmap"))
    big.update_traces(textfont_size=16, selector=dict(type="bar"))
    return big
