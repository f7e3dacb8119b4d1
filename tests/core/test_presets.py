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


def test_fast_and_notebook_train_the_same_model_differently():
    fast, notebook = apply_preset("fast"), apply_preset("notebook")
    same = ("name", "bidirectional", "num_layers", "hidden_size")
    assert all(getattr(fast.model, k) == getattr(notebook.model, k) for k in same)
    assert (notebook.train.batch_size, notebook.train.lr, notebook.train.bucket) == (128, 1e-3, False)
    assert (fast.train.batch_size, fast.train.bucket, fast.model.readout) == (512, True, "end")


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'x'; choose one of: quick-look"):
        preset_overrides("x")
