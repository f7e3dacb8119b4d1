import pytest
import torch

from core.config import RECURRENT_NAMES, ModelConfig
from core.models import build_model, count_parameters, list_models, neural_models

ALL = [(name, bi) for name in RECURRENT_NAMES for bi in (False, True)]


def _batch(B=6, T=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, T, generator=g)
    lengths = torch.tensor([30, 12, 1, 25, 7, 30])[:B]
    x = x * (torch.arange(T)[None, :] < lengths[:, None])
    return x, lengths


@pytest.mark.parametrize("name, bi", ALL)
def test_shapes_and_gradients_on_every_parameter(name, bi):
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, hidden_size=8, num_layers=2, bidirectional=bi, dropout=0.1, trim_steps=5,
                      head_hidden=6, head_activation="mish", head_dropout=0.1)
    model = build_model(cfg, num_features=1, num_classes=5)
    x, lengths = _batch()
    logits = model(x, lengths)
    assert logits.shape == (6, 5)
    assert torch.isfinite(logits).all()
    logits.logsumexp(-1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"no gradient reaches {pname}"


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bi", [False, True])
def test_packed_equals_padded_on_unpadded_input(cell, bi):
    torch.manual_seed(0)
    padded = build_model(ModelConfig(name=cell, hidden_size=8, num_layers=2, bidirectional=bi))
    packed = build_model(ModelConfig(name=f"{cell}-packed", hidden_size=8, num_layers=2, bidirectional=bi))
    packed.load_state_dict(padded.state_dict())
    x = torch.rand(4, 20)
    full = torch.full((4,), 20)
    torch.testing.assert_close(packed(x, full), padded(x, full))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_packed_ignores_padding_but_padded_does_not(cell):
    torch.manual_seed(0)
    packed = build_model(ModelConfig(name=f"{cell}-packed", hidden_size=8))
    padded = build_model(ModelConfig(name=cell, hidden_size=8))
    x = torch.rand(2, 20)
    lengths = torch.tensor([10, 15])
    longer = torch.cat([x, torch.zeros(2, 30)], dim=1)  # more padding
    torch.testing.assert_close(packed(x, lengths), packed(longer, lengths))
    assert not torch.allclose(padded(x, lengths), padded(longer, lengths))


def test_trimmed_drops_trailing_steps():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru-trimmed", hidden_size=8, trim_steps=5))
    x = torch.rand(3, 20)
    changed = x.clone()
    changed[:, 15:] = 9.0  # only the dropped steps differ
    lengths = torch.full((3,), 20)
    torch.testing.assert_close(model(x, lengths), model(changed, lengths))
    changed[:, 14] = 9.0
    assert not torch.allclose(model(x, lengths), model(changed, lengths))


def test_multifeature_input_and_head_without_hidden_layer():
    model = build_model(ModelConfig(name="lstm-packed", hidden_size=4, bidirectional=True), num_features=3, num_classes=7)
    out = model(torch.rand(5, 9, 3), torch.tensor([9, 1, 4, 0, 9]))  # a 0 length is read as 1
    assert out.shape == (5, 7)
    assert count_parameters(model) > 0


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown model 'cnn'"):
        build_model(_raw_cfg("cnn"))  # bypasses validation, as a stale caller could
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_model(ModelConfig(), num_classes=1)


def _raw_cfg(name):
    cfg = ModelConfig()
    object.__setattr__(cfg, "name", name)
    return cfg


@pytest.mark.parametrize("name", neural_models())
def test_text_models_read_token_ids(name):
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, hidden_size=8, embedding_dim=6, bidirectional=True, head_hidden=4, head_dropout=0.2)
    model = build_model(cfg, num_classes=11, vocab_size=50)
    ids = torch.randint(2, 50, (5, 7))
    lengths = torch.tensor([7, 3, 1, 5, 2])
    ids = ids * (torch.arange(7)[None, :] < lengths[:, None])  # [PAD] = 0 after the end
    logits = model(ids, lengths)
    assert logits.shape == (5, 11)
    logits.sum().backward()
    assert model.embedding.weight.grad is not None
    assert model.embedding.weight.grad[0].abs().sum() == 0, "[PAD] gets no gradient"


def test_mlp_ignores_padding_and_frozen_vectors_stay():
    torch.manual_seed(0)
    init = torch.randn(30, 6)
    cfg = ModelConfig(name="mlp", hidden_size=8, embedding_dim=6, freeze_embeddings=True)
    model = build_model(cfg, num_classes=3, vocab_size=30, embedding_init=init)
    ids = torch.tensor([[5, 6, 0, 0]])
    torch.testing.assert_close(model(ids, torch.tensor([2])), model(ids[:, :2], torch.tensor([2])))
    assert not model.embedding.weight.requires_grad
    torch.testing.assert_close(model.embedding.weight[1:], init[1:])
    with pytest.raises(ValueError, match="expected \\(30, 4\\)"):
        build_model(ModelConfig(name="mlp", embedding_dim=4), num_classes=3, vocab_size=30, embedding_init=init)


def test_tfidf_and_mlp_need_the_titles_workload():
    with pytest.raises(ValueError, match="not a neural one"):
        build_model(ModelConfig(name="tfidf"), num_classes=3, vocab_size=10)
    with pytest.raises(ValueError, match="needs a vocabulary"):
        build_model(ModelConfig(name="mlp"), num_classes=3)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bi", [False, True])
def test_end_readout_equals_final_state_on_unpadded_input(cell, bi):
    torch.manual_seed(0)
    final = build_model(ModelConfig(name=cell, hidden_size=6, bidirectional=bi, num_layers=2)).eval()
    end = build_model(ModelConfig(name=cell, hidden_size=6, bidirectional=bi, num_layers=2, readout="end")).eval()
    end.load_state_dict(final.state_dict())
    x = torch.randn(4, 9)
    full = torch.full((4,), 9)
    torch.testing.assert_close(end(x, full), final(x, full))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_end_readout_reads_the_true_end_like_packing(cell):
    torch.manual_seed(0)
    end = build_model(ModelConfig(name=cell, hidden_size=5, readout="end")).eval()
    packed = build_model(ModelConfig(name=f"{cell}-packed", hidden_size=5)).eval()
    packed.load_state_dict(end.state_dict())
    x = torch.randn(3, 10)
    lengths = torch.tensor([10, 6, 2])
    x[1, 6:] = 0.0
    x[2, 2:] = 0.0
    torch.testing.assert_close(end(x, lengths), packed(x, lengths))
    # the padded reading differs once there is padding to read
    final = build_model(ModelConfig(name=cell, hidden_size=5)).eval()
    final.load_state_dict(end.state_dict())
    assert not torch.allclose(final(x, lengths)[1:], end(x, lengths)[1:])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bi", [False, True])
def test_reverse_packing_equals_pack_padded_sequence(cell, bi):
    torch.manual_seed(0)
    packed = build_model(ModelConfig(name=f"{cell}-packed", hidden_size=6, num_layers=2, bidirectional=bi))
    reverse = build_model(ModelConfig(name=f"{cell}-packed", hidden_size=6, num_layers=2, bidirectional=bi,
                                      packed_impl="reverse"))
    reverse.load_state_dict(packed.state_dict())
    x = torch.randn(5, 12)
    lengths = torch.tensor([12, 7, 1, 9, 3])
    noisy = x.clone()
    for row, n in enumerate(lengths.tolist()):
        noisy[row, n:] = torch.randn(12 - n)  # whatever lies in the padding is never read
    torch.testing.assert_close(reverse(noisy, lengths), packed(x, lengths), rtol=1e-5, atol=1e-6)
    # and the gradients agree too
    packed.zero_grad(), reverse.zero_grad()
    packed(x, lengths).sum().backward()
    reverse(noisy, lengths).sum().backward()
    for (name, a), (_, b) in zip(packed.named_parameters(), reverse.named_parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_stack_frames_reads_k_samples_per_step_and_rounds_lengths_up():
    from core.models import stack_frames

    x = torch.arange(14.0).reshape(2, 7, 1)
    out, lengths = stack_frames(x, torch.tensor([7, 3]), 4)
    assert out.shape == (2, 2, 4)
    assert out[0].tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 0.0]]  # zero-padded at the end
    assert lengths.tolist() == [2, 1]
    same, same_len = stack_frames(x, torch.tensor([7, 3]), 1)
    assert torch.equal(same, x) and same_len.tolist() == [7, 3]


@pytest.mark.parametrize("name", ["gru", "lstm-packed", "rnn-trimmed"])
@pytest.mark.parametrize("readout", ["final", "end"])
def test_frame_model_is_the_same_cell_on_stacked_inputs(name, readout):
    """A frame-k model on (B, T) beats equals a frame-1 model with k input
    features reading the beats cut into k-sample steps, lengths rounded up."""
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, hidden_size=6, bidirectional=True, readout=readout, trim_steps=3)
    framed = build_model(ModelConfig(**{**cfg.__dict__, "frame": 3})).eval()
    plain = build_model(ModelConfig(**{**cfg.__dict__, "trim_steps": 0}), num_features=3).eval()
    plain.load_state_dict(framed.state_dict())
    x, lengths = _batch(B=6, T=30)
    keep = 27 if name.endswith("trimmed") else 30  # trimming drops samples before they are framed
    stacked = x[:, :keep].reshape(6, keep // 3, 3)
    torch.testing.assert_close(framed(x, lengths), plain(stacked, (lengths + 2) // 3))
    assert count_parameters(framed) == count_parameters(plain)


def test_frame_reverse_packing_still_equals_pack_padded_sequence():
    torch.manual_seed(0)
    packed = build_model(ModelConfig(name="gru-packed", hidden_size=6, bidirectional=True, frame=4))
    reverse = build_model(ModelConfig(name="gru-packed", hidden_size=6, bidirectional=True, frame=4,
                                      packed_impl="reverse"))
    reverse.load_state_dict(packed.state_dict())
    x, lengths = _batch(B=6, T=30)
    torch.testing.assert_close(reverse(x, lengths), packed(x, lengths), rtol=1e-5, atol=1e-6)


def test_frame_must_be_a_small_positive_integer():
    from core.config import RunConfig

    for bad in (0, -2, 65):
        with pytest.raises(ValueError, match=r"model.frame=.* must be between 1 and 64"):
            RunConfig().replace(**{"model.frame": bad})


def test_reordering_within_lengths_and_its_gradient():
    from core.models import _gather_steps

    x = torch.randn(3, 5, 2, requires_grad=True)
    lengths = torch.tensor([5, 3, 1])
    steps = torch.arange(5)[None, :]
    rev = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    out = _gather_steps(x, rev)
    expected = x.gather(1, rev.unsqueeze(-1).expand(-1, -1, 2))
    torch.testing.assert_close(out, expected)
    assert torch.equal(out[1, :3], x[1, :3].flip(0)) and torch.equal(out[1, 3:], x[1, 3:])
    weights = torch.randn(3, 5, 2)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    (reference,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(grad, reference)


def test_a_cell_registered_in_core_cells_is_a_model_everywhere(monkeypatch):
    """Adding a cell is one entry in core.cells: its names validate in a
    RunConfig, build, run forward (padded, packed both ways, trimmed) and
    are counted without building them."""
    from core import cells
    from core.config import RunConfig, model_names
    from core.models import parameter_count

    monkeypatch.setitem(cells.REGISTRY, "twin", cells.Cell("twin", "GRU", gates=3, kernel="gru"))
    assert {"twin", "twin-packed", "twin-trimmed"} <= set(model_names()) and "twin" in list_models()
    x, lengths = _batch()
    for name, impl in (("twin", "pack"), ("twin-packed", "pack"), ("twin-packed", "reverse"), ("twin-trimmed", "pack")):
        cfg = RunConfig().replace(**{"model.name": name, "model.packed_impl": impl, "model.hidden_size": 8,
                                     "model.bidirectional": True, "model.trim_steps": 5}).model
        torch.manual_seed(0)
        model = build_model(cfg, num_features=1, num_classes=5)
        assert isinstance(model.rnn, torch.nn.GRU)
        assert model(x, lengths).shape == (6, 5)
        assert parameter_count(cfg) == count_parameters(model)
    torch.manual_seed(0)
    gru = build_model(ModelConfig(name="gru-packed", hidden_size=8, bidirectional=True))
    twin = build_model(ModelConfig(name="twin-packed", hidden_size=8, bidirectional=True, packed_impl="reverse"))
    twin.load_state_dict(gru.state_dict())
    torch.testing.assert_close(twin(x, lengths), gru(x, lengths))
    with pytest.raises(ValueError, match="model.name"):
        ModelConfig(name="triplet").validate()
