import numpy as np
import pytest

from core.data.sampling import class_counts, stratified_sample, stratified_split


def _labels():
    # imbalanced like the beats: 900 / 30 / 60 / 8 / 2
    return np.repeat(np.arange(5), [900, 30, 60, 8, 2])


def test_split_keeps_every_class_and_the_proportions():
    y = _labels()
    keep, out = stratified_split(y, 0.2, seed=3)
    assert len(np.intersect1d(keep, out)) == 0 and len(keep) + len(out) == len(y)
    np.testing.assert_array_equal(class_counts(y[out], 5), [180, 6, 12, 2, 1])
    assert set(y[keep]) == set(range(5))


def test_split_with_exact_counts_and_seed():
    y = _labels()
    _, out = stratified_split(y, {0: 100, 1: 5, 2: 5, 3: 1, 4: 1}, seed=1)
    np.testing.assert_array_equal(class_counts(y[out], 5), [100, 5, 5, 1, 1])
    np.testing.assert_array_equal(stratified_split(y, 0.3, 7)[1], stratified_split(y, 0.3, 7)[1])
    assert not np.array_equal(stratified_split(y, 0.3, 7)[1], stratified_split(y, 0.3, 8)[1])


@pytest.mark.parametrize("fraction", [0.001, 0.05, 0.1, 0.5])
def test_sample_keeps_every_class_and_proportions(fraction):
    y = _labels()
    idx = stratified_sample(y, fraction, seed=0)
    counts = class_counts(y[idx], 5)
    assert (counts >= 1).all(), "every class must be in the sample"
    expected = np.maximum(1, np.round(fraction * class_counts(y, 5)))
    np.testing.assert_array_equal(counts, expected)
    assert len(np.unique(idx)) == len(idx)


def test_sample_is_seeded_and_whole_at_one():
    y = _labels()
    np.testing.assert_array_equal(stratified_sample(y, 0.1, 5), stratified_sample(y, 0.1, 5))
    assert len(stratified_sample(y, 1.0, 5)) == len(y)
    with pytest.raises(ValueError, match="must be in"):
        stratified_sample(y, 0.0, 0)
