"""The words a class reads, derived from the registries."""
from core import cells, options, samplers, words
from core.config import MODEL_NAMES, option_names


def test_every_registered_thing_has_a_label_and_an_idea():
    assert all(c.label and c.explain for c in cells.REGISTRY.values())
    assert all(s.words and s.explain for s in samplers.REGISTRY.values())
    for key in option_names():
        opt = options.option(key)
        assert opt.label and opt.idea and "--" not in opt.idea, key  # the idea, never a flag


def test_models_and_configs_in_words():
    assert words.model_words("gru", True) == "GRU, both directions"
    assert words.model_words("rnn-packed") == "simple RNN, packed"
    assert words.model_words("lstm-trimmed", True) == "LSTM, trimmed, both directions"
    assert all(words.model_words(m) != m for m in MODEL_NAMES)  # every model has words
    assert words.config_name({"train.sampler": "weighted"}) == "weighted sampler"
    assert words.config_name({}) == words.BASELINE == "no imbalance handling"
    assert words.config_name({"train.class_weighted_loss": True}) == "class-weighted loss"
    assert words.config_name({"data.noise_std": 0.02, "data.max_shift": 5}) == "augmentation"
    assert words.config_name({"model.hidden_size": 64}) == "memory size 64"
    # a named level's own name for options without words of their own
    assert words.config_name({"train.lr": 1e-3, "train.optimizer": "adam"},
                             {"train.lr": "adam 1e-3", "train.optimizer": "adam 1e-3"}) == "adam 1e-3"
    assert "gradient" not in words.explain({"model.name": "gru"}) and "gates" in words.explain({"model.name": "gru"})


def test_run_names_say_the_model_then_what_it_adds():
    name = words.run_name({"model.name": "lstm", "model.bidirectional": "true", "model.num_layers": "1",
                           "model.hidden_size": "64", "model.frame": "4", "data.normalize": "zscore",
                           "train.sampler": "weighted"})
    assert name == "LSTM, both directions · memory 64 · weighted sampler · standardised · 4 samples a step"


def test_builtin_study_configs_read_as_a_teacher_says_them():
    from experiments import studies as S
    from experiments.study_report import builtin_base, config_names

    names = config_names(S.builtin("architectures"))
    assert names["gru · bidirectional=true"] == "GRU, both directions"
    assert names["rnn-packed · bidirectional=false"] == "simple RNN, packed"
    assert list(config_names(S.builtin("samplers")).values()) == [
        "no imbalance handling", "weighted sampler", "class-weighted loss", "augmentation"]
    assert len(set(config_names(S.builtin("grid36")).values())) == 36  # every grid config its own name
    # a one-click comparison of some arms finds the study its reference runs are recorded under
    from dashboard import comparison_services as cs

    sub = cs.comparison_study(S.builtin("architectures"), ["gru · bidirectional=true", "lstm · bidirectional=true"],
                              "my lesson")
    assert builtin_base(sub, "heartbeat") == "architectures"
    assert builtin_base(cs.comparison_study(S.builtin("samplers"), [a["label"] for a in cs.arms(S.builtin(
        "samplers"))], "x"), "heartbeat") == "samplers"
    assert builtin_base(S.Study(name="own", factors=(S._values("model.hidden_size", [8, 16]),))) is None


def test_the_rhythm_in_words():
    from core import options as O
    from core import words

    assert O.option("data.rhythm").label == "beat's rhythm" and "rr" not in O.option("data.rhythm").idea
    assert words.config_name({"model.name": "gru", "data.rhythm": "rr"}) == "GRU, beat + rhythm"
    assert words.run_name({"model.name": "gru", "data.rhythm": "rr", "data.split": "inter-patient"}).endswith(
        "new patients · beat + rhythm")
