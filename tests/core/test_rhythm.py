"""The rhythm of each beat (RR intervals from the beat annotations), the
rhythm option end to end, and the rule that nothing of a DS2 record reaches
training, validation, normalisation or the choice of the epoch."""
import numpy as np
import pytest
import torch

from core.config import RunConfig
from core.data import heartbeat as hb
from core.models import build_model
from core.workloads import heartbeat as hw
from tests.conftest import INTERPATIENT_RECORDS, write_record


def test_rr_intervals_from_known_beats():
    fs = 100.0
    # beats every 100 samples (1.0 s), then one early beat (0.5 s), then a compensatory pause (1.5 s)
    samples = np.array([0, 100, 200, 300, 400, 450, 600, 700])
    rr = hb.rr_intervals(samples, fs, local_beats=3)
    assert rr.shape == (8, 4) and rr.dtype == np.float32
    np.testing.assert_allclose(rr[:, 0], [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.5, 1.0])  # pre-RR (first takes its post)
    np.testing.assert_allclose(rr[:, 1], [1.0, 1.0, 1.0, 1.0, 0.5, 1.5, 1.0, 1.0])  # post-RR (last takes its pre)
    # local: mean pre-RR of the beat and the 2 before it (only the past)
    np.testing.assert_allclose(rr[:, 2], [1.0, 1.0, 1.0, 1.0, 1.0, 2.5 / 3, 3.0 / 3, 3.0 / 3])
    np.testing.assert_allclose(rr[:, 3], 700 / 7 / fs)  # the record's mean RR
    feats = hb.rhythm_features(rr)
    assert feats.shape == (8, len(hb.RHYTHM_FEATURES))
    np.testing.assert_allclose(feats[5, 4], 0.5 / 1.0, rtol=1e-6)  # the early beat: half the patient's mean
    np.testing.assert_allclose(feats[:, 4:], rr[:, :3] / rr[:, 3:4], rtol=1e-6)


def test_rr_intervals_refuse_what_has_no_interval():
    with pytest.raises(ValueError, match="at least 2 beat annotations"):
        hb.rr_intervals(np.array([10]), 360.0)


def test_rows_of_a_record_take_the_rhythm_of_their_own_beat(tmp_path):
    info = write_record(tmp_path, "200", n_beats=30, seed=2)
    x, y, starts = hb.beats_from_record(info["signal"], info["samples"], info["symbols"])
    rr = hb.rhythm_of_rows(starts, info["samples"], info["symbols"], 360.0)
    beat_samples = np.array([s for s, sym in zip(info["samples"], info["symbols"]) if sym in hb.AAMI])
    assert len(rr) == len(y) == len(beat_samples) - 1  # the last beat is dropped, its interval kept
    for row, s in enumerate(starts):  # the rhythm annotation '+' between beats is no beat
        k = int(np.flatnonzero(beat_samples == s)[0])
        assert rr[row, 1] == pytest.approx((beat_samples[k + 1] - s) / 360.0)
        if k:
            assert rr[row, 0] == pytest.approx((s - beat_samples[k - 1]) / 360.0)


def test_built_beats_keep_their_rhythm_and_the_cache_holds_it(interpatient_records_dir, tmp_path):
    meta = hb.prepare(interpatient_records_dir, tmp_path, log=lambda m: None)
    assert meta["rhythm"] is True
    beats = hb.load_beats(tmp_path)
    assert beats.rr.shape == (len(beats), 4) and (beats.rr > 0).all()
    assert beats.r_sample.shape == (len(beats),)
    part = beats.subset(np.arange(5))
    np.testing.assert_array_equal(part.rr, beats.rr[:5])


def test_an_old_cache_without_rhythm_is_rebuilt(interpatient_records_dir, tmp_path):
    import json

    meta = hb.prepare(interpatient_records_dir, tmp_path, log=lambda m: None)
    side = tmp_path / "cache" / f"heartbeat-{meta['key']}.json"
    old = json.loads(side.read_text())
    del old["rhythm"]
    side.write_text(json.dumps(old))
    said = []
    again = hb.prepare(interpatient_records_dir, tmp_path, log=said.append)
    assert again["reused"] is False and again["rhythm"] is True and "rhythm" in said[0]


def test_kaggle_beats_answer_a_rhythm_run_with_one_clear_line(kaggle_dir, tmp_path):
    hb.prepare(kaggle_dir, tmp_path, log=lambda m: None)
    cfg = RunConfig().replace(**{"data.rhythm": "rr"})
    with pytest.raises(ValueError, match=r"Kaggle's CSVs carry none.*prepare heartbeat") as err:
        hw._check_data(cfg, tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="Kaggle's CSVs carry none"):
        hw.load(cfg, tmp_path, torch.device("cpu"))


def test_rhythm_is_refused_for_a_workload_without_one():
    with pytest.raises(ValueError, match="titles workload's items have no rhythm"):
        RunConfig().replace(**{"data.workload": "titles", "model.name": "gru", "data.rhythm": "rr"})


@pytest.mark.parametrize("name", ["rnn", "gru-packed", "lstm-trimmed", "rnn-packed"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_variant_reads_the_rhythm_beside_the_beat(name, bidirectional):
    cfg = RunConfig().replace(**{"model.name": name, "model.bidirectional": bidirectional, "model.hidden_size": 8,
                                 "model.trim_steps": 5, "model.packed_impl": "pack" if name == "rnn-packed" else "reverse"})
    torch.manual_seed(0)
    model = build_model(cfg.model, num_classes=5, num_extra=7)
    x, lengths = torch.rand(4, 30), torch.tensor([30, 20, 11, 5])
    extra = torch.rand(4, 7)
    out = model(x, lengths, extra)
    assert out.shape == (4, 5)
    # the head reads the rhythm: changing it changes the logits, the beat alone does not suffice
    assert not torch.allclose(out, model(x, lengths, extra + 1))
    with pytest.raises(ValueError, match="reads 7 side features"):
        model(x, lengths)


def test_rhythm_standardisation_uses_training_statistics_only(interpatient_records_dir, tmp_path):
    """Nothing of a DS2 record reaches training, validation, the rhythm's
    standardisation or the epoch choice: poison every DS2 beat and the
    trained model, its history and its validation are unchanged."""
    from core.train import fit

    hb.prepare(interpatient_records_dir, tmp_path, log=lambda m: None)
    cfg = RunConfig().replace(**{"data.split": "inter-patient", "data.rhythm": "rr", "data.normalize": "zscore",
                                 "data.val_fraction": 0.25, "model.hidden_size": 8, "train.epochs": 2,
                                 "train.batch_size": 16, "train.device": "cpu"})

    def run(poison: bool):
        data = hw.load(cfg, tmp_path, torch.device("cpu"))
        ds1 = {int(r) for r in INTERPATIENT_RECORDS["DS1"]}
        ds2 = {int(r) for r in INTERPATIENT_RECORDS["DS2"]}
        assert set(np.unique(data.test_records)) == ds2
        if poison:  # DS2's beats and rhythm replaced by huge values: a leak would move every number below
            data.test.x.fill_(1e3)
            data.test.extra.fill_(1e3)
        result = fit(cfg, data.train, data.val, data.test, data.class_names)
        return result, ds1

    clean, ds1 = run(False)
    poisoned, _ = run(True)
    assert clean.history == poisoned.history or all(
        {k: v for k, v in a.items() if k != "epoch_seconds" and k != "samples_per_second"}
        == {k: v for k, v in b.items() if k != "epoch_seconds" and k != "samples_per_second"}
        for a, b in zip(clean.history, poisoned.history))
    assert clean.best_epoch == poisoned.best_epoch
    torch.testing.assert_close(clean.model.extra_mean, poisoned.model.extra_mean)
    torch.testing.assert_close(clean.model.extra_std, poisoned.model.extra_std)
    # the statistics are those of the training split
    data = hw.load(cfg, tmp_path, torch.device("cpu"))
    torch.testing.assert_close(clean.model.extra_mean, data.train.extra.mean(dim=0))


def test_a_rhythm_run_reports_aami_figures_per_record_and_its_validation_patients(interpatient_records_dir, home):
    """End to end through MLflow: SVEB/VEB figures and the 4-class macro-F1 are
    logged, the per-record table covers DS2, the validation patients are DS1
    ones, the weights reload (with their rhythm statistics) and reproduce the
    test predictions."""
    from core.workloads import get
    from experiments import runner
    from experiments.queries import list_runs, run_detail

    hb.prepare(interpatient_records_dir, home, log=lambda m: None)
    cfg = RunConfig().replace(**{"data.split": "inter-patient", "data.rhythm": "rr", "data.val_fraction": 0.25,
                                 "model.hidden_size": 8, "train.epochs": 1, "train.batch_size": 32,
                                 "train.device": "cpu"})
    summary = runner.run(cfg, home)
    d = run_detail(home, summary.run_id)
    m = d["metrics"]
    for key in ("test/recall_S", "test/precision_S", "test/recall_V", "test/precision_V", "test/f1_S",
                "test/macro_f1_core"):
        assert 0.0 <= m[key] <= 1.0, key
    rows = get("heartbeat").event_rows(m)
    assert [r["event"].split()[0] for r in rows] == ["SVEB", "VEB"]
    per_record = d["per_record"]["rows"]
    assert {r["group"] for r in per_record} == {int(n) for n in INTERPATIENT_RECORDS["DS2"]}
    beats = hb.load_beats(home)
    assert sum(r["items"] for r in per_record) == int(np.isin(beats.record, hb.DS2).sum())
    assert sum(r["SVEB"]["true"] for r in per_record) == int((np.isin(beats.record, hb.DS2) & (beats.y == 1)).sum())
    val = d["split"]["validation"]["records"]
    assert val and set(val) <= {int(n) for n in INTERPATIENT_RECORDS["DS1"]}
    assert not set(val) & set(d["split"]["train"]["records"])
    listed = list_runs(home)[0]
    assert listed["test/recall_S"] == m["test/recall_S"]
    loaded_cfg, model = runner.load_model(home, summary.run_id)
    assert loaded_cfg.data.rhythm == "rr" and model.num_extra == len(hb.RHYTHM_FEATURES)
    data = hw.load(cfg, home, torch.device("cpu"))
    with torch.no_grad():
        x = (data.test.x - float(d["tags"]["zscore.mean"])) / float(d["tags"]["zscore.std"]) if "zscore.mean" in d["tags"] else data.test.x
        pred = model(x, data.test.lengths, data.test.extra).argmax(1).numpy()
    assert (pred == data.test.y.numpy()).mean() == pytest.approx(m["test/accuracy"])


def test_square_root_sampler_draws_classes_by_the_root_of_their_counts():
    from core.samplers import get
    from core.train import inverse_frequency

    y = torch.tensor([0] * 100 + [1] * 4)
    w = get("sqrt").weights(y, inverse_frequency(y, 2))
    share = w[y == 1].sum() / w.sum()  # classes drawn in proportion to sqrt(count): 2 / (10 + 2)
    assert float(share) == pytest.approx(2 / 12)
    assert float(get("weighted").weights(y, inverse_frequency(y, 2))[y == 1].sum()
                 / get("weighted").weights(y, inverse_frequency(y, 2)).sum()) == pytest.approx(0.5)


def test_class_metrics_equal_scikit_learns_per_class_f1():
    from sklearn.metrics import f1_score

    from core import metrics as M
    from core import stats as ST
    from core.workloads import get

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 5, 400))
    cm = M.confusion_matrix(y_true, y_pred, 5)
    per_class = f1_score(y_true, y_pred, labels=range(5), average=None, zero_division=0)
    subsets = {k: idx for k, (_, idx) in get("heartbeat").class_metrics().items()}
    assert subsets == {"f1_S": (1,), "f1_V": (2,), "macro_f1_core": (0, 1, 2, 3)}
    scores = M.scores_from_counts(np.diag(cm)[None].astype(float), cm.sum(1)[None].astype(float),
                                  cm.sum(0)[None].astype(float), subsets)
    assert scores["f1_S"][0] == pytest.approx(per_class[1])
    assert scores["macro_f1_core"][0] == pytest.approx(per_class[:4].mean())
    assert M.subset_macro_f1(cm, list("NSVFQ"), "NSVF") == pytest.approx(per_class[:4].mean())
    observed, reps = ST.bootstrap_scores(y_true, {"a": y_pred}, 5, metrics=["f1_S"], n_boot=50, subsets=subsets)
    assert observed["a"]["f1_S"] == pytest.approx(per_class[1]) and reps["a"]["f1_S"].shape == (50,)
    events = M.event_scores(cm, list("NSVFQ"), [("S", "SVEB")])["SVEB"]
    assert events["se"] == pytest.approx(cm[1, 1] / cm[1].sum()) and events["pp"] == pytest.approx(cm[1, 1] / cm[:, 1].sum())


def test_the_p_wave_window_starts_before_the_r_peak_on_the_same_grid():
    # a ramp signal: each sample's value is its index, so a window's values name the samples it took
    signal = np.arange(2000, dtype=np.float64)
    samples = np.array([50, 400, 800, 1200, 1600])  # the first beat is closer to the record start than 0.3 s
    symbols = ["N", "N", "A", "N", "N"]
    x, y, starts = hb.beats_from_record(signal, samples, symbols)
    xp, yp, starts_p = hb.beats_from_record(signal, samples, symbols, pre=hb.PRE_R_SAMPLES)
    np.testing.assert_array_equal(starts, starts_p)
    np.testing.assert_array_equal(y, yp)
    lead = hb.PRE_R_SAMPLES // 3
    # the second beat: samples 292, 295, ... (every 3rd up to the R peak at 400), then 400 .. 400 + 1.2 * 400
    span = int(1.2 * 400)
    taken = np.concatenate([np.arange(400 - 3 * lead, 400, 3), np.arange(400, 400 + span, 3)])
    expected = (taken - taken.min()) / (taken.max() - taken.min())
    np.testing.assert_allclose(xp[1, :lead + 1], expected[:lead + 1], rtol=1e-6)
    assert xp[1, lead] == pytest.approx((400 - taken.min()) / (taken.max() - taken.min()))
    # the first beat has only 50 samples before it: zero-filled in front, the R peak still at step `lead`
    have = len(range(50 - 3 * (50 // 3), 50, 3))
    seg = np.concatenate([np.arange(50 - 3 * (50 // 3), 50, 3), np.arange(50, 50 + int(1.2 * 350), 3)])
    assert have == 16 and (xp[0, : lead - have] == 0).all()
    np.testing.assert_allclose(xp[0, lead - have : lead], (seg[:have] - seg.min()) / (seg.max() - seg.min()), rtol=1e-6)
    assert xp[0, lead] == pytest.approx((50 - seg.min()) / (seg.max() - seg.min()))
    # the default window is Kaggle's: it starts at the R peak
    assert x[1, 0] == 0.0 and x[1, 1] > 0


def test_a_p_wave_run_reads_the_windows_from_before_the_r_peak(interpatient_records_dir, tmp_path):
    meta = hb.prepare(interpatient_records_dir, tmp_path, log=lambda m: None)
    assert meta["p_wave"] is True
    beats = hb.load_beats(tmp_path)
    assert beats.x_p.shape == beats.x.shape
    cfg = RunConfig().replace(**{"data.split": "inter-patient", "data.window": "p-wave"})
    data = hw.load(cfg, tmp_path, torch.device("cpu"))
    plain = hw.load(cfg.replace(**{"data.window": "r-peak"}), tmp_path, torch.device("cpu"))
    assert data.test.x.shape == plain.test.x.shape
    assert not torch.equal(data.test.x, plain.test.x)
    assert "p-wave" in cfg.describe()


def test_kaggle_beats_answer_a_p_wave_run_with_one_clear_line(kaggle_dir, tmp_path):
    hb.prepare(kaggle_dir, tmp_path, log=lambda m: None)
    cfg = RunConfig().replace(**{"data.window": "p-wave"})
    with pytest.raises(ValueError, match=r"before the R peak.*prepare heartbeat") as err:
        hw._check_data(cfg, tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="--window r-peak"):
        hw.load(cfg, tmp_path, torch.device("cpu"))
    with pytest.raises(ValueError, match="data.window"):
        RunConfig().replace(**{"data.workload": "titles", "data.window": "p-wave"}).validate()
