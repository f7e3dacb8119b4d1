"""Checks that can fail: the gradient curve peaks where the output depends,
integrated gradients add up to the output difference, padded steps of a
packed model get no gradient."""
import numpy as np
import pytest
import torch
from torch import nn

from core import explain as E
from core.config import RunConfig
from core.models import build_model


class OnlyStep(nn.Module):
    """A hand-built model whose logits depend on input step k only."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.w = nn.Parameter(torch.tensor([[1.0, -2.0, 0.5]]))

    def forward(self, x, lengths):
        return torch.tanh(x[:, self.k : self.k + 1]) * self.w  # (B, 3)


@pytest.mark.parametrize("k", [0, 7, 29])
def test_gradient_curve_peaks_at_the_only_step_that_matters(k):
    torch.manual_seed(0)
    x = torch.randn(40, 30)
    y = torch.randint(0, 3, (40,))
    curve = E.gradient_by_step(OnlyStep(k), x, torch.full((40,), 30), y)
    assert curve.shape == (30,) and int(np.argmax(curve)) == k
    assert E.peak_share(curve, k, k + 1) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["gru", "lstm-packed", "rnn"])
def test_integrated_gradients_add_up_to_the_output_difference(name):
    cfg = RunConfig().replace(**{"model.name": name, "model.hidden_size": 8, "model.bidirectional": True})
    torch.manual_seed(1)
    model = build_model(cfg.model, num_classes=5)
    x = torch.rand(6, 25)
    lengths = torch.tensor([25, 20, 18, 12, 9, 25])
    x = x * (torch.arange(25)[None, :] < lengths[:, None])
    target = torch.tensor([0, 1, 2, 3, 4, 0])
    attributions, gap = E.integrated_gradients(model, x, lengths, target, steps=64)
    assert attributions.shape == (6, 25)
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=0.02 * np.abs(gap).max() + 1e-4)


@pytest.mark.parametrize("impl", ["pack", "reverse"])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padded_steps_of_a_packed_model_get_no_gradient(cell, impl):
    cfg = RunConfig().replace(**{"model.name": f"{cell}-packed", "model.packed_impl": impl,
                                 "model.hidden_size": 8, "model.bidirectional": True})
    torch.manual_seed(2)
    model = build_model(cfg.model, num_classes=5)
    lengths = torch.tensor([30, 12, 20])
    x = torch.rand(3, 30)
    y = torch.tensor([0, 1, 2])
    for i, n in enumerate(lengths):  # one item at a time: its own padding
        curve = E.gradient_by_step(model, x[i : i + 1], lengths[i : i + 1], y[i : i + 1])
        assert (curve[int(n):] == 0).all() and (curve[: int(n)] > 0).any()


def test_a_padded_model_does_feel_its_padding():
    """The contrast the page shows: read after the zeros, the padding steps
    carry gradient (they sit between the beat and the readout)."""
    cfg = RunConfig().replace(**{"model.name": "rnn", "model.hidden_size": 8})
    torch.manual_seed(3)
    model = build_model(cfg.model, num_classes=5)
    x = torch.rand(1, 30)
    x[:, 12:] = 0
    curve = E.gradient_by_step(model, x, torch.tensor([12]), torch.tensor([1]))
    assert (curve[12:] > 0).any()


def test_pick_items_is_seeded_and_keeps_every_class():
    y = np.array([0] * 50 + [1] * 3 + [2] * 10)
    a, b = E.pick_items(y, 5, seed=4), E.pick_items(y, 5, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(y[a]).tolist() == [5, 3, 5]


def test_hidden_states_cover_every_step():
    cfg = RunConfig().replace(**{"model.name": "gru", "model.hidden_size": 6, "model.frame": 4})
    model = build_model(cfg.model, num_classes=5)
    h = E.hidden_states(model, torch.rand(1, 187), torch.tensor([100]))
    assert h.shape == (47, 6)


def test_a_run_stores_its_explanation_and_the_cli_writes_the_same_numbers(home, kaggle_dir, tiny_config, tmp_path):
    import json

    from core.data import heartbeat as hb
    from experiments import runner
    from experiments.__main__ import main
    from experiments.mlflow_tracker import client

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    summary = runner.run(tiny_config, home)
    c = client(home)
    stored = json.load(open(c.download_artifacts(summary.run_id, "explain/explain.json")))
    assert stored["steps"] == 187 and len(stored["gradient_by_step"]) == 187
    assert float(c.get_run(summary.run_id).data.tags["arena.explain_seconds"]) >= 0
    out = tmp_path / "x.json"
    assert main(["--home", str(home), "explain", summary.run_id, "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["steps"] == 187
    np.testing.assert_allclose(written["gradient_by_step"], stored["gradient_by_step"], rtol=1e-5, atol=1e-9)
    ex = written["examples"][0]
    assert len(ex["attribution"]) == ex["length"] == len(ex["x"])
    assert main(["--home", str(home), "explain", "nosuchrun", "--json", str(out)]) == 2
