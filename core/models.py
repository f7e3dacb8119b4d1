"""The model registry. Every model follows one contract:

    forward(x, lengths) -> logits   # x (B, T) or (B, T, F), lengths (B,) -> (B, C)
    forward(x, lengths, extra)       # recurrent models built with num_extra: extra (B, num_extra)
                                     # side features (a beat's rhythm) read by the head beside the summary

For text, x holds token ids (B, T) int64 and the model starts with an
embedding ([PAD] = 0 stays a zero vector); `mlp` is the study's baseline:
the mean of the title's word vectors, a hidden layer, then the head.

Recurrent models come in three ways of treating padding:
  padded   the whole padded sequence is read, as a plain notebook loop does;
  packed   `pack_padded_sequence` on the true lengths, padding never seen
           (or, with packed_impl="reverse", the same results computed by
           reversing each sequence within its length: on CPU PyTorch's packed
           backward pass costs several times the padded one);
  trimmed  a fixed number of trailing steps is dropped, then read padded.
Each is available for every cell of core.cells (RNN, GRU, LSTM), uni- or
bidirectional. With `frame` k > 1 each step reads k consecutive inputs side by side (frame
stacking: a 187-sample beat becomes 47 steps of 4 samples, the last one
zero-padded; lengths become ceil(length / k)), so the recurrence takes k
times fewer sequential steps. The sequence
summary is the final hidden state of the last layer (both directions when
bidirectional); a cell state (LSTM's (h, c)) stays inside `_final_hidden`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from core import cells
from core.config import ModelConfig, model_names

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "mish": nn.Mish, "tanh": nn.Tanh}


def list_models() -> list[str]:
    return list(model_names())


class Head(nn.Module):
    """Linear classifier with an optional hidden layer, activation and dropout."""

    def __init__(self, in_features: int, num_classes: int, hidden: int, activation: str, dropout: float):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
        if hidden > 0:
            layers += [nn.Linear(in_features, hidden), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = hidden
        layers.append(nn.Linear(in_features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def make_embedding(cfg: ModelConfig, vocab_size: int, init: torch.Tensor | None = None) -> nn.Embedding:
    emb = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=0)
    if init is not None:
        if tuple(init.shape) != (vocab_size, cfg.embedding_dim):
            raise ValueError(f"word vectors have shape {tuple(init.shape)}, expected ({vocab_size}, {cfg.embedding_dim})")
        with torch.no_grad():
            emb.weight.copy_(init)
            emb.weight[0].zero_()
    emb.weight.requires_grad_(not cfg.freeze_embeddings)
    return emb


class MeanEmbeddingClassifier(nn.Module):
    """Bag of embeddings: mean over the title's tokens, a hidden layer, the head."""

    def __init__(self, cfg: ModelConfig, vocab_size: int, num_classes: int, init: torch.Tensor | None = None):
        super().__init__()
        self.embedding = make_embedding(cfg, vocab_size, init)
        self.hidden = nn.Sequential(nn.Linear(cfg.embedding_dim, cfg.hidden_size), _ACTIVATIONS[cfg.head_activation]())
        self.head = Head(cfg.hidden_size, num_classes, cfg.head_hidden, cfg.head_activation, cfg.head_dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)  # (B, T, 1)
        emb = self.embedding(x) * mask  # (B, T, E)
        mean = emb.sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1).to(emb.dtype)  # (B, E)
        return self.head(self.hidden(mean))


class RecurrentClassifier(nn.Module):
    """A recurrent summary of the sequence into the head. With `num_extra` > 0
    the head also reads that many per-item side features (a beat's rhythm:
    RR intervals) beside the summary: forward(x, lengths, extra (B, num_extra)).
    The side features are standardised inside the model with statistics of
    the training split (`set_extra_stats`), kept as buffers with the weights."""

    def __init__(self, cfg: ModelConfig, num_features: int, num_classes: int,
                 vocab_size: int | None = None, init: torch.Tensor | None = None, num_extra: int = 0):
        super().__init__()
        self.num_extra = num_extra
        if num_extra:
            self.register_buffer("extra_mean", torch.zeros(num_extra))
            self.register_buffer("extra_std", torch.ones(num_extra))
        self.embedding = make_embedding(cfg, vocab_size, init) if vocab_size else None
        if self.embedding is not None:
            num_features = cfg.embedding_dim
        self.cell = cfg.cell
        self._cell = cells.get(cfg.cell)
        self.mode = cfg.sequence_mode
        self.trim_steps = cfg.trim_steps
        self.bidirectional = cfg.bidirectional
        self.readout = cfg.readout
        self.packed_impl = cfg.packed_impl
        self.frame = cfg.frame
        self.rnn = getattr(nn, self._cell.module)(
            input_size=num_features * cfg.frame,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            batch_first=True,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        directions = 2 if cfg.bidirectional else 1
        self.head = Head(cfg.hidden_size * directions + num_extra, num_classes, cfg.head_hidden, cfg.head_activation,
                         cfg.head_dropout)

    def set_extra_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardise the side features with these (training-split) statistics."""
        with torch.no_grad():
            self.extra_mean.copy_(mean)
            self.extra_std.copy_(std.clamp_min(1e-6))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        summary = self.summary(x, lengths)  # (B, H * directions)
        if self.num_extra:
            if extra is None or extra.shape[-1] != self.num_extra:
                got = "none" if extra is None else extra.shape[-1]
                raise ValueError(f"this model reads {self.num_extra} side features per item beside the sequence, got {got}")
            summary = torch.cat([summary, ((extra - self.extra_mean) / self.extra_std).to(summary.dtype)], dim=-1)
        return self.head(summary)

    def summary(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What the head reads of the sequence: (B, H) or (B, 2H) when bidirectional."""
        if self.embedding is not None:
            x = self.embedding(x)  # (B, T) ids -> (B, T, E)
        elif x.dim() == 2:
            x = x.unsqueeze(-1)  # (B, T) -> (B, T, 1)
        if self.mode == "trimmed" and self.trim_steps > 0:
            keep = max(1, x.shape[1] - self.trim_steps)
            x = x[:, :keep]  # (B, T - trim, F)
        if self.frame > 1:
            x, lengths = stack_frames(x, lengths, self.frame)
        if self.mode == "packed" and self.packed_impl == "reverse":
            return self._length_aware(x, lengths)
        if self.mode == "packed":
            # lengths must live on the CPU for packing; 0-length inputs are read as one step
            lens = lengths.detach().to("cpu", torch.int64).clamp(min=1, max=x.shape[1])
            x = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(x)
        if self.readout == "end" and self.mode != "packed":
            return self._state_at_end(out, lengths)
        return self._final_hidden(state)

    def _length_aware(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What a packed run returns as the last layer's final state, computed
        layer by layer on the padded batch: the forward direction reads the
        batch as it is (its state at the true end ignores the padding after
        it); the backward direction reads each sequence reversed within its
        length, so the padding comes last and never reaches the valid states.
        Valid positions equal the packed outputs; padded positions are never read."""
        rnn = self.rnn
        B, T = x.shape[0], x.shape[1]
        lens = lengths.to(x.device, torch.int64).clamp(min=1, max=T)
        steps = torch.arange(T, device=x.device)[None, :]
        rev = torch.where(steps < lens[:, None], lens[:, None] - 1 - steps, steps)  # (B, T), its own inverse
        directions = 2 if self.bidirectional else 1
        inp = x
        for layer in range(rnn.num_layers):
            outs = []
            for d in range(directions):
                suffix = "_reverse" if d else ""
                params = [getattr(rnn, f"weight_ih_l{layer}{suffix}"), getattr(rnn, f"weight_hh_l{layer}{suffix}")]
                if rnn.bias:
                    params += [getattr(rnn, f"bias_ih_l{layer}{suffix}"), getattr(rnn, f"bias_hh_l{layer}{suffix}")]
                src = _gather_steps(inp, rev) if d else inp
                out = self._one_direction(src, params)  # (B, T, H)
                outs.append(_gather_steps(out, rev) if d else out)
            inp = torch.cat(outs, dim=-1) if directions == 2 else outs[0]
            if layer < rnn.num_layers - 1 and rnn.dropout > 0:
                inp = nn.functional.dropout(inp, rnn.dropout, self.training)
        hidden = rnn.hidden_size
        forward = inp[torch.arange(B, device=x.device), lens - 1, :hidden]
        if self.bidirectional:
            return torch.cat([forward, inp[:, 0, hidden:]], dim=-1)
        return forward

    def _one_direction(self, x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        """One layer, one direction, batch first: the kernel nn.RNN/GRU/LSTM call."""
        rnn = self.rnn
        h0 = x.new_zeros(1, x.shape[0], rnn.hidden_size)
        args = (params, rnn.bias, 1, 0.0, self.training, False, True)
        kernel = getattr(torch._VF, self._cell.kernel.format(nonlinearity=getattr(rnn, "nonlinearity", "")))
        return kernel(x, (h0, h0) if self._cell.cell_state else h0, *args)[0]

    def _state_at_end(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Forward direction: its output at each sequence's last real step
        (after that it only reads padding). Backward direction: its output at
        step 0, where it has read the whole sequence. A packed model's final
        state is already taken at the true end."""
        steps = out.shape[1]
        last = (lengths.to(out.device, torch.int64) - 1).clamp(min=0, max=steps - 1)  # (B,)
        rows = torch.arange(out.shape[0], device=out.device)
        hidden = self.rnn.hidden_size
        forward = out[rows, last, :hidden]  # (B, H)
        if self.bidirectional:
            return torch.cat([forward, out[:, 0, hidden:]], dim=-1)  # (B, 2H)
        return forward

    def _final_hidden(self, state) -> torch.Tensor:
        h_n = state[0] if self._cell.cell_state else state  # LSTM returns (h, c)
        # h_n: (layers * directions, B, H); keep the last layer, all directions
        if self.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], dim=-1)  # (B, 2H)
        return h_n[-1]  # (B, H)


def stack_frames(x: torch.Tensor, lengths: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, F) -> (B, ceil(T / k), F * k): step t reads inputs t*k .. t*k+k-1,
    zero-padded at the end; lengths -> ceil(lengths / k)."""
    B, T, F = x.shape
    pad = (-T) % k
    if pad:
        x = nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(B, (T + pad) // k, F * k), torch.div(lengths + (k - 1), k, rounding_mode="floor")


def _gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, T, F) with its steps reordered per row by `index` (B, T), which
    must be its own inverse (each row reversed within its length is). Rows are
    picked with one index_select, and the backward pass applies the same
    reordering to the gradient instead of scattering it."""
    return _SelfInversePermute.apply(x, index)


class _SelfInversePermute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        B, T = index.shape
        flat = (index + torch.arange(B, device=index.device)[:, None] * T).reshape(-1)
        ctx.save_for_backward(flat)
        return x.reshape(B * T, -1).index_select(0, flat).reshape(x.shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (flat,) = ctx.saved_tensors
        shape = grad.shape
        return grad.reshape(flat.numel(), -1).index_select(0, flat).reshape(shape), None


def build_model(cfg: ModelConfig, num_features: int = 1, num_classes: int = 5,
                vocab_size: int | None = None, embedding_init: torch.Tensor | None = None,
                num_extra: int = 0) -> nn.Module:
    """The model for `cfg`. With `vocab_size`, inputs are token ids and the
    model starts with an embedding (optionally initialised from word vectors).
    With `num_extra`, the head also reads that many side features per item."""
    if cfg.name not in list_models():
        raise ValueError(f"unknown model {cfg.name!r}; choose one of: {', '.join(list_models())}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if cfg.name == "tfidf":
        raise ValueError("tfidf is a scikit-learn model, not a neural one; it is trained by core.classical")
    if cfg.name == "mlp":
        if not vocab_size:
            raise ValueError("the mlp model reads token ids: it needs a vocabulary (the titles workload)")
        if num_extra:
            raise ValueError("the mlp model reads no side features beside the title")
        return MeanEmbeddingClassifier(cfg, vocab_size, num_classes, embedding_init)
    return RecurrentClassifier(cfg, num_features, num_classes, vocab_size, embedding_init, num_extra)


def parameter_count(cfg: ModelConfig, num_features: int = 1, num_classes: int = 5, vocab_size: int | None = None,
                    num_extra: int = 0) -> int:
    """The parameters build_model(cfg, ...) will have, counted without building it."""
    def head(inputs: int) -> int:
        if cfg.head_hidden:
            return inputs * cfg.head_hidden + cfg.head_hidden + cfg.head_hidden * num_classes + num_classes
        return inputs * num_classes + num_classes

    embedding = vocab_size * cfg.embedding_dim if vocab_size else 0
    if cfg.name == "mlp":
        return embedding + cfg.embedding_dim * cfg.hidden_size + cfg.hidden_size + head(cfg.hidden_size)
    gates, h = cells.get(cfg.cell).gates, cfg.hidden_size
    directions = 2 if cfg.bidirectional else 1
    inputs = (cfg.embedding_dim if vocab_size else num_features) * cfg.frame
    total = 0
    for layer in range(cfg.num_layers):
        width = inputs if layer == 0 else h * directions
        total += directions * gates * h * (width + h + 2)
    return embedding + total + head(h * directions + num_extra)


def training_bytes(cfg: ModelConfig, batch_size: int, steps: int, num_features: int = 1, num_classes: int = 5,
                   vocab_size: int | None = None) -> int:
    """A lower estimate of the memory that training the model takes: fp32
    weights, gradients, two optimizer moments and the best epoch's copy
    (5 copies), plus what the backward pass keeps per time step of a batch."""
    params = parameter_count(cfg, num_features, num_classes, vocab_size)
    if cfg.name == "mlp":
        activations = batch_size * steps * cfg.embedding_dim + batch_size * cfg.hidden_size * 4
    else:
        directions = 2 if cfg.bidirectional else 1
        per_step = cfg.num_layers * directions * cfg.hidden_size * (cells.get(cfg.cell).gates + 2)
        activations = batch_size * -(-steps // cfg.frame) * per_step + batch_size * cfg.head_hidden * 2
        if vocab_size:
            activations += batch_size * steps * cfg.embedding_dim
    return 4 * (5 * params + activations)


def neural_models() -> list[str]:
    return [n for n in list_models() if n != "tfidf"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
