"""Inside a trained recurrent model: what a class can see of why one variant
beats another.

- `gradient_by_step`: the size of the loss gradient with respect to each
  input step, averaged over a fixed set of items. A simple RNN read after
  its zero padding shows its signal dying in the zeros (the gradient at the
  beat's steps is tiny); a packed RNN, a gated cell or a backward direction
  keeps it.
- `integrated_gradients`: each step's share of one decision (Sundararajan et
  al. 2017: the input minus a baseline, times the gradient averaged along the
  straight path between them). Chosen over gradient x input because its
  shares add up to the difference between the model's output on the input
  and on the baseline (completeness), so "this part of the beat drove the
  call" is a statement about the whole decision, not a local slope.
- `hidden_states`: the last layer's hidden units at every step for one item
  (the forward direction), for a heatmap beside the item's true end.

All work on any model of core.models with the contract forward(x, lengths
[, extra]); inputs of token ids are explained through their embeddings.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn


def pick_items(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded set of item indices: up to `per_class` of each class
    present, in index order (the same run and seed explain the same items)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        chosen.append(np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False)))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def _inputs(model: nn.Module, x: torch.Tensor):
    """The tensor whose gradient is measured: the input itself for signals
    (B, T), the embedded tokens (B, T, E) for ids. Returns (the model's
    forward taking that tensor, the tensor with grad enabled)."""
    emb = getattr(model, "embedding", None)
    if emb is None or x.is_floating_point():
        leaf = x.detach().clone().float().requires_grad_(True)
        return (lambda inp, lengths, extra: _call(model, inp, lengths, extra)), leaf
    embedded = emb(x).detach().requires_grad_(True)  # (B, T, E)

    def forward(inp, lengths, extra):
        handle = emb.register_forward_hook(lambda module, args, out: inp)  # the embedding's output replaced
        try:
            return _call(model, x, lengths, extra)
        finally:
            handle.remove()

    return forward, embedded


def _call(model, x, lengths, extra):
    return model(x, lengths) if extra is None else model(x, lengths, extra)


def gradient_by_step(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor,
                     extra: torch.Tensor | None = None, batch_size: int = 256) -> np.ndarray:
    """Mean over the items of |d loss / d input| at each step: (T,). For
    several features per step (embedded tokens) the gradient's norm over
    the features. Cross-entropy of each item against its true class."""
    model.eval()
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    for start in range(0, len(y), batch_size):
        sl = slice(start, start + batch_size)
        forward, leaf = _inputs(model, x[sl])
        with torch.backends.cudnn.flags(enabled=False):  # cuDNN's RNN backward needs training mode
            logits = forward(leaf, lengths[sl], None if extra is None else extra[sl])
            loss = nn.functional.cross_entropy(logits.float(), y[sl], reduction="sum")
            (grad,) = torch.autograd.grad(loss, leaf)
        size = grad.abs() if grad.dim() == 2 else grad.norm(dim=-1)  # (B, T)
        total += size.sum(dim=0).double().cpu()
    return (total / max(len(y), 1)).numpy()


def integrated_gradients(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, target: torch.Tensor,
                         extra: torch.Tensor | None = None, steps: int = 32,
                         baseline: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each step's attribution to the logit of `target` (B,), with an all-zero
    baseline (the padding value) unless one is given: (B, T) attributions
    (summed over features for embedded tokens) and (B,) the completeness
    gap f(x) - f(baseline) that they add up to (within the Riemann error)."""
    model.eval()
    forward, leaf = _inputs(model, x)
    base = torch.zeros_like(leaf) if baseline is None else baseline.to(leaf)
    rows = torch.arange(len(target))
    grads = torch.zeros_like(leaf)
    with torch.backends.cudnn.flags(enabled=False):
        for k in range(steps):  # midpoint rule along the path base -> x
            alpha = (k + 0.5) / steps
            point = (base + alpha * (leaf.detach() - base)).requires_grad_(True)
            out = forward(point, lengths, extra)[rows, target].sum()
            (g,) = torch.autograd.grad(out, point)
            grads += g
        with torch.no_grad():
            gap = forward(leaf.detach(), lengths, extra)[rows, target] - forward(base, lengths, extra)[rows, target]
    attributions = (leaf.detach() - base) * grads / steps
    if attributions.dim() == 3:
        attributions = attributions.sum(dim=-1)
    return attributions.cpu().numpy(), gap.cpu().numpy()


@torch.no_grad()
def hidden_states(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
    """The last layer's forward hidden units at every step for one item:
    (steps, H). Steps are the model's own (frames of k samples with frame k);
    the whole padded input is read, so a class sees what the state does after
    the item's true end."""
    from core.models import stack_frames

    model.eval()
    rnn = model.rnn
    inp = x[:1]
    if getattr(model, "embedding", None) is not None:
        inp = model.embedding(inp)
    elif inp.dim() == 2:
        inp = inp.unsqueeze(-1)
    if getattr(model, "frame", 1) > 1:
        inp, _ = stack_frames(inp, lengths[:1], model.frame)
    out, _ = rnn(inp)  # (1, steps, H * directions)
    return out[0, :, : rnn.hidden_size].cpu().numpy()


def peak_share(curve: Sequence[float], start: int, stop: int) -> float:
    """The share of a gradient curve's total that falls on steps [start, stop)."""
    curve = np.asarray(curve, dtype=np.float64)
    total = curve.sum()
    return float(curve[start:stop].sum() / total) if total > 0 else 0.0
