"""A study's question factor leads its finding; a class with a handful of
test items is not held against a config."""
import numpy as np
import pytest

from experiments import study_report as R
from experiments import studies as S


def _row(config, level, score, verdict, p=None, name=None):
    return {"config": config, "name": name or config, "levels": {"input": level, "model": "bi-GRU"},
            "f1_S": score, "verdict": verdict, "p_adjusted": p}


def test_the_question_factor_decides_the_first_sentence():
    rows = [_row("a", "beat + rhythm", 0.33, "best"), _row("b", "beat + rhythm", 0.14, "worse", 0.007),
            _row("c", "beat only", 0.09, "worse", 0.007), _row("d", "beat only", 0.05, "worse", 0.007)]
    line = R.question_lesson(rows, "input", "f1_S")
    assert line == ("Input decides it: with beat + rhythm, SVEB F1 reaches 0.33 (a); with beat only, at most 0.09 (c), "
                    "clearly behind: Holm p 0.007.")
    tied = [rows[0], _row("c", "beat only", 0.30, "not different", 0.4)]
    assert "not clearly behind" in R.question_lesson(tied, "input", "f1_S")
    assert R.question_lesson(rows[:2], "input", "f1_S") == ""  # one level only: nothing to decide


def test_the_rhythm_study_asks_about_its_input_and_a_question_must_be_a_factor():
    assert S.builtin("rhythm").question == "input"
    with pytest.raises(ValueError, match="question: 'nope' is not one of the factors"):
        S.study_from_dict({"name": "x", "factors": {"model.bidirectional": [False, True]}, "question": "nope"})


def test_a_class_with_few_test_items_is_not_held_against_a_config():
    y_true = np.array([0] * 100 + [1] * 50 + [4] * 7)  # Q (4): 7 beats, as in DS2
    runs = [{"recall": {"N": 0.9, "S": 0.0, "V": 0.5, "F": 0.1, "Q": 0.0}}]
    scarce = R._scarce_classes(y_true, runs)
    assert "Q" in scarce and "S" not in scarce
    assert R._never_found(runs, scarce) == ["S (supraventricular ectopic)"]
