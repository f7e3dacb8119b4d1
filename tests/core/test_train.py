import numpy as np
import pytest
import torch

from core.config import DataConfig, RunConfig, TrainConfig
from core.tracking import MemoryTracker
from core.train import (TensorSplit, augment_batch, evaluate, fit, inverse_frequency, make_batches, resolve_device,
                        apply_zscore, zscore_stats)
from tests.conftest import synthetic_beats

CLASSES = ["N", "S", "V", "F", "Q"]


def _splits(n=(300, 80, 80), seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for size in n:
        x, y = synthetic_beats(size, rng, steps=60)
        from core.data.heartbeat import true_lengths

        out.append(TensorSplit.from_arrays(x, true_lengths(x), y, torch.device("cpu")))
    return out


def test_fit_logs_every_epoch_and_reports(tiny_config):
    tracker = MemoryTracker()
    train, val, test = _splits()
    result = fit(tiny_config, train, val, test, CLASSES, tracker=tracker)
    assert [step for step, _ in tracker.metrics] == [1, 2]
    keys = {"train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1", "epoch_seconds", "samples_per_second"}
    assert keys <= set(tracker.metrics[0][1])
    assert result.test.cm.sum() == len(test) and result.test.probs.shape == (len(test), 5)
    assert set(CLASSES) <= set(result.report)
    assert 1 <= result.best_epoch <= 2


def test_training_learns_the_synthetic_task():
    cfg = RunConfig(train=TrainConfig(epochs=15, batch_size=16, lr=1e-2, device="cpu"),
                    model=RunConfig().model.__class__(name="gru-packed", hidden_size=16))
    train, val, test = _splits()
    result = fit(cfg, train, val, test, CLASSES)
    assert result.history[-1]["train/loss"] < result.history[0]["train/loss"]
    assert result.test.metrics["accuracy"] > 0.9  # the majority class alone gives about 0.6


def test_interrupted_fit_resumes_to_the_same_result(tiny_config, tmp_path):
    cfg = tiny_config.replace(**{"train.epochs": 3, "model.dropout": 0.2, "model.num_layers": 2, "data.noise_std": 0.01,
                                 "train.sampler": "weighted", "train.schedule": "onecycle"})
    train, val, test = _splits()
    whole = fit(cfg, train, val, test, CLASSES)

    ckpt = tmp_path / "run.pt"

    def stop_after_two(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(cfg, train, val, test, CLASSES, checkpoint=ckpt, on_epoch=stop_after_two)
    resumed = fit(cfg, train, val, test, CLASSES, checkpoint=ckpt)
    assert resumed.resumed_from == 2
    assert len(resumed.history) == 3
    for a, b in zip(whole.history, resumed.history):
        assert a["train/loss"] == pytest.approx(b["train/loss"], rel=1e-5)
        assert a["val/loss"] == pytest.approx(b["val/loss"], rel=1e-5)
    np.testing.assert_array_equal(whole.test.y_pred, resumed.test.y_pred)
    state = torch.load(ckpt, weights_only=True)  # no pickle needed
    assert "model" in state


def test_early_stopping_and_restore_best(tiny_config):
    cfg = tiny_config.replace(**{"train.epochs": 30, "train.early_stopping": 2, "train.lr": 1e-9, "train.monitor": "macro_f1"})
    train, val, test = _splits()
    result = fit(cfg, train, val, test, CLASSES)
    assert result.stopped_early and len(result.history) < 30
    assert len(result.history) == 3  # epoch 1 is best; 2 and 3 do not improve
    best = result.best_epoch
    assert best == 1
    ev = evaluate(result.model, val, 5)
    assert ev.loss == pytest.approx(result.history[best - 1]["val/loss"], rel=1e-5)


@pytest.mark.parametrize("option", [
    {"train.optimizer": "adamw", "train.weight_decay": 0.01},
    {"train.optimizer": "sgd", "train.schedule": "cosine"},
    {"train.optimizer": "rmsprop", "train.grad_clip": 0.5},
    {"train.label_smoothing": 0.1, "train.class_weighted_loss": True},
    {"train.bucket": True, "data.normalize": "zscore"},
    {"data.max_shift": 5, "data.scale_range": 0.2},
    {"model.name": "lstm-trimmed", "model.bidirectional": True, "model.head_hidden": 8},
    {"model.frame": 4, "model.readout": "end", "train.bucket": True, "model.bidirectional": True},
    {"train.precision": "bf16", "model.name": "gru-packed", "model.packed_impl": "reverse"},
])
def test_options_train(tiny_config, option):
    train, val, test = _splits(n=(100, 40, 40))
    result = fit(tiny_config.replace(**option), train, val, test, CLASSES)
    assert all(np.isfinite(r["train/loss"]) for r in result.history)


def test_weighted_sampler_balances_classes():
    y = torch.tensor([0] * 900 + [1] * 100)
    weights = inverse_frequency(y, 2)[y]
    g = torch.Generator().manual_seed(0)
    drawn = torch.cat(make_batches(len(y), 100, g, weights=weights))
    share = (y[drawn] == 1).float().mean().item()
    assert 0.4 < share < 0.6 and len(drawn) == len(y)
    again = torch.cat(make_batches(len(y), 100, torch.Generator().manual_seed(0), weights=weights))
    assert torch.equal(drawn, again)


def test_bucketed_batches_cover_everything_once():
    lengths = torch.randint(1, 100, (1000,))
    batches = make_batches(1000, 32, torch.Generator().manual_seed(1), lengths=lengths)
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    spread = np.mean([(lengths[b].max() - lengths[b].min()).item() for b in batches])
    assert spread < 20  # similar lengths in a batch


def test_augmentation_keeps_padding_and_shapes():
    x = torch.zeros(4, 50)
    lengths = torch.tensor([50, 30, 10, 1])
    for i, n in enumerate(lengths):
        x[i, :n] = 0.5
    g = torch.Generator().manual_seed(0)
    out, new_len = augment_batch(x, lengths, DataConfig(noise_std=0.1, scale_range=0.2, max_shift=5), g)
    assert out.shape == x.shape and ((new_len >= 1) & (new_len <= 50)).all()
    mask = torch.arange(50)[None, :] >= new_len[:, None]
    assert (out[mask] == 0).all(), "padding stays zero"
    assert not torch.equal(out, x)


def test_zscore_uses_valid_steps_only():
    x = torch.tensor([[1.0, 3.0, 0.0], [2.0, 0.0, 0.0]])
    split = TensorSplit(x, torch.tensor([2, 1]), torch.tensor([0, 1]))
    mean, std = zscore_stats(split)
    assert mean == pytest.approx(2.0)
    z = apply_zscore(split, mean, std)
    assert z.x[0, 2] == 0 and z.x[1, 1] == 0


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_diverging_loss_is_a_clear_error(tiny_config):
    train, val, test = _splits(n=(100, 40, 40))
    train.x[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(tiny_config, train, val, test, CLASSES)


def test_warmup_cosine_schedule_rises_then_decays_to_zero():
    from core.config import TrainConfig
    from core.train import make_scheduler

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    sched = make_scheduler(opt, TrainConfig(epochs=4, lr=4e-3, schedule="warmup-cosine", warmup_epochs=1.0), steps_per_epoch=10)
    lrs = []
    for _ in range(40):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(4e-4)  # first of ten warm-up steps
    assert max(lrs) == pytest.approx(4e-3) and lrs.index(max(lrs)) in (9, 10)
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] < 1e-4


def test_frame_stacking_learns_the_synthetic_task():
    cfg = RunConfig(train=TrainConfig(epochs=15, batch_size=16, lr=1e-2, device="cpu", bucket=True),
                    model=RunConfig().model.__class__(name="gru", hidden_size=16, frame=4, readout="end"))
    train, val, test = _splits()
    result = fit(cfg, train, val, test, CLASSES)
    assert result.test.metrics["accuracy"] > 0.9


def test_bf16_autocast_runs_the_model_in_bfloat16_and_reports_fp32():
    from core.models import build_model
    from core.train import autocast

    model = build_model(RunConfig().model.__class__(name="gru", hidden_size=8, head_hidden=4))
    x, lengths = torch.randn(3, 10), torch.tensor([10, 5, 1])
    with autocast(x.device, "bf16"):
        inner = model.head.net[0](torch.randn(3, 8))  # a linear layer under autocast
    assert inner.dtype == torch.bfloat16
    with autocast(x.device, "fp32"):
        assert model(x, lengths).dtype == torch.float32
    train, val, test = _splits(n=(100, 40, 40))
    cfg = RunConfig(train=TrainConfig(epochs=1, batch_size=32, device="cpu", precision="bf16"))
    result = fit(cfg, train, val, test, CLASSES)
    assert result.test.probs.dtype == np.float32 and np.isfinite(result.history[0]["train/loss"])


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_is_fused_and_updates_like_the_unfused_one(optimizer):
    from core.config import TrainConfig
    from core.train import make_optimizer

    torch.manual_seed(0)
    model = torch.nn.GRU(3, 8, batch_first=True)
    twin = torch.nn.GRU(3, 8, batch_first=True)
    twin.load_state_dict(model.state_dict())
    tc = TrainConfig(optimizer=optimizer, lr=1e-2, weight_decay=0.01)
    fused = make_optimizer(model, tc)
    assert fused.defaults["fused"] is True
    cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    reference = cls(twin.parameters(), lr=1e-2, weight_decay=0.01, foreach=False)
    x = torch.randn(4, 5, 3)
    for _ in range(5):
        for m, opt in ((model, fused), (twin, reference)):
            opt.zero_grad()
            m(x)[0].square().mean().backward()
            opt.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_fit_flushes_denormals_on_cpu_and_restores_the_setting(tiny_config):
    from core.train import flush_denormals, flushing_denormals

    train, val, test = _splits()
    seen = []
    assert not flushing_denormals()
    fit(tiny_config, train, val, test, CLASSES, on_epoch=lambda epoch, metrics: seen.append(flushing_denormals()))
    assert seen and all(seen)
    assert not flushing_denormals()  # back to the default after the run
    torch.set_flush_denormal(True)
    try:
        with flush_denormals(torch.device("cpu")):
            pass
        assert flushing_denormals()  # a setting made before is kept
    finally:
        torch.set_flush_denormal(False)
