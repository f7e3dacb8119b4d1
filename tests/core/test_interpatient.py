"""The inter-patient split (de Chazal et al. 2004): DS1 trains, DS2 tests,
the paced records are left out, validation is whole DS1 records."""
import numpy as np
import pytest

from core.data import heartbeat as hb
from tests.conftest import INTERPATIENT_RECORDS


def test_record_sets_are_disjoint_and_cover_the_database():
    ds1, ds2, paced = set(hb.DS1), set(hb.DS2), set(hb.PACED)
    assert len(ds1) == len(hb.DS1) == 22 and len(ds2) == len(hb.DS2) == 22 and paced == {102, 104, 107, 217}
    assert not ds1 & ds2 and not ds1 & paced and not ds2 & paced
    assert len(ds1 | ds2 | paced) == 48


@pytest.fixture(scope="module")
def beats(interpatient_records_dir):
    return hb.beats_from_records(interpatient_records_dir)


def _records(part: hb.Beats) -> set[int]:
    return {int(r) for r in np.unique(part.record)}


def test_inter_patient_splits_by_record(beats):
    s = hb.make_splits(beats, val_fraction=0.25, sample=1.0, seed=3, split="inter-patient")
    ds1 = {int(n) for n in INTERPATIENT_RECORDS["DS1"]}
    assert _records(s.train) | _records(s.val) == ds1
    assert not _records(s.train) & _records(s.val)  # no patient in both train and validation
    assert _records(s.val) and _records(s.train)
    assert _records(s.test) == {int(n) for n in INTERPATIENT_RECORDS["DS2"]}
    assert len(s.test) == int(np.isin(beats.record, hb.DS2).sum())  # every DS2 beat, none sampled away
    for part in (s.train, s.val, s.test):
        assert not np.isin(part.record, hb.PACED).any()
    assert len(s.train) + len(s.val) == int(np.isin(beats.record, hb.DS1).sum())
    for part in (s.train, s.val):  # every class present on both sides (each fixture record holds all five)
        assert set(part.y) == set(range(5))
    again = hb.make_splits(beats, val_fraction=0.25, sample=1.0, seed=3, split="inter-patient")
    np.testing.assert_array_equal(s.val.x, again.val.x)


def test_sample_applies_to_train_and_validation_only(beats):
    full = hb.make_splits(beats, 0.25, 1.0, 3, "inter-patient")
    part = hb.make_splits(beats, 0.25, 0.5, 3, "inter-patient")
    assert len(part.train) < len(full.train) and len(part.val) < len(full.val)
    assert _records(part.val) <= _records(full.val) and len(part.test) == len(full.test)


def test_validation_records_keep_classes_on_both_sides_where_possible():
    # ten records of 100 beats; class 1 lives in records 0 and 1 only, class 2 in record 5 only
    record = np.repeat(np.arange(10), 100)
    y = np.zeros(1000, np.int64)
    y[[5, 105]] = 1
    y[[500, 501, 502]] = 2
    chosen = [set(hb.validation_records(record, y, 0.2, seed)) for seed in range(6)]
    for held in chosen:
        assert len(held & {0, 1}) == 1  # one of the two class-1 records on each side
        assert 5 not in held  # the only class-2 record stays in train
        assert 1 <= len(held) <= 3  # about 20% of ten equal records
    assert len({frozenset(h) for h in chosen}) > 1  # the seed picks the records
    assert hb.validation_records(record, y, 0.2, 4) == hb.validation_records(record, y, 0.2, 4)


def test_too_few_training_records(records_dir):
    beats = hb.beats_from_records(records_dir)  # records 100, 101, 102: a single DS1 record
    with pytest.raises(ValueError, match="at least 2 training records, found 1"):
        hb.make_splits(beats, 0.1, 1.0, 0, "inter-patient")


def test_kaggle_csv_beats_cannot_be_split_by_patient(kaggle_dir):
    beats = hb.beats_from_kaggle(kaggle_dir)
    with pytest.raises(ValueError, match="needs the record each beat comes from.*Kaggle's CSVs.*prepare heartbeat"):
        hb.make_splits(beats, 0.1, 1.0, 0, "inter-patient")


def test_intra_patient_is_unchanged_by_records(beats):
    s = hb.make_splits(beats, 0.2, 1.0, 0)
    assert len(s.test) == int((beats.split == 1).sum())
    assert _records(s.train) & _records(s.test)  # the same patients on both sides: what inter-patient avoids
