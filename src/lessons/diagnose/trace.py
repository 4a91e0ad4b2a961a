"""The `trace` locator: a code mistake's first wrong step, from tracing its program beside
the task's reference solution (`lessons.sandbox.trace`, which runs both in the sandbox and
says how lines are matched: by the values they make).

A code task's gold answer is its reference program and its metadata holds the tests and
the entry point (the `tests` verifier's). The step named is the one of the response that
holds the program's first wrong line; the detail gives the line, the value it made, and
the call's expected and actual outcomes. A case with no program, no reference or no
failing call that differs is located nowhere (`step=None`), with the reason as detail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from lessons.diagnose.base import Case, Location
from lessons.sandbox import Limits, extract_code
from lessons.sandbox.trace import Divergence, first_wrong_line


class TraceLocator:
    name = "trace"

    def __init__(self, cpu_s: float = 5.0, workers: int = 2, confidence: float = 0.8) -> None:
        self.cpu_s, self.workers, self.confidence = cpu_s, workers, confidence  # tracing is ~10x slower than a run

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        """Each case traced in its own sandbox process, `workers` at a time; in order."""
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="trace") as pool:
            return list(pool.map(self.locate_one, cases))

    def locate_one(self, case: Case) -> Location:
        from lessons.verify.code import CodeTaskError, entry_point, prompt_imports, task_tests

        try:
            entry, tests = entry_point(case.key, case.metadata), task_tests(case.key, case.metadata)
        except CodeTaskError as e:
            return self._nowhere(f"not a code task: {e}", "no_reference")
        if not case.answer:
            return self._nowhere("the task has no reference solution", "no_reference")
        extraction = extract_code(case.response, entry_point=entry)
        if extraction.status != "ok":
            return self._nowhere(f"no program to trace ({extraction.status})", "no_program")
        program = str(extraction.answer)
        found = first_wrong_line(program, case.answer, tests, entry, Limits(cpu_s=self.cpu_s, wall_s=4 * self.cpu_s),
                                 prelude=prompt_imports(case.question))
        if found.line is None:
            return self._nowhere(found.problem, "no_divergence")
        return Location(_step_of(case, program, found), self.name, self.confidence, _detail(program, found),
                        evidence="reference_trace")

    def _nowhere(self, why: str, evidence: str) -> Location:
        return Location(None, self.name, 0.0, why, evidence=evidence)


def _step_of(case: Case, program: str, found: Divergence) -> int | None:
    """The response's step holding the program's wrong line: the program is found in the
    response (it was cut from it), the line's offset inside it, and the step around that."""
    if not case.steps:
        return None
    start = case.response.find(program)
    line_text = found.text(program) or ""
    if start >= 0:
        offset = start + sum(len(line) + 1 for line in program.split("\n")[: (found.line or 1) - 1])
    else:  # the extraction rewrote the program (indentation): look for the line itself
        offset = case.response.find(line_text.strip()) if line_text.strip() else -1
    if offset < 0:
        return case.steps[-1].index
    for step in case.steps:
        if step.start <= offset < step.end or offset < step.start:
            return step.index
    return case.steps[-1].index


def _detail(program: str, found: Divergence) -> str:
    line = (found.text(program) or "").strip()
    made = "raises " + str(found.value) if found.variable == "raise" else (
        "returns " + str(found.value) if found.variable == "return" else f"sets {found.variable} = {found.value}")
    branch = (f"; it ran right after the branch at line {found.branch} `{(found.text(program, found.branch) or '').strip()}`"
              if found.branch is not None else "")
    return (f"line {found.line} `{line}` {made}, a value the reference never holds; "
            f"on {found.call} (test {found.test!r}) the reference {found.expected}, the program {found.got}{branch}")
