"""The one table of run options: every option has a help text, its choices
and bounds agree with RunConfig's validation, and the CLI prints the same
help as the New run form shows."""
import typing

import pytest

from core import config as C
from core import options as O


def test_every_option_is_declared_with_a_help_text():
    missing = [k for k in C.option_names() if k not in O.OPTIONS or not O.OPTIONS[k].help]
    assert missing == []
    assert set(O.OPTIONS) == set(C.option_names())  # nothing declared that the config lacks


def _typ(key: str):
    section, name = key.split(".", 1)
    return typing.get_type_hints(C.SECTIONS[section])[name]


@pytest.mark.parametrize("key", [k for k, o in O.OPTIONS.items() if o.low is not None])
def test_widget_bounds_are_valid_values(key):
    opt = O.OPTIONS[key]
    typ = _typ(key)
    base = C.RunConfig().replace(**{"train.epochs": 10_000}) if key == "train.warmup_epochs" else C.RunConfig()
    if key.startswith("data.") and "titles" not in opt.workloads or key in ("model.trim_steps", "model.frame"):
        base = base.replace(**{"data.workload": "heartbeat"})
    for value in (opt.low, opt.high):
        base.replace(**{key: typ(value)})  # no ValueError
    if typ is int:  # integer bounds start where the config's do
        with pytest.raises(ValueError):
            base.replace(**{key: int(opt.low) - 1})


NUMERIC = [k for k in C.option_names() if _typ(k) in (int, float)]


@pytest.mark.parametrize("key", NUMERIC)
def test_every_numeric_option_is_bounded_above_with_a_message(key):
    """No numeric option takes any value (--noise-std 1e30 trained): the
    table declares both bounds, and far past the upper one the config
    refuses it, naming the option and its range."""
    opt = O.OPTIONS[key]
    assert opt.low is not None and opt.high is not None, key
    base = C.RunConfig().replace(**{"data.workload": "titles" if opt.workloads == O.TITLES else "heartbeat"})
    huge = int(opt.high) * 1000 + 1000 if _typ(key) is int else opt.high * 1000 + 1000
    with pytest.raises(ValueError, match=rf"^{key}=\S+ (must be|is too large)") as err:
        base.replace(**{key: huge})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key", [k for k in NUMERIC if _typ(k) is int])
def test_integer_widget_bounds_are_the_configs_bounds(key):
    """For whole-number options the table's upper bound is the config's own:
    one step past it is refused (the form and the CLI offer the same range)."""
    if key in ("data.split_seed", "train.seed"):
        assert O.OPTIONS[key].high == C.MAX_SEED
    base = C.RunConfig().replace(**{"data.workload": "heartbeat"})
    if key == "model.embedding_dim":
        base = base.replace(**{"data.workload": "titles"})
    with pytest.raises(ValueError):
        base.replace(**{key: int(O.OPTIONS[key].high) + 1})


@pytest.mark.parametrize("key", [k for k, o in O.OPTIONS.items() if o.choices])
def test_every_choice_is_valid_for_the_config(key):
    opt = O.OPTIONS[key]
    workload = opt.workloads[0]
    for value in opt.choices:
        if key == "model.name" and value in C.TEXT_ONLY_NAMES:
            workload = "titles"
        C.RunConfig().replace(**{"data.workload": workload, key: value})


def test_workload_filters_options():
    beats = {o.key for o in O.for_workload("heartbeat")}
    titles = {o.key for o in O.for_workload("titles")}
    assert "data.normalize" in beats and "data.normalize" not in titles
    assert "model.word_vectors" in titles and "model.word_vectors" not in beats
    assert "data.workload" not in beats | titles
    assert O.choices_for("model.name", "heartbeat") == C.RECURRENT_NAMES
    assert "tfidf" in O.choices_for("model.name", "titles")
    with pytest.raises(ValueError, match="choose one of: heartbeat, titles"):
        O.for_workload("audio")


def test_cli_help_is_the_tables_help():
    from experiments.__main__ import build_parser

    parser = build_parser()
    run = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" run"))
    helps = {a.dest: a.help for a in run._actions}
    for key, opt in O.OPTIONS.items():
        if key == "data.workload":
            continue
        assert opt.help.replace("%", "%%") in helps[key], key
    assert "one of none, word2vec, fasttext" in helps["model.word_vectors"]


def test_describe_names_sampler_weighted_loss_and_zscore():
    cfg = C.RunConfig().replace(**{"train.sampler": "weighted", "train.class_weighted_loss": True,
                                   "data.normalize": "zscore"})
    text = cfg.describe()
    assert "weighted sampler" in text and "class-weighted loss" in text and "z-score" in text
    assert C.RunConfig().describe() == "gru 1x64"


def test_describe_tells_an_augmented_arm_from_a_plain_one():
    plain = C.RunConfig()
    for aug in ({"data.noise_std": 0.05}, {"data.scale_range": 0.1}, {"data.max_shift": 5}):
        text = plain.replace(**aug).describe()
        assert "augmentation" in text and text != plain.describe()
    assert "augmentation" not in plain.describe()
