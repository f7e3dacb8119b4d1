"""Figures of what happens inside a model (experiments.explain's data):
the gradient through time of several runs overlaid, example items with each
step's share of the decision, and one item's hidden state over time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import charts

HOW_TO_READ = {
    "gradient": "How to read it: how strongly the loss reacts to each input step, averaged over the same test "
                "beats for every model (log scale). A line that sinks at the start of the beat means the model "
                "barely learns from it: its signal died on the way to the readout.",
    "attribution": "How to read it: the beat (line) with each step's share of the model's call shaded "
                   "(integrated gradients; red pushed towards the predicted class, blue against it). Correct "
                   "calls on the left, mistakes on the right.",
    "hidden": "How to read it: each row is one hidden unit, each column one step the model reads; the dashed "
              "line marks the true end of the beat. After it the model reads only zero padding.",
}


def gradient_curves(curves: dict[str, dict], colors: dict[str, str] | None = None) -> go.Figure:
    """One line per run: label -> its explanation (gradient_by_step, steps,
    mean_length). The mean true length of the items is marked: after it, on
    average, only padding is read."""
    colors = {**charts.run_colors(list(curves)), **(colors or {})}  # an arm keeps the colour it has elsewhere
    fig = go.Figure()
    mean_length = None
    for label, ex in curves.items():
        y = np.maximum(np.asarray(ex["gradient_by_step"], dtype=float), 1e-12)
        fig.add_trace(go.Scatter(x=np.arange(1, len(y) + 1), y=y, mode="lines", name=label,
                                 line={"color": colors.get(label), "width": 2.5}))
        mean_length = ex.get("mean_length", mean_length)
    if mean_length:
        fig.add_vline(x=mean_length, line_dash="dash", line_color="#444444",
                      annotation_text="mean end of the beats: padding after", annotation_position="top right")
    fig.update_layout(title="Gradient through time", xaxis_title="input step (sample of the beat)",
                      yaxis_title="mean |d loss / d input| (log)", yaxis_type="log", height=430,
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 60})
    return fig


def _shade(attribution: np.ndarray) -> list[str]:
    scale = float(np.abs(attribution).max()) or 1.0
    out = []
    for a in attribution / scale:
        alpha = min(1.0, abs(float(a))) * 0.85
        out.append(f"rgba(213,94,0,{alpha:.2f})" if a > 0 else f"rgba(0,114,178,{alpha:.2f})")
    return out


def attribution_examples(examples: list[dict], max_classes: int = 5) -> go.Figure | None:
    """Beats with each step's share of the decision: a row per class, the
    correct example left and a misclassified one right (where there is one)."""
    signal = [e for e in examples if "x" in e]
    classes = list(dict.fromkeys(e["class"] for e in signal))[:max_classes]
    if not classes:
        return None
    fig = make_subplots(rows=len(classes), cols=2, shared_xaxes=True, vertical_spacing=0.06, horizontal_spacing=0.05,
                        column_titles=["correct", "misclassified"])
    for r, cls in enumerate(classes, start=1):
        for c, correct in enumerate((True, False), start=1):
            ex = next((e for e in signal if e["class"] == cls and e["correct"] == correct), None)
            if ex is None:
                continue
            x = np.asarray(ex["x"], dtype=float)
            a = np.asarray(ex["attribution"], dtype=float)
            steps = np.arange(1, len(x) + 1)
            fig.add_trace(go.Bar(x=steps, y=np.full(len(x), x.max() - x.min() if len(x) else 1), base=x.min(),
                                 marker_color=_shade(a), marker_line_width=0, showlegend=False, hoverinfo="skip"),
                          row=r, col=c)
            fig.add_trace(go.Scatter(x=steps, y=x, mode="lines", line={"color": "#222222", "width": 2},
                                     showlegend=False, name=f"{cls} → {ex['predicted']}"), row=r, col=c)
            fig.add_annotation(text=f"true {cls}, called {ex['predicted']}", xref="x domain", yref="y domain",
                               x=0.99, y=0.95, showarrow=False, font={"size": 13}, row=r, col=c)
    fig.update_layout(title="What the model looked at", height=170 * len(classes) + 90, bargap=0,
                      margin={"t": 80})
    return fig


def hidden_heatmap(hidden: dict, title: str) -> go.Figure:
    """One item's hidden units (rows) over the model's steps (columns), the
    item's true end marked."""
    states = np.asarray(hidden["states"], dtype=float).T  # (H, steps)
    fig = go.Figure(go.Heatmap(z=states, colorscale="RdBu", zmid=0, zmin=-1, zmax=1,
                               colorbar={"title": "value", "x": 1.02}))
    fig.add_vline(x=hidden["end_step"] - 0.5, line_dash="dash", line_color="#111111",
                  annotation_text="true end", annotation_position="top")
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="hidden unit", height=330, margin={"t": 60})
    return fig


def word_shares(examples: list[dict]) -> "object":
    """Example titles, each word with its share of the call (integrated
    gradients, as % of the summed absolute attributions): a table."""
    import pandas as pd

    rows = []
    for e in examples:
        if "words" not in e:
            continue
        a = np.asarray(e["attribution"], dtype=float)
        total = float(np.abs(a).sum()) or 1.0
        words = " ".join(f"{w} ({100 * v / total:+.0f}%)" for w, v in zip(e["words"], a))
        rows.append({"true class": e["class"], "called": e["predicted"], "right": "yes" if e["correct"] else "no",
                     "words (share of the call)": words})
    return pd.DataFrame(rows)


def neighbour_table(neighbours: dict[str, list]) -> "object":
    """The nearest words of a few words in the trained embedding."""
    import pandas as pd

    return pd.DataFrame([{"word": w, "nearest words (cosine similarity)": ", ".join(f"{n} ({s:.2f})" for n, s in near)}
                         for w, near in neighbours.items()])


HOW_TO_READ["words"] = ("How to read it: each word's share of the model's call (integrated gradients over the word "
                        "embeddings); positive shares pushed towards the called category, negative against it.")
HOW_TO_READ["neighbours"] = ("How to read it: words the trained embedding puts closest to each word (gensim's "
                             "most_similar over the learned vectors). Neighbours from the same kind of product mean "
                             "the embedding learned what words are about.")
