import pytest
from hypothesis import given, settings, strategies as st

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig, option_names
from core.config import RECURRENT_NAMES


def test_defaults_are_valid_and_round_trip():
    cfg = RunConfig()
    assert RunConfig.from_params(cfg.to_params()) == cfg
    assert all(isinstance(v, str) for v in cfg.to_params().values())


configs = st.builds(
    RunConfig,
    data=st.builds(DataConfig, sample=st.floats(0.001, 1.0), val_fraction=st.floats(0.01, 0.9),
                   split_seed=st.integers(0, 2**31), normalize=st.sampled_from(["none", "zscore"]),
                   noise_std=st.floats(0, 1), scale_range=st.floats(0, 0.99), max_shift=st.integers(0, 50),
                   split=st.sampled_from(["intra-patient", "inter-patient"])),
    model=st.builds(ModelConfig, name=st.sampled_from(RECURRENT_NAMES), hidden_size=st.integers(1, 512),
                    num_layers=st.integers(1, 4), bidirectional=st.booleans(), dropout=st.floats(0, 0.9),
                    trim_steps=st.integers(0, 100), head_hidden=st.integers(0, 256),
                    head_activation=st.sampled_from(["relu", "mish", "tanh"]), head_dropout=st.floats(0, 0.9)),
    train=st.builds(TrainConfig, epochs=st.integers(1, 100), batch_size=st.integers(1, 4096),
                    optimizer=st.sampled_from(["adam", "adamw", "sgd", "rmsprop"]), lr=st.floats(1e-6, 1.0),
                    weight_decay=st.floats(0, 1), grad_clip=st.floats(0, 10), label_smoothing=st.floats(0, 0.5),
                    class_weighted_loss=st.booleans(), sampler=st.sampled_from(["none", "weighted"]),
                    bucket=st.booleans(), early_stopping=st.integers(0, 10), seed=st.integers(0, 2**31)),
)


@settings(max_examples=60, deadline=None)
@given(configs)
def test_from_params_inverts_to_params(cfg):
    assert RunConfig.from_params(cfg.to_params()) == cfg


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(option_names()), st.text(max_size=20), max_size=6))
def test_from_params_on_arbitrary_text_gives_a_config_or_a_value_error(params):
    try:
        cfg = RunConfig.from_params(params)
    except ValueError as exc:
        assert str(exc)  # a message, never another exception type
    else:
        assert RunConfig.from_params(cfg.to_params()) == cfg


def test_unknown_model_lists_valid_choices():
    with pytest.raises(ValueError, match="model.name='transformer' is not valid; choose one of: rnn, rnn-packed"):
        ModelConfig(name="transformer").validate()
    with pytest.raises(ValueError, match="model.name"):
        RunConfig(model=ModelConfig(name="transformer"))


@pytest.mark.parametrize("override, message", [
    ({"model.hidden_size": -4}, "hidden_size=-4 must be a positive integer"),
    ({"data.sample": 0}, "data.sample=0.0 must be in"),
    ({"data.sample": 1.5}, "data.sample=1.5"),
    ({"train.optimizer": "adagrad"}, "choose one of: adam, adamw, sgd, rmsprop"),
    ({"train.lr": "fast"}, "train.lr='fast' is not a valid float"),
    ({"train.epochs": "nan"}, "train.epochs='nan' is not a valid int"),
    ({"train.lr": "inf"}, "not a valid float"),
    ({"model.bidirectional": "maybe"}, "not a valid bool"),
    ({"nonsense.key": 1}, "unknown option 'nonsense.key'"),
])
def test_impossible_configs_name_the_option(override, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        RunConfig().replace(**override)


def test_wrong_python_types_are_refused():
    with pytest.raises(ValueError, match="must be a int"):
        RunConfig(model=ModelConfig(hidden_size="64"))
    with pytest.raises(ValueError, match="model.bidirectional"):
        RunConfig(model=ModelConfig(bidirectional="yes"))


def test_ints_are_accepted_for_floats_and_digest_is_stable():
    cfg = RunConfig(data=DataConfig(sample=1))
    assert cfg.data.sample == 1.0 and isinstance(cfg.data.sample, float)
    assert cfg.digest() == RunConfig(data=DataConfig(sample=1.0)).digest()
    assert cfg.digest() != cfg.replace(**{"train.seed": 1}).digest()


def test_from_params_ignores_other_params_and_uses_defaults():
    cfg = RunConfig.from_params({"model.name": "lstm", "other": "x"})
    assert cfg.model.name == "lstm" and cfg.train == TrainConfig()


def test_workload_specific_options_are_checked():
    from core.config import DataConfig, ModelConfig

    with pytest.raises(ValueError, match="'mlp' is for the titles workload"):
        RunConfig(model=ModelConfig(name="mlp"))
    with pytest.raises(ValueError, match="data.max_shift apply to the heartbeat workload only"):
        RunConfig(data=DataConfig(workload="titles", max_shift=3))
    cfg = RunConfig(data=DataConfig(workload="titles", reliable_only=True), model=ModelConfig(name="tfidf"))
    assert RunConfig.from_params(cfg.to_params()) == cfg


def test_config_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from core.config import RunConfig; RunConfig.from_params({'model.name': 'lstm-packed'}); "
            "from core import presets; presets.apply_preset('fast'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


def test_split_option_defaults_refuses_titles_and_reads_old_runs():
    old_run = {k: v for k, v in RunConfig().to_params().items() if k != "data.split"}  # recorded before the option
    assert RunConfig.from_params(old_run).data.split == "intra-patient"
    cfg = RunConfig(data=DataConfig(split="inter-patient"))
    assert RunConfig.from_params(cfg.to_params()) == cfg and cfg.to_params()["data.split"] == "inter-patient"
    assert cfg.describe().endswith("inter-patient") and "patient" not in RunConfig().describe()
    with pytest.raises(ValueError, match="data.split='by-beat' is not valid; choose one of: intra-patient, inter-patient"):
        DataConfig(split="by-beat").validate()
    with pytest.raises(ValueError, match="data.split apply to the heartbeat workload only"):
        RunConfig(data=DataConfig(workload="titles", split="inter-patient"), model=ModelConfig(name="mlp"))
