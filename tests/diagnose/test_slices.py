import random

import pytest

from lessons.diagnose.slices import Slice, SliceConfig, SliceRow, find_error_type_slices, find_weak_slices


def planted_rows(n=3000, seed=0):
    """Fractions at difficulty 3 fail 70% of the time, everything else 10%; unit slips
    concentrate in unit_conversion."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        skill = rng.choice(["addition", "subtraction", "fractions", "unit_conversion"])
        difficulty = rng.choice([1, 2, 3])
        features = {"skill": skill, "difficulty": difficulty, "n_steps": rng.randint(1, 12), "source": "arith"}
        weak = skill == "fractions" and difficulty == 3
        mistake = rng.random() < (0.7 if weak else 0.1)
        types = ()
        if mistake:
            types = ("unit",) if skill == "unit_conversion" and rng.random() < 0.8 else ("calculation",)
        rows.append(SliceRow(features, mistake, types))
    return rows


def test_planted_weak_slice_is_found_first():
    slices = find_weak_slices(planted_rows())
    assert slices, "no slice found"
    top = slices[0]
    assert top.description == {"skill": "fractions", "difficulty": "3"}
    assert top.lift > 3 and top.error_rate > 0.6 and top.size > 100 and top.view == "mistake"
    assert all(s.lift > 1 for s in slices)
    assert [s.score for s in slices] == sorted((s.score for s in slices), reverse=True)
    assert all("source" not in s.description for s in slices)  # constant feature dropped


def test_error_type_view_finds_where_a_type_concentrates():
    views = find_error_type_slices(planted_rows())
    assert views["unit"][0].description["skill"] == "unit_conversion"
    assert views["unit"][0].view == "unit"
    assert views["calculation"][0].description["skill"] == "fractions"


def test_numeric_features_are_binned():
    rows = planted_rows()
    slices = find_weak_slices(rows, SliceConfig(max_levels=5, bins=3))
    labels = {s.description["n_steps"] for s in slices if "n_steps" in s.description}
    assert all(label.startswith("[") for label in labels)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [SliceRow({"skill": "a"}, False)] * 100,  # no mistakes
        [SliceRow({"skill": s}, True, ("calculation",)) for s in "ab" * 50],  # all mistakes
        [SliceRow({"skill": "a"}, i % 2 == 0) for i in range(100)],  # the only feature is constant
        [SliceRow({}, i % 2 == 0) for i in range(100)],  # no features
        [SliceRow({"skill": "a"}, True), SliceRow({"skill": "b"}, False)],  # tiny
    ],
)
def test_degenerate_input_gives_no_slices(rows):
    assert find_weak_slices(rows) == []
    assert find_error_type_slices(rows) == {}


def test_single_feature_and_missing_values():
    rows = [SliceRow({"skill": "hard" if i % 4 == 0 else "easy"}, i % 4 == 0 or i % 10 == 1) for i in range(200)]
    rows += [SliceRow({}, False) for _ in range(20)]  # metadata missing: its own category
    slices = find_weak_slices(rows)
    assert slices[0].description == {"skill": "hard"}
    assert isinstance(slices[0], Slice) and slices[0].errors == slices[0].size == 50
