"""Plotly figures. Each has a title and axis labels; pages add the caption."""
from __future__ import annotations

import plotly.graph_objects as go


def class_counts_bar(names: list[str], counts: list[int], title: str, log_y: bool = False,
                     xlabel: str = "class") -> go.Figure:
    fig = go.Figure(go.Bar(x=names, y=counts, text=[f"{c:,}" for c in counts], textposition="outside"))
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title="count" + (" (log scale)" if log_y else ""),
                      height=360, margin=dict(t=60, b=40, l=40, r=20))
    if log_y:
        fig.update_yaxes(type="log")
    return fig
