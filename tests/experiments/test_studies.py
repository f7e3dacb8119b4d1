"""Study definitions: built-ins, YAML and Python files, grid and random search."""
import pytest

from experiments import studies as S


def test_builtin_studies_have_the_documented_sizes():
    arch = S.trials(S.builtin("architectures"), "heartbeat", seeds=3)
    assert len(arch) == 30
    assert {(t.config.model.name, t.config.model.bidirectional) for t in arch} == {
        (m, b) for m in ("rnn", "rnn-packed", "rnn-trimmed", "gru", "lstm") for b in (False, True)}
    assert sorted({t.seed for t in arch}) == [0, 1, 2] and {t.config.train.seed for t in arch} == {0, 1, 2}
    samplers = S.points(S.builtin("samplers"))
    assert [p.levels["imbalance"] for p in samplers] == ["none", "weighted sampler", "class-weighted loss",
                                                         "augmentation"]
    cfgs = [t.config for t in S.trials(S.builtin("samplers"), "heartbeat", seeds=1)]
    assert cfgs[1].train.sampler == "weighted" and cfgs[2].train.class_weighted_loss
    assert cfgs[3].data.noise_std > 0 and cfgs[0].data.noise_std == 0
    assert all(not c.model.bidirectional and c.model.name == "gru" for c in cfgs)
    # every arm starts from the classroom recipe and differs only in the factor
    assert all(c.data.normalize == "zscore" and c.data.sample == 0.3 and c.model.frame == 4 for c in cfgs)
    grid = S.trials(S.builtin("grid36"), "heartbeat", seeds=1)
    assert len(grid) == 36 and len({t.digest for t in grid}) == 36
    assert {t.config.model.head_activation for t in grid} == {"relu", "mish", "tanh"}
    assert {t.config.train.optimizer for t in grid} == {"adam", "adamw", "rmsprop"}
    titles = S.trials(S.builtin("title-models"), "heartbeat", seeds=1)
    assert {t.config.data.workload for t in titles} == {"titles"}
    assert [t.config.model.name for t in titles] == ["mlp", "rnn-packed", "gru-packed", "lstm-packed", "lstm-packed",
                                                     "tfidf"]
    with pytest.raises(ValueError, match="choose one of: architectures, samplers, grid36, title-models"):
        S.builtin("nope")


def test_command_line_options_apply_but_factors_win():
    study = S.builtin("architectures")
    trials = S.trials(study, "heartbeat", {"data.sample": 0.1, "model.hidden_size": 16, "model.name": "gru"}, seeds=1)
    assert all(t.config.data.sample == 0.1 and t.config.model.hidden_size == 16 for t in trials)
    assert len({t.config.model.name for t in trials}) == 5  # the factor, not the override
    assert "model.name" in S.varied_options(study) and "data.sample" not in S.varied_options(study)
    # the key names the exact set of runs
    assert S.study_key(study, trials) == S.study_key(study, S.trials(study, "heartbeat", {
        "data.sample": 0.1, "model.hidden_size": 16}, seeds=1))
    assert S.study_key(study, trials) != S.study_key(study, S.trials(study, "heartbeat", {"data.sample": 0.2}, seeds=1))


def test_yaml_study_grid(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(S.EXAMPLE_YAML)
    study = S.load_study(path)
    assert study.name == "my-study" and study.seeds == 3 and study.question == "imbalance"
    pts = S.points(study)
    assert len(pts) == 4
    assert pts[1].levels == {"model.bidirectional": "false", "imbalance": "weighted"}
    cfg = S.trials(study, "heartbeat", seeds=1)[1].config
    assert cfg.model.hidden_size == 32 and cfg.train.sampler == "weighted" and not cfg.model.bidirectional


def test_random_search_is_seeded_and_in_range(tmp_path):
    text = """
name: rs
search: random
trials: 6
seed: 4
base: {model.hidden_size: 8}
factors:
  train.lr: {loguniform: [1.0e-4, 1.0e-2]}
  model.hidden_size: {int: [4, 12]}
  model.name: [gru, lstm]
"""
    a, b = S.study_from_text(text), S.study_from_text(text)
    assert [p.overrides for p in S.points(a)] == [p.overrides for p in S.points(b)]
    assert len(S.points(a)) == 6
    for p in S.points(a):
        assert 1e-4 <= p.overrides["train.lr"] <= 1e-2 and 4 <= p.overrides["model.hidden_size"] <= 12
    other = S.study_from_text(text.replace("seed: 4", "seed: 5"))
    assert [p.overrides for p in S.points(other)] != [p.overrides for p in S.points(a)]
    # a draw that repeats a config is run once
    dup = S.study_from_text("name: d\nsearch: random\ntrials: 20\nfactors:\n  model.name: [gru, lstm]\n")
    assert len(S.trials(dup, "heartbeat", seeds=1)) == 2


def test_python_study_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("STUDY = {'name': 'py', 'factors': {'model.hidden_size': [4, 8]}, 'seeds': 2}\n")
    with pytest.raises(ValueError, match="is a Python file: running it would run its code"):
        S.load_study(path)  # a study file is data unless the caller says it may run code
    study = S.load_study(path, allow_code=True)
    assert [t.config.model.hidden_size for t in S.trials(study, "heartbeat")] == [4, 4, 8, 8]


@pytest.mark.parametrize("text, message", [
    ("name: x\nfactors:\n  hidden_size: [4, 8]\n", "did you mean model.hidden_size"),
    ("name: x\nfactors:\n  model.name: [gru, transformer]\n", "model.name='transformer' is not valid"),
    ("name: x\nbase: {model.hiden_size: 3}\nfactors:\n  model.name: [gru]\n", "unknown option 'model.hiden_size'"),
    ("name: x\nfactors:\n  train.lr: {loguniform: [1, 2]}\n", "needs search: random"),
    ("name: x\nsearch: random\nfactors:\n  model.name: [gru]\n", "random search needs trials"),
    ("name: x\nfactors:\n  model.name: [gru]\nseeds: 0\n", "seeds=0 must be between 1 and 100"),
    ("name: x\nfactors:\n  model.name: [gru]\nmetric: loss\n", "metric='loss'"),
    ("name: x\nfactors: {}\n", "factors must map"),
    ("name: x\nfactors:\n  model.name: [gru]\nepochs: 3\n", "unknown key(s) epochs"),
    ("name: x\nfactors:\n  seeds: {a: {train.seed: 3}}\n", "train.seed is set by the study's seeds"),
    ("name: [x\n", "not valid YAML (line 2)"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_study_file_errors_say_what_to_fix(text, message):
    with pytest.raises(ValueError) as err:
        study = S.study_from_text(text, "mine.yaml")
        S.trials(study, "heartbeat")
    assert message in str(err.value)


def test_missing_study_file(tmp_path):
    with pytest.raises(ValueError, match="no study file"):
        S.load_study(tmp_path / "none.yaml")


def test_builtin_studies_start_from_the_classroom_recipe_and_options_win():
    from core.presets import classroom

    recipe = classroom("heartbeat")
    cfg = S.trials(S.builtin("architectures"), "heartbeat", seeds=1)[0].config
    for key, value in recipe.items():
        section, name = key.split(".")
        assert getattr(getattr(cfg, section), name) == value, key
    cfg = S.trials(S.builtin("architectures"), "heartbeat", {"train.epochs": 2}, seeds=1)[0].config
    assert cfg.train.epochs == 2 and cfg.data.sample == recipe["data.sample"]
    # a study file starts from the defaults unless it asks for the recipe
    plain = S.study_from_text("name: x\nfactors: {model.bidirectional: [false, true]}\n")
    assert S.trials(plain, "heartbeat", seeds=1)[0].config.data.sample == 1.0
    asked = S.study_from_text("name: x\nrecipe: classroom\nfactors: {model.bidirectional: [false, true]}\n")
    assert S.trials(asked, "heartbeat", seeds=1)[0].config.data.sample == recipe["data.sample"]
    with pytest.raises(ValueError, match="recipe="):
        S.study_from_text("name: x\nrecipe: fancy\nfactors: {model.bidirectional: [false, true]}\n")


def test_the_cli_and_the_dashboard_refuse_a_study_by_the_same_checks(tmp_path):
    from dashboard import study_services as ss

    study = S.builtin("title-models")  # a titles study
    with pytest.raises(S.WrongWorkload, match="is for the titles workload"):
        S.checked_trials(study, "heartbeat", {}, 1, tmp_path)
    with pytest.raises(ValueError, match="the titles data is not prepared in"):
        S.checked_trials(study, None, {}, 1, tmp_path)
    with pytest.raises(S.WrongWorkload):
        ss.launch_study(str(tmp_path), "title-models", "", "heartbeat", 0.1, 1, 1, 1)
    with pytest.raises(ValueError, match="the titles data is not prepared in"):
        ss.launch_study(str(tmp_path), "title-models", "", "titles", 0.1, 1, 1, 1)


def test_the_study_line_counts_the_seeds_the_command_asked_for():
    assert "4 configs (grid) x 3 seeds." in S.describe(S.SAMPLERS)
    assert "4 configs (grid) x 2 seeds." in S.describe(S.SAMPLERS, 2)
    assert "x 1 seed." in S.describe(S.SAMPLERS, 1)
