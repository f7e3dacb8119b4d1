"""Plotly figures of the Studies page. Each has a title and axis labels; the
page adds the one-line caption."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import PALETTE

# the shared colour-blind-safe palette: blue, sky blue, vermillion
VERDICT_COLORS = {"best": PALETTE[0], "not different": PALETTE[5], "worse": PALETTE[3]}


def _bounded(value: float, low: float, high: float) -> tuple[float, float]:
    """Error-bar lengths below and above a mean, 0 where the interval is unknown."""
    if math.isnan(low) or math.isnan(high):
        return 0.0, 0.0
    return max(value - low, 0.0), max(high - value, 0.0)


def _short_label(text: str, width: int = 22) -> str:
    """Axis labels of the parallel coordinates: long ones are cut (plotly
    draws them on one line and clips them at the figure's edge)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def ranking(rows: list[dict], metric: str, metric_name: str) -> go.Figure:
    """Each config's mean with its 95% CI over seeds, best on top, coloured by
    whether it differs significantly from the best."""
    rows = list(reversed(rows))  # plotly draws the first category at the bottom
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        part = [r for r in rows if r["verdict"] == verdict]
        if not part:
            continue
        bars = [_bounded(r[metric], r[f"{metric}_low"], r[f"{metric}_high"]) for r in part]
        low, high = [b[0] for b in bars], [b[1] for b in bars]
        fig.add_trace(go.Scatter(
            x=[r[metric] for r in part], y=[r.get("name", r["config"]) for r in part], mode="markers", name=verdict,
            marker=dict(size=10, color=color),
            error_x=dict(type="data", symmetric=False, array=high, arrayminus=low, color=color)))
    fig.update_layout(title=f"Configs ranked by mean test {metric_name} (95% CI)",
                      xaxis_title=f"test {metric_name}", yaxis_title="config", xaxis=dict(range=[0, 1.02]),
                      yaxis=dict(categoryorder="array", categoryarray=[r.get("name", r["config"]) for r in rows]),
                      height=max(320, 40 * len(rows) + 120), margin=dict(t=60, b=40, l=40, r=20),
                      legend_title_text="vs best")
    return fig


def factor_label(factor: str) -> str:
    """A factor as a class reads it: an option's label ("model", "both directions"), else its own name."""
    from core import options

    return options.option(factor).label if "." in factor else factor.replace("_", " ")


def parallel_coordinates(runs: pd.DataFrame, factors: list[str], metric: str, metric_name: str) -> go.Figure:
    """One line per run across the factor axes to the metric, coloured by it."""
    dims = []
    for f in [*factors, "seed"]:
        if f not in runs:
            continue
        values = [str(v) for v in runs[f]]
        levels = list(dict.fromkeys(values))
        label = factor_label(f)
        dims.append(dict(label=_short_label(label), values=[levels.index(v) for v in values],
                         tickvals=list(range(len(levels))), ticktext=[_short_label(v, 16) for v in levels]))
    dims.append(dict(label=f"test {metric_name}", values=list(runs[metric]), range=[0, 1]))
    fig = go.Figure(go.Parcoords(
        line=dict(color=list(runs[metric]), colorscale="Viridis", showscale=True, cmin=0, cmax=1,
                  colorbar=dict(title=dict(text=metric_name), x=1.08, xpad=20)),
        labelangle=-20, labelside="top", dimensions=dims))
    # room on both sides for the first and last axis's tick labels, and above for the tilted axis names
    fig.update_layout(title=f"Every run of the study: factor levels and test {metric_name}", height=460,
                      margin=dict(t=120, b=40, l=110, r=180))  # the colour bar beyond the last axis's labels
    return fig


def factor_effect(effect: dict, metric_name: str) -> go.Figure:
    """Mean metric per level of one factor, over all runs with that level,
    with its 95% CI."""
    levels = effect["levels"]
    means = [lv["mean"] for lv in levels]
    # a t-interval over fewer than 3 runs says nothing: no bar rather than one from 0 to 1
    bars = [_bounded(lv["mean"], lv["low"], lv["high"]) if lv.get("informative", True) else (0.0, 0.0)
            for lv in levels]
    down, up = [b[0] for b in bars], [b[1] for b in bars]
    name = factor_label(effect["factor"])
    fig = go.Figure(go.Bar(x=[lv["level"] for lv in levels], y=means, text=[f"{m:.3f}" for m in means],
                           textposition="outside", marker_color=PALETTE[0], cliponaxis=False,
                           error_y=dict(type="data", symmetric=False, array=up, arrayminus=down)))
    fig.update_layout(title=f"What {name} changes: test {metric_name} per level<br><sup>all other settings "
                            "pooled</sup>",
                      xaxis_title=name, yaxis_title=f"mean test {metric_name}", height=360, yaxis_range=[0, 1.08],
                      margin=dict(t=80, b=40, l=40, r=20))
    return fig


def class_recall(data: dict) -> go.Figure:
    """Configs (rows, best on top) by classes (columns): the mean test recall,
    with the range over seeds written in the cell."""
    from core.workloads import spelled_out

    fig = go.Figure(go.Heatmap(
        z=data["means"], x=spelled_out(data["classes"]), y=data["configs"], zmin=0, zmax=1, colorscale="Blues",
        text=data["texts"], texttemplate="%{text}", textfont=dict(size=13),
        colorbar=dict(title="recall"),
        hovertemplate="%{y}<br>%{x}: recall %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Recall of each class (test): which beats each config finds",
                      xaxis_title="true class", yaxis_title="config", height=140 + 56 * len(data["configs"]),
                      margin=dict(t=60, b=60, l=20, r=20))
    fig.update_yaxes(autorange="reversed")
    return fig
