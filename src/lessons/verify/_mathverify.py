"""The `math` verifier: exact numbers first, then math-verify (gold first) under a timeout
that works from any thread.

math-verify's own timeouts use SIGALRM, which only the main thread may set, so it is
called with them off and each call runs in a daemon thread that the caller waits for with
a deadline. Daemon threads rather than a ThreadPoolExecutor, because the pool's workers are
joined at interpreter exit (one runaway sympy simplification would hang the exit) and a
queued call would spend its timeout waiting for a worker. A semaphore bounds how many
runaway calls may pile up.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from lessons.arith import is_terminating, parse_number

MAX_CALLS_IN_FLIGHT = 32  # math-verify threads alive at once, counting timed-out ones still running
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


class _DropTimeoutDisabledWarning(logging.Filter):
    """math-verify warns once that its timeout is off; ours replaces it, so the warning
    would only alarm the user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


@functools.cache
def _math_verify() -> Any:
    """Import math-verify once, on first use (it pulls in sympy and an ANTLR parser)."""
    import math_verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())
    return math_verify


def _as_latex(text: str) -> str:
    """Wrap an answer in $...$: math-verify reads bare LaTeX ("x+1", "\\sqrt{2}") only inside
    math delimiters, and bare numbers parse the same either way. Stray "$" are dropped."""
    return f"${_UNESCAPED_DOLLAR.sub('', text).strip()}$"


@functools.lru_cache(maxsize=4096)  # gold answers repeat across samples; sympy objects are immutable
def _parse(text: str) -> tuple[Any, ...]:
    return tuple(_math_verify().parse(_as_latex(text), parsing_timeout=None))


def math_verify_equal(gold: str, answer: str) -> bool:
    """math-verify's judgement, gold first, with its signal-based timeouts off."""
    parsed_gold, parsed_answer = _parse(gold), _parse(answer)
    if not parsed_gold or not parsed_answer:
        return False
    return bool(_math_verify().verify(list(parsed_gold), list(parsed_answer), timeout_seconds=None))


def numbers_equal(gold: str, answer: str) -> bool | None:
    """Whether two plain numbers are equal, or None when that is not for exact arithmetic
    to say: one side is not a number, or a repeating fraction ("1/3") meets a rounded
    decimal ("0.333333"), which math-verify judges with its own rounding."""
    g, a = parse_number(gold), parse_number(answer)
    if g is None or a is None:
        return None
    if g == a:
        return True
    return False if is_terminating(g) and is_terminating(a) else None


def call_with_timeout(
    fn: Callable[..., Any], timeout_s: float, slots: threading.Semaphore, *args: Any
) -> Any:
    """`fn(*args)` in a daemon thread; raises TimeoutError after `timeout_s` seconds (the
    thread then runs on, holding its slot, until `fn` returns)."""
    deadline = time.monotonic() + timeout_s
    if not slots.acquire(timeout=timeout_s):
        raise TimeoutError("every math-verify slot is held by a runaway call")
    future: Future[Any] = Future()

    def run() -> None:
        try:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the waiting caller
                    future.set_exception(exc)
        finally:
            slots.release()

    try:
        threading.Thread(target=run, name="lessons-math-verify", daemon=True).start()
    except BaseException:  # no thread, so nothing else will give the slot back
        slots.release()
        raise
    return future.result(timeout=max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True)
class MathVerifier:
    """Numbers compare exactly ("1,234.5" = "1234.50", "3/4" = "0.75", "25%" = "25");
    anything else (LaTeX, expressions, sets, intervals) goes to math-verify."""

    name: str = "math"
    timeout_s: float = 5.0  # per call to math-verify, parsing both sides included
    max_chars: int = 1_000  # longer answers are not math answers; sympy could run for ever on them
    _slots: threading.Semaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT),
        init=False, repr=False, compare=False,
    )

    def equivalent(self, gold: str, answer: str) -> bool:
        return self.judge(gold, answer)[0]

    def judge(self, gold: str, answer: str) -> tuple[bool, str]:
        """(equivalent, detail); detail says why math-verify gave no judgement."""
        fast = numbers_equal(gold, answer)
        if fast is not None:
            return fast, ""
        if len(answer) > self.max_chars or len(gold) > self.max_chars:
            return False, "too long for math-verify"
        _math_verify()  # import outside the deadline: a first import takes seconds
        try:
            equal = call_with_timeout(math_verify_equal, self.timeout_s, self._slots, gold, answer)
            return bool(equal), ""
        except TimeoutError:
            return False, "timeout"
        except Exception as exc:  # sympy can fail in many ways; one answer must not stop a run
            return False, f"math-verify error: {type(exc).__name__}"
