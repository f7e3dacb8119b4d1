import pytest

from core.config import RunConfig, _to_str
from core.presets import DESCRIPTIONS, PRESETS, apply_preset, preset_overrides


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_described_config(name):
    cfg = apply_preset(name)
    assert isinstance(cfg, RunConfig) and DESCRIPTIONS[name]
    params = cfg.to_params()
    for key, value in preset_overrides(name).items():
        assert params[key] == _to_str(value)


def test_fast_and_notebook_are_both_bidirectional_grus_trained_differently():
    fast, notebook = apply_preset("fast"), apply_preset("notebook")
    assert (fast.model.name, fast.model.bidirectional) == (notebook.model.name, notebook.model.bidirectional) == ("gru", True)
    assert (notebook.model.num_layers, notebook.model.hidden_size, notebook.model.frame) == (2, 64, 1)
    assert (notebook.train.batch_size, notebook.train.lr, notebook.train.bucket) == (128, 1e-3, False)
    assert notebook.model.readout == "final" and notebook.train.schedule == "none"
    assert (fast.train.bucket, fast.model.readout) == (True, "end") and fast.model.frame > 1


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'x'; choose one of: quick-look"):
        preset_overrides("x")
