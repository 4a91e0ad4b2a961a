import time

import pytest

from lessons.diagnose.steps import MODES, split_steps, steps_from_list

TEXTS = [
    "Step 1: Add 3 and 4.\nStep 2: The sum is 7.",
    "To start, read the problem.\n\nStep 1: 3 + 4 = 7\n\nStep 2: 7 × 2 = 14\n\nThe answer is 14.",
    "**Step 1:** Find the total.\n**Step 2:** Divide it.",
    "### Step 1\nAdd.\n### Step 2\nDivide.",
    "1. Add 3 and 4.\n2. Double it.\n3) Report 14.",
    "First paragraph.\n\nSecond paragraph\nstill second.\n\n\n  Third.  ",
    "one line\ntwo line\n  three line  ",
    "Mr. Smith has 3.5 apples. He buys 2 more! Does he have 5.5? Yes.",
    "  \n  Lots of   surrounding whitespace.  \n\n ",
    r"We get \(3 \times 4 = 12\). Then \[12 + 3 = 15.\] So the answer is $15$.",
    "Unicode: π ≈ 3.14. Ünïcödé steps — fine. 漢字も大丈夫。 Done.",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", TEXTS)
def test_offsets_point_at_trimmed_text(text, mode):
    steps = split_steps(text, mode)
    assert steps, "non-empty text gives at least one step"
    for i, step in enumerate(steps):
        assert step.index == i
        assert text[step.start : step.end] == step.text
        assert step.text == step.text.strip() and step.text
    starts = [s.start for s in steps]
    assert starts == sorted(starts) and all(a.end <= b.start for a, b in zip(steps, steps[1:]))


@pytest.mark.parametrize(
    "text, mode, expected",
    [
        ("Step 1: a\nStep 2: b", "numbered", ["Step 1: a", "Step 2: b"]),
        ("Intro.\nStep 1: a\nStep 2: b", "auto", ["Intro.", "Step 1: a", "Step 2: b"]),
        ("**Step 1**: a\n**Step 2**: b", "auto", ["**Step 1**: a", "**Step 2**: b"]),
        ("1. a\n2. b\n3. c", "auto", ["1. a", "2. b", "3. c"]),
        ("(1) a\n(2) b", "numbered", ["(1) a", "(2) b"]),
        # "Step" markers win over a list inside a step.
        ("Step 1: items\n1. x\n2. y\nStep 2: done", "auto", ["Step 1: items\n1. x\n2. y", "Step 2: done"]),
        # A decimal at a line start is no list marker.
        ("3.5 apples\n2.5 pears", "numbered", ["3.5 apples\n2.5 pears"]),
        ("a\n\nb\nc", "lines", ["a", "b\nc"]),
        ("a\nb\n\n", "lines", ["a", "b"]),
        ("a\nb", "auto", ["a", "b"]),
        (
            "Mr. Li has 3.5 kg. He eats 1 kg. Left: 2.5 kg.",
            "sentences",
            ["Mr. Li has 3.5 kg.", "He eats 1 kg.", "Left: 2.5 kg."],
        ),
        ("Only one sentence here", "auto", ["Only one sentence here"]),
        ("It costs $3. So 3 × 4 = 12. Done", "auto", ["It costs $3.", "So 3 × 4 = 12.", "Done"]),
    ],
)
def test_split_table(text, mode, expected):
    assert [s.text for s in split_steps(text, mode)] == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
@pytest.mark.parametrize("mode", MODES)
def test_empty_text_has_no_steps(text, mode):
    assert split_steps(text, mode) == ()


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown step mode 'words'"):
        split_steps("a", "words")


@pytest.mark.parametrize(
    "text",
    [
        "Step 1: 3 + 4 = 7.\n\n" * 2500,
        "Mr. " * 12500,
        ". " * 25000,
        "x" * 50000,
        "1. a\n" * 10000,
        "\\[ \\frac{1}{2} \\] " * 3000,
    ],
)
def test_long_text_is_fast_and_consistent(text):
    start = time.process_time()  # CPU time: a loaded machine does not add to it, as it does to wall time
    for mode in MODES:
        steps = split_steps(text, mode)
        assert all(text[s.start : s.end] == s.text for s in steps)
    assert time.process_time() - start < 30  # catches a runaway (a regex that backtracks), not a slow machine: ~0.2 s


def test_steps_from_list_offsets_into_joined_text():
    raw = ["First, 3 + 4 = 7.", "  Then 7 × 2 = 14.  ", "", "The answer is 14."]
    joined = "\n\n".join(raw)
    steps = steps_from_list(raw)
    assert [s.index for s in steps] == [0, 1, 2, 3]  # empty steps keep their index
    assert [s.text for s in steps] == ["First, 3 + 4 = 7.", "Then 7 × 2 = 14.", "", "The answer is 14."]
    assert all(joined[s.start : s.end] == s.text for s in steps)
    assert steps_from_list([]) == ()
