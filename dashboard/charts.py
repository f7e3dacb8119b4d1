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


def loss_curves(history, best_epoch: int | None) -> go.Figure:
    """Train and validation loss per epoch, the best epoch marked."""
    fig = go.Figure()
    for key, name in (("train/loss", "train"), ("val/loss", "validation")):
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name))
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dash", line_color="gray", annotation_text=f"best epoch {best_epoch}")
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="cross-entropy", height=360,
                      margin=dict(t=60, b=40, l=40, r=20))
    return fig


def metric_curves(history) -> go.Figure:
    fig = go.Figure()
    for key, name in (("val/accuracy", "accuracy"), ("val/balanced_accuracy", "balanced accuracy"),
                      ("val/macro_f1", "macro-F1")):
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name))
    fig.update_layout(title="Validation metrics per epoch", xaxis_title="epoch", yaxis_title="score", height=360,
                      yaxis_range=[0, 1.02], margin=dict(t=60, b=40, l=40, r=20))
    return fig


def confusion_heatmap(matrix, labels: list[str], normalised: bool) -> go.Figure:
    import numpy as np

    cm = np.asarray(matrix, dtype=float)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalised else cm
    text = [[f"{v:.2f}" if normalised else f"{int(v):,}" for v in row] for row in values]
    show_text = len(labels) <= 20
    fig = go.Figure(go.Heatmap(z=values, x=labels, y=labels, colorscale="Blues", text=text if show_text else None,
                               texttemplate="%{text}" if show_text else None, hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"))
    fig.update_layout(title="Confusion matrix" + (" (share of each true class)" if normalised else " (counts)"),
                      xaxis_title="predicted class", yaxis_title="true class", height=460,
                      yaxis_autorange="reversed", margin=dict(t=60, b=40, l=40, r=20))
    return fig


def per_class_bars(report: dict, labels: list[str]) -> go.Figure:
    fig = go.Figure()
    for key in ("precision", "recall", "f1-score"):
        fig.add_trace(go.Bar(x=labels, y=[report[n][key] for n in labels], name=key))
    fig.update_layout(title="Precision, recall and F1 per class (test)", barmode="group", xaxis_title="class",
                      yaxis_title="score", yaxis_range=[0, 1.05], height=380, margin=dict(t=60, b=40, l=40, r=20))
    return fig


def overlaid_curves(histories: dict[str, "object"], key: str, title: str, ylabel: str) -> go.Figure:
    """One line per run for one per-epoch metric."""
    fig = go.Figure()
    for name, history in histories.items():
        if key in history:
            fig.add_trace(go.Scatter(x=list(history.index), y=list(history[key]), mode="lines+markers", name=name))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=ylabel, height=400,
                      margin=dict(t=60, b=40, l=40, r=20), legend=dict(font=dict(size=10)))
    return fig


def grouped_f1(reports: dict[str, dict], labels: list[str]) -> go.Figure:
    fig = go.Figure()
    for name, report in reports.items():
        fig.add_trace(go.Bar(x=labels, y=[report[n]["f1-score"] for n in labels], name=name))
    fig.update_layout(title="Test F1 per class", barmode="group", xaxis_title="class", yaxis_title="F1",
                      yaxis_range=[0, 1.05], height=400, margin=dict(t=60, b=40, l=40, r=20),
                      legend=dict(font=dict(size=10)))
    return fig


def live_curves(history) -> go.Figure:
    """Train and validation loss of a live run."""
    fig = loss_curves(history, None)
    fig.update_layout(title="Loss so far", height=300)
    return fig
