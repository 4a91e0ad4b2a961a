"""verify(): extraction and verifier together; timeouts, threads and speed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lessons.verify import Extraction, Verdict, verify
from lessons.verify import _mathverify
from lessons.verify.verifiers import MathVerifier


@pytest.mark.parametrize(
    "gold, text, finish_reason, verifier, correct, status",
    [
        ("42", "Step 1: 6 * 7 = 42\nAnswer: 42", "stop", "math", True, "ok"),
        ("42", "Step 1: 6 * 7 = 43\nAnswer: 43", "stop", "math", False, "ok"),
        ("1234.5", "The total is $1,234.50.\nAnswer: $1,234.50", "stop", "math", True, "ok"),
        ("42", "**Answer:** 42", "stop", "math", True, "ok"),
        ("0.75", "Answer: 3/4", "stop", "math", True, "ok"),
        ("0.75", "We get \\boxed{\\frac{3}{4}}", "stop", "math", True, "ok"),
        ("72", "48 + 24 = 72\n#### 72", "stop", "math", True, "ok"),
        ("72", "So she sold 48 + 24 = 72 clips.", "stop", "math", True, "ok"),
        ("-5", "The temperature is now -5 degrees.", "stop", "math", True, "ok"),
        ("25", "Answer: 25%", "stop", "math", True, "ok"),
        ("x+1", "Answer: $1 + x$", "stop", "math", True, "ok"),
        ("\\frac{1}{2}", "Answer: 0.5", "stop", "math", True, "ok"),
        ("3.14159", "Answer: 3.1415926", "stop", "numeric", True, "ok"),
        ("B", "The best option is (B).\nAnswer: (B)", "stop", "choice", True, "ok"),
        ("B", "Answer: b", "stop", "choice", True, "ok"),
        ("Paris", "Answer: paris", "stop", "exact", True, "ok"),
        (r"(?i)yes|true", "Answer: Yes.", "stop", "regex", True, "ok"),
        # Extraction drops unit words after a number, before any verifier sees the answer.
        (r"\d+", "Answer: 12 apples", "stop", "regex", True, "ok"),
        # Extraction failures are never correct, even when the gold number appears.
        ("36", "Step 1: 12 * 3 = 36", "length", "math", False, "truncated"),
        ("42", "Answer:", "stop", "math", False, "malformed"),
        ("12", "The total is \\boxed{12", "stop", "math", False, "malformed"),
        ("42", "", "stop", "math", False, "missing"),
        # A marker before the cut counts.
        ("42", "Answer: 42\nLet me double-check: 6 * 7 =", "length", "math", True, "ok"),
    ],
)
def test_verify(gold, text, finish_reason, verifier, correct, status):
    verdict = verify(gold, text, finish_reason, verifier=verifier)
    assert (verdict.correct, verdict.extraction.status, verdict.verifier) == (correct, status, verifier)


def test_verifier_is_not_asked_when_extraction_failed():
    class Exploding:
        name = "exploding"

        def equivalent(self, gold: str, answer: str) -> bool:
            raise AssertionError("must not be called")

    verdict = verify("1", "no number here", verifier=Exploding())
    assert verdict == Verdict(False, Extraction(None, "missing"), "exploding")


def test_a_failing_verifier_counts_as_wrong_with_the_error_named():
    class Broken:
        name = "broken"

        def equivalent(self, gold: str, answer: str) -> bool:
            raise RuntimeError("bug")

    verdict = verify("1", "Answer: 1", verifier=Broken())
    assert not verdict.correct and verdict.detail == "verifier error: RuntimeError: bug"


def test_verify_passes_extraction_methods_through():
    assert verify("2", "Answer: 1\n\\boxed{2}", methods=("boxed",)).correct
    assert not verify("2", "Answer: 1\n\\boxed{2}", methods=("answer_line", "boxed")).correct


# A runaway call runs this long unless the test ends it; a bound call returns within
# BOUND_S. Both are far apart from a timeout of 0.05 s, so load cannot blur them.
RUNAWAY_S = 600.0
BOUND_S = 30.0


class Runaway:
    """Stands in for math-verify: every call hangs until the test ends (or RUNAWAY_S)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, gold: str, answer: str) -> bool:
        with self._lock:
            self.calls += 1
        self.entered.set()
        self.release.wait(RUNAWAY_S)
        return True


@pytest.fixture
def slow_math_verify(monkeypatch):
    """math-verify replaced by a call that hangs until the test ends."""
    runaway = Runaway()
    monkeypatch.setattr(_mathverify, "math_verify_equal", runaway)
    yield runaway
    runaway.release.set()


def test_timeout_counts_as_not_equivalent(slow_math_verify):
    start = time.perf_counter()
    verdict = verify("x+1", "Answer: $1 + x$", verifier=MathVerifier(timeout_s=0.05))
    assert (verdict.correct, verdict.detail) == (False, "timeout")
    assert time.perf_counter() - start < BOUND_S  # the call itself would run RUNAWAY_S


def test_timeout_works_off_the_main_thread(slow_math_verify):
    with ThreadPoolExecutor(4) as pool:
        verifier = MathVerifier(timeout_s=0.05)
        verdicts = list(pool.map(lambda _: verify("x+1", "Answer: x+1", verifier=verifier), range(4)))
    assert {(v.correct, v.detail) for v in verdicts} == {(False, "timeout")}


def test_numbers_skip_math_verify_even_when_it_hangs(slow_math_verify):
    verdict = verify("0.75", "Answer: 3/4", verifier=MathVerifier(timeout_s=0.05))
    assert (verdict.correct, verdict.detail) == (True, "")


def test_runaway_calls_are_bounded(slow_math_verify, monkeypatch):
    monkeypatch.setattr(_mathverify, "MAX_CALLS_IN_FLIGHT", 1)
    verifier = MathVerifier(timeout_s=0.05)
    assert verifier.judge("x+1", "1+x") == (False, "timeout")  # its thread still holds the slot
    assert slow_math_verify.entered.wait(BOUND_S)  # the runaway call is under way
    start = time.perf_counter()
    assert verifier.judge("x+2", "2+x") == (False, "timeout")  # no second thread is started
    assert time.perf_counter() - start < BOUND_S
    assert slow_math_verify.calls == 1
    assert sum(t.name == "lessons-math-verify" for t in threading.enumerate()) >= 1


THREAD_CASES = [
    ("42", "Step 1: 6 * 7 = 42\nAnswer: 42", "math"),
    ("42", "Answer: 41", "math"),
    ("0.5", "Answer: $\\frac{1}{2}$", "math"),
    ("\\frac{1}{2}", "Answer: 1/2", "math"),
    ("x+1", "Answer: $1+x$", "math"),
    ("x^2+2x+1", "\\boxed{(x+1)^2}", "math"),
    ("\\sqrt{2}", "\\boxed{2^{1/2}}", "math"),
    ("2\\pi", "\\boxed{2}", "math"),
    ("\\{1,2\\}", "\\boxed{\\{2,1\\}}", "math"),
    ("3.14159", "Answer: 3.1415926", "numeric"),
    ("B", "Answer: (b)", "choice"),
    ("Paris", "Answer: paris", "exact"),
    (r"\d+", "Answer: 12", "regex"),
    ("7", "Step 1: 3 + 4 =", "math"),
]


# The verifier the thread test judges "math" with: its timeout (the default is 5 s) is far
# beyond any of these cases, so eight threads on a loaded machine cannot turn one into a
# "timeout" verdict; the name is the same, so verdicts compare as the registry's would.
UNHURRIED_MATH = MathVerifier(timeout_s=300.0)


def _verifier(name: str):
    return UNHURRIED_MATH if name == "math" else name


def test_threads_give_the_same_verdicts_as_serial():
    cases = [(g, t, _verifier(v)) for g, t, v in THREAD_CASES * 8]
    serial = [verify(g, t, verifier=v) for g, t, v in cases]
    _mathverify._parse.cache_clear()  # so that the threads parse concurrently, not read a cache
    barrier = threading.Barrier(8)

    def run(offset: int) -> list[Verdict]:
        barrier.wait()  # all eight start together
        rotated = cases[offset:] + cases[:offset]
        return [verify(g, t, verifier=v) for g, t, v in rotated]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    for offset, verdicts in enumerate(results):
        assert verdicts == serial[offset:] + serial[:offset]
    assert [v.correct for v in serial[: len(THREAD_CASES)]] == [
        True, False, True, True, True, True, True, False, True, True, True, True, True, False,
    ]


def test_a_thousand_typical_responses_verify_without_math_verify_and_fast(monkeypatch):
    calls = []
    texts = [
        f"Step 1: {i} apples cost {i} * 3 = {3 * i} dollars.\n"
        f"Step 2: Add 5: {3 * i} + 5 = {3 * i + 5}.\n"
        f"Answer: {3 * i + 5 + (i % 4 == 0)}"
        for i in range(1_000)
    ]
    verify("1", "Answer: 1")  # the registry reads its entry points on first use
    # The work that makes them fast: plain numbers never reach math-verify (sympy).
    monkeypatch.setattr(_mathverify, "math_verify_equal", lambda gold, answer: calls.append(answer))
    start = time.process_time()  # CPU time, which other processes on the machine do not inflate
    verdicts = [verify(str(3 * i + 5), text) for i, text in enumerate(texts)]
    cpu = time.process_time() - start
    assert sum(v.correct for v in verdicts) == 750
    assert calls == []
    assert cpu < 10.0, f"{cpu:.3f} s of CPU"  # under 0.1 s here; 20x the old 0.5 s wall bound
