"""Plotly figures of the Studies page. Each has a title and axis labels; the
page adds the one-line caption."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

VERDICT_COLORS = {"best": "#2a9d8f", "not different": "#8ab17d", "worse": "#e76f51"}


def ranking(rows: list[dict], metric: str, metric_name: str) -> go.Figure:
    """Each config's mean with its 95% CI over seeds, best on top, coloured by
    whether it differs significantly from the best."""
    rows = list(reversed(rows))  # plotly draws the first category at the bottom
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        part = [r for r in rows if r["verdict"] == verdict]
        if not part:
            continue
        low = [r[metric] - r[f"{metric}_low"] if not math.isnan(r[f"{metric}_low"]) else 0 for r in part]
        high = [r[f"{metric}_high"] - r[metric] if not math.isnan(r[f"{metric}_high"]) else 0 for r in part]
        fig.add_trace(go.Scatter(
            x=[r[metric] for r in part], y=[r["config"] for r in part], mode="markers", name=verdict,
            marker=dict(size=10, color=color),
            error_x=dict(type="data", symmetric=False, array=high, arrayminus=low, color=color)))
    fig.update_layout(title=f"Configs ranked by mean test {metric_name} (95% CI over seeds)",
                      xaxis_title=f"test {metric_name}", yaxis_title="config",
                      yaxis=dict(categoryorder="array", categoryarray=[r["config"] for r in rows]),
                      height=max(320, 40 * len(rows) + 120), margin=dict(t=60, b=40, l=40, r=20),
                      legend_title_text="vs best")
    return fig


def parallel_coordinates(runs: pd.DataFrame, factors: list[str], metric: str, metric_name: str) -> go.Figure:
    """One line per run across the factor axes to the metric, coloured by it."""
    dims = []
    for f in [*factors, "seed"]:
        if f not in runs:
            continue
        values = [str(v) for v in runs[f]]
        levels = list(dict.fromkeys(values))
        label = "model" if f == "model.name" else f.split(".", 1)[-1].replace("_", " ")
        dims.append(dict(label=label, values=[levels.index(v) for v in values],
                         tickvals=list(range(len(levels))), ticktext=levels))
    dims.append(dict(label=f"test {metric_name}", values=list(runs[metric])))
    fig = go.Figure(go.Parcoords(
        line=dict(color=list(runs[metric]), colorscale="Viridis", showscale=True,
                  colorbar=dict(title=dict(text=metric_name))),
        dimensions=dims))
    fig.update_layout(title=f"Every run of the study: factor levels and test {metric_name}", height=420,
                      margin=dict(t=80, b=40, l=60, r=60))
    return fig


def factor_effect(effect: dict, metric_name: str) -> go.Figure:
    """Mean metric per level of one factor, over all runs with that level,
    with its 95% CI."""
    levels = effect["levels"]
    means = [lv["mean"] for lv in levels]
    up = [lv["high"] - lv["mean"] if not math.isnan(lv["high"]) else 0 for lv in levels]
    down = [lv["mean"] - lv["low"] if not math.isnan(lv["low"]) else 0 for lv in levels]
    name = effect["factor"].split(".", 1)[-1].replace("_", " ")
    fig = go.Figure(go.Bar(x=[lv["level"] for lv in levels], y=means, text=[f"{m:.3f}" for m in means],
                           textposition="outside",
                           error_y=dict(type="data", symmetric=False, array=up, arrayminus=down)))
    fig.update_layout(title=f"Effect of {name}: test {metric_name} per level (all other settings pooled)",
                      xaxis_title=name, yaxis_title=f"mean test {metric_name}", height=360,
                      margin=dict(t=60, b=40, l=40, r=20))
    return fig
