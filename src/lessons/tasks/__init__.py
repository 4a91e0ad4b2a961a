"""Tasks and suites: the built-in `arith` generator, task files (GSM8K, SVAMP, generic
JSONL / JSON / CSV / Parquet), and `load_suite` to find either by name or path."""

from lessons.tasks.arith import ArithSuite
from lessons.tasks.base import CODE_DEFAULTS, GoldStep, Suite, SuiteDefaults, SuiteInfo, Task, split_for, suite_defaults
from lessons.tasks.files import FieldMap, FileSuite, TaskFileError
from lessons.tasks.suites import SUITES, UnknownSuite, load_suite, summarize
from lessons.tasks._steps import fmt  # exact text of a number, as gold steps write it

__all__ = [
    "ArithSuite",
    "CODE_DEFAULTS",
    "SuiteDefaults",
    "suite_defaults",
    "FieldMap",
    "FileSuite",
    "GoldStep",
    "SUITES",
    "Suite",
    "SuiteInfo",
    "Task",
    "TaskFileError",
    "UnknownSuite",
    "fmt",
    "load_suite",
    "split_for",
    "summarize",
]
