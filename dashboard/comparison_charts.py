"""Plotly figure of the one-click comparison: every arm's live validation
curve, one colour per arm (its seeds share it), overlaid."""
from __future__ import annotations

import plotly.graph_objects as go

from dashboard import charts

SEED_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
# past the palette's 12 colours (more arms than the built-in questions have) the
# colours come round again with another marker, so no two arms look alike
ARM_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def arm_styles(arms: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker symbol) of each arm, by its first place in `arms`."""
    n = len(charts.PALETTE)
    return {arm: (charts.PALETTE[i % n], ARM_SYMBOLS[(i // n) % len(ARM_SYMBOLS)])
            for i, arm in enumerate(dict.fromkeys(arms))}


def live_overlay(runs: list[dict], key: str, title: str, ylabel: str, y_range: tuple | None = None) -> go.Figure:
    """One line per run of `key` per epoch; an arm's seeds share its colour
    and one legend entry, each seed its own dash."""
    runs = [{**r, "arm": r.get("name") or r["arm"]} for r in runs]  # the arm in words
    styles = arm_styles([r["arm"] for r in runs])
    fig = go.Figure()
    shown: set[str] = set()
    for r in runs:
        hist = r["history"]
        if key not in hist or hist[key].dropna().empty:
            continue
        series = hist[key].dropna()
        fig.add_trace(go.Scatter(
            x=list(series.index), y=list(series), mode="lines+markers", name=r["arm"], legendgroup=r["arm"],
            showlegend=r["arm"] not in shown, line=dict(color=styles[r["arm"]][0],
                                                         dash=SEED_DASHES[r["seed"] % len(SEED_DASHES)]),
            marker=dict(symbol=styles[r["arm"]][1], size=8),
            hovertemplate=f"{r['arm']} · seed {r['seed']}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
        shown.add(r["arm"])
    epochs = max((r["epochs"] for r in runs), default=1)
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=ylabel, height=380 + 22 * len(styles),
                      margin=dict(t=60, b=40, l=50, r=20),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, font=dict(size=11)))
    fig.update_xaxes(range=[0.5, max(epochs, 1) + 0.5], dtick=max(1, -(-epochs // 10)))
    if y_range:
        fig.update_yaxes(range=list(y_range))
    return fig
