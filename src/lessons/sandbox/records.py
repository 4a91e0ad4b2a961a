"""What crosses the sandbox's boundary: the limits a run gets, the tests it runs, what came out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, Sequence

MiB = 1024 * 1024

# How one run ended, most decisive first: a run stopped by a limit is reported as that
# limit even when some tests had already failed, since the rest never ran.
ExecutionStatus = Literal[
    "passed",        # every test passed
    "failed",        # a test's assertion failed (the first non-passing test decides)
    "error",         # the program raised while loading or in a test, other than an assertion
    "syntax_error",  # the program does not compile; no test ran
    "timeout",       # the CPU-time or wall-clock limit was reached
    "memory",        # the address-space limit was reached (MemoryError, or a failed allocation)
    "file_limit",    # a write went past the file-size or disk limit
    "process_limit", # a fork or thread start was refused by the process limit
    "output_limit",  # stdout or stderr went past its cap; the run was stopped there
    "killed",        # the process died from a signal not explained by a limit
    "exited",        # the program ended the process itself before its tests finished
    "sandbox_error", # the sandbox could not run the program (a bug or a broken setup, not the program)
]
TestStatus = Literal["passed", "failed", "error", "not_run"]


@dataclass(frozen=True)
class Limits:
    """Per-run limits; small defaults, since judged programs are short functions."""

    cpu_s: float = 2.0                 # CPU seconds (RLIMIT_CPU; rounded up to whole seconds)
    wall_s: float = 5.0                # wall-clock seconds, counted by the parent
    memory_bytes: int = 512 * MiB      # address space (RLIMIT_AS); the interpreter itself needs ~30 MiB
    file_bytes: int = 16 * MiB         # largest file the program may write (RLIMIT_FSIZE)
    disk_bytes: int = 32 * MiB         # size of each private tmpfs (working directory, /tmp), where mounted
    processes: int = 16                # processes and threads (RLIMIT_NPROC; see Isolation.process_limit)
    open_files: int = 64               # file descriptors (RLIMIT_NOFILE)
    output_bytes: int = 64 * 1024      # bytes kept of stdout and of stderr each; more stops the run

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"sandbox limit {field.name} must be a positive number, got {value!r}")
        if self.memory_bytes < 64 * MiB:
            raise ValueError(f"sandbox limit memory_bytes must be at least 64 MiB (the interpreter "
                             f"needs that), got {self.memory_bytes}")


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class, despite its name
    name: str    # shown as the first failing test
    source: str  # statements run after the program, in its namespace: "assert add(2, 3) == 5"


@dataclass(frozen=True)
class Program:
    """One job for the batch API: a program and its tests, as run_program takes them."""

    code: str
    tests: Sequence[TestCase] | str  # test cases, or a test source defining test_* / check(candidate)
    entry_point: str | None = None   # the function check(candidate) is given, for HumanEval-style tests
    prelude: str = ""                # run first, in the program's namespace: the imports its task's prompt gives


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False
    name: str
    status: TestStatus
    exception: str | None = None  # exception type name, e.g. "AssertionError", "IndexError"
    message: str = ""             # its message, truncated
    line: int | None = None       # line in the model's program where it was raised
    test_line: int | None = None  # line in the test's own source
    wall_s: float = 0.0


@dataclass(frozen=True)
class Execution:
    status: ExecutionStatus
    tests: tuple[TestOutcome, ...]  # one per test, in order; "not_run" after a stop
    first_failure: str | None       # name of the first test that did not pass
    exception: str | None           # the exception that decided the status, if any
    line: int | None                # its line in the model's program, if it was raised there
    message: str                    # one line saying why, for people
    stdout: str                     # captured, at most Limits.output_bytes (decoded leniently)
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    wall_s: float                   # whole run, interpreter start included
    cpu_s: float                    # user + system CPU of the sandbox's processes
    isolation: str                  # Isolation.method in force for this run

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def n_passed(self) -> int:
        return sum(t.status == "passed" for t in self.tests)


STORED_OUTPUT_CHARS = 2000  # of stdout and of stderr each, as the mistake log keeps a run


def execution_to_json(execution: Execution) -> str:
    """The one serialised form of a run, as an attempt stores it: captured output cut to
    STORED_OUTPUT_CHARS (its *_truncated flag set when cut)."""
    kept = replace(
        execution,
        stdout=execution.stdout[:STORED_OUTPUT_CHARS], stderr=execution.stderr[:STORED_OUTPUT_CHARS],
        stdout_truncated=execution.stdout_truncated or len(execution.stdout) > STORED_OUTPUT_CHARS,
        stderr_truncated=execution.stderr_truncated or len(execution.stderr) > STORED_OUTPUT_CHARS,
    )
    return json.dumps(asdict(kept), sort_keys=True)


def execution_from_json(text: str) -> Execution:
    """The run `execution_to_json` wrote; a malformed one raises ValueError saying what is wrong."""
    try:
        data: dict[str, Any] = json.loads(text)
        tests = tuple(TestOutcome(**t) for t in data.pop("tests"))
        return Execution(tests=tests, **data)
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stored sandbox run: {exc}") from None
