"""Ordinary programs in the sandbox: per-test outcomes, first failure, exception type and line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lessons.sandbox import Execution, Limits, Program, TestCase, isolation, run_program, run_programs

FAST = Limits(cpu_s=1, wall_s=5)
ADD_TESTS = [TestCase("small", "assert add(2, 3) == 5"), TestCase("negative", "assert add(-1, 1) == 0"),
             TestCase("zero", "assert add(0, 0) == 0")]


def test_a_correct_solution_passes_every_test() -> None:
    run = run_program("def add(a, b):\n    return a + b\n", ADD_TESTS, FAST)
    assert run.status == "passed" and run.passed
    assert [t.status for t in run.tests] == ["passed"] * 3
    assert run.first_failure is None and run.exception is None and run.n_passed == 3
    assert run.message == "every test passed"
    assert 0 < run.wall_s < 5 and run.cpu_s >= 0


def test_a_wrong_solution_names_its_first_failing_test_and_its_assert() -> None:
    run = run_program("def add(a, b):\n    return a * b\n", ADD_TESTS, FAST)
    assert run.status == "failed" and not run.passed
    assert [t.status for t in run.tests] == ["failed", "failed", "passed"]  # all tests still run
    assert run.first_failure == "small"
    assert run.tests[0].exception == "AssertionError"
    assert run.tests[0].message == "assert add(2, 3) == 5"  # the assert's own text
    assert run.message == "test 'small' failed: assert add(2, 3) == 5"


def test_an_exception_reports_its_type_and_line_in_the_program() -> None:
    code = "def pick(xs, i):\n    total = 0\n    return xs[i]\n"
    tests = [TestCase("in_range", "assert pick([1, 2], 1) == 2"),
             TestCase("out_of_range", "assert pick([1, 2], 5) == 0")]
    run = run_program(code, tests, FAST)
    assert run.status == "error"
    assert run.first_failure == "out_of_range"
    assert (run.exception, run.line) == ("IndexError", 3)
    assert run.tests[1].test_line == 1
    assert "IndexError at program line 3" in run.message


def test_a_syntax_error_is_its_own_status_and_no_test_runs() -> None:
    run = run_program("def add(a, b)\n    return a + b\n", ADD_TESTS, FAST)
    assert run.status == "syntax_error"
    assert run.line == 1 and run.exception == "SyntaxError"
    assert {t.status for t in run.tests} == {"not_run"} and run.first_failure is None


def test_an_error_while_loading_stops_before_the_tests() -> None:
    run = run_program("import no_such_module_here\n", ADD_TESTS, FAST)
    assert run.status == "error" and run.exception == "ModuleNotFoundError" and run.line == 1
    assert run.message.startswith("the program raised while loading")
    assert {t.status for t in run.tests} == {"not_run"}


def test_output_is_captured_per_stream() -> None:
    code = "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\ndef f():\n    return 1\n"
    run = run_program(code, [TestCase("t", "assert f() == 1")], FAST)
    assert run.status == "passed"
    assert run.stdout == "to out\n" and run.stderr == "to err\n"
    assert not run.stdout_truncated and not run.stderr_truncated


def test_a_test_source_with_humaneval_check_and_test_functions() -> None:
    source = ("def check(candidate):\n    assert candidate(2, 3) == 5\n\n"
              "def test_zero():\n    assert add(0, 0) == 0\n")
    good = run_program("def add(a, b):\n    return a + b\n", source, FAST, entry_point="add")
    bad = run_program("def add(a, b):\n    return a - b\n", source, FAST, entry_point="add")
    assert good.status == "passed" and [t.name for t in good.tests] == ["test_zero", "check"]
    assert bad.status == "failed" and bad.first_failure == "check"


def test_a_program_exiting_early_is_reported_as_exited() -> None:
    run = run_program("import os\nos._exit(3)\n", ADD_TESTS, FAST)
    assert run.status == "exited" and "exit code 3" in run.message


def test_sys_exit_in_a_test_is_an_error_of_that_test_not_a_pass() -> None:
    run = run_program("import sys\ndef add(a, b):\n    sys.exit(0)\n", ADD_TESTS, FAST)
    assert run.status == "error" and run.exception == "SystemExit" and run.line == 3


def test_the_batch_api_keeps_input_order_over_workers() -> None:
    programs = [Program(f"def add(a, b):\n    return a + b + {k}\n", ADD_TESTS) for k in (0, 1, 0, 2)]
    runs = run_programs(programs, FAST, workers=2)
    assert [r.status for r in runs] == ["passed", "failed", "passed", "failed"]
    assert all(isinstance(r, Execution) for r in runs)


@pytest.mark.parametrize("bad", [dict(cpu_s=0), dict(wall_s=-1), dict(memory_bytes=1024),
                                 dict(processes=True), dict(output_bytes="many")])
def test_bad_limits_are_refused_with_one_line(bad: dict) -> None:
    with pytest.raises(ValueError, match="sandbox limit") as raised:
        Limits(**bad)
    assert "\n" not in str(raised.value)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one test"):
        run_program("x = 1\n", [], FAST)
    with pytest.raises(ValueError, match="workers"):
        run_programs([], FAST, workers=0)
    with pytest.raises(ValueError, match=r"test 'broken' cannot be used: syntax error at line 1"):
        run_program("x = 1\n", [TestCase("broken", "assert (")], FAST)
    with pytest.raises(ValueError, match="the test source cannot be used"):
        run_program("x = 1\n", "def check(candidate):\n", FAST)


def test_a_test_source_without_tests_is_a_sandbox_error_that_says_why() -> None:
    run = run_program("x = 1\n", "y = 2\n", FAST)
    assert run.status == "sandbox_error"
    assert "defines no test_* function" in run.message


def test_isolation_says_what_is_in_force() -> None:
    report = isolation()
    lines = report.lines()
    assert any(line.startswith("network namespace") for line in lines)
    assert any(line.startswith("process limit") for line in lines)
    if report.method == "rlimits-only":
        assert report.notes and not report.network  # then it says plainly what is missing
    else:
        assert report.network and report.pid_namespace and report.private_mounts


def test_a_job_larger_than_a_pipe_buffer_is_delivered_whole() -> None:
    tests = [TestCase(f"t{i}", f"assert add({i}, 1) == {i + 1}  # {'x' * 100}") for i in range(2_000)]
    run = run_program("def add(a, b):\n    return a + b\n", tests, FAST)
    assert run.status == "passed" and run.n_passed == 2_000


def test_only_functions_the_test_source_defines_are_tests() -> None:
    code = "def add(a, b):\n    return a + b\n\ndef test_helper():\n    raise RuntimeError('not a test')\n"
    run = run_program(code, "def test_add():\n    assert add(1, 1) == 2\n", FAST)
    assert run.status == "passed" and [t.name for t in run.tests] == ["test_add"]


@pytest.mark.parametrize("prefix_kept", [True, False])
def test_a_missing_interpreter_is_a_sandbox_error_not_a_program_failure(prefix_kept: bool) -> None:
    setup = isolation()
    broken = replace(setup, python="/nonexistent/python3", prefix=setup.prefix if prefix_kept else ())
    run = run_program("def add(a, b):\n    return a + b\n", ADD_TESTS, FAST, setup=broken)
    assert run.status == "sandbox_error" and not run.passed
    assert run.message.startswith("the sandbox could not run the program")
    assert {t.status for t in run.tests} == {"not_run"}
