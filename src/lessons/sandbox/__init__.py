"""Run model-written programs with their tests in a sandbox, never in this process.

    from lessons.sandbox import Limits, TestCase, run_program, isolation
    run = run_program(code, [TestCase("t1", "assert f(1) == 2")], Limits(cpu_s=1))
    run.status, run.first_failure, run.exception, run.line
    isolation().lines()     # which protections are in force on this machine

Code extraction from a response (`extract_code`) keeps "no code block / cut off / does not
parse" apart from "ran and failed", as `lessons.verify` does for math answers.
"""

from lessons.sandbox.extract import CodeVerdict, Response, extract_code, judge_response, judge_responses
from lessons.sandbox.isolation import Isolation, isolation
from lessons.sandbox.records import (
    Execution, ExecutionStatus, Limits, Program, TestCase, TestOutcome, TestStatus, execution_from_json,
    execution_to_json,
)
from lessons.sandbox.run import run_program, run_programs

__all__ = [
    "CodeVerdict", "Execution", "ExecutionStatus", "Isolation", "Limits", "Program", "Response", "TestCase",
    "TestOutcome", "TestStatus", "execution_from_json", "execution_to_json", "extract_code", "isolation",
    "judge_response", "judge_responses", "run_program", "run_programs",
]
