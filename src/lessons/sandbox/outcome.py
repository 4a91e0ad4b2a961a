"""From what came back (result lines, pipes, exit status) to one Execution with one status."""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass, field

from lessons.sandbox.records import Execution, ExecutionStatus, Limits, TestOutcome

_DISK_ERRNOS = {errno.EFBIG, errno.ENOSPC, errno.EDQUOT}
_UNSHARE_SIGKILL = b"unshare: sigprocmask unblock failed"


@dataclass
class Streams:
    """What came back through the child's pipes, read with caps (filled in by run.py)."""

    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    results: bytearray = field(default_factory=bytearray)
    over_cap: bool = False      # stdout or stderr went past Limits.output_bytes
    wall_expired: bool = False  # the wall clock ran out before the pipes closed


@dataclass(frozen=True)
class Ending:
    """How the sandbox's first process ended."""

    returncode: int | None  # negative: killed by that signal; None: never started
    wall_s: float
    cpu_s: float            # user + system, its waited-for descendants included
    failed_to_start: bool = False


def decide(events: list[dict], streams: Streams, ending: Ending, limits: Limits, job: dict,
           method: str) -> Execution:
    """One status for the run: a stop (limit, signal, early exit) first, else the tests' own."""
    kinds = {e.get("event") for e in events}
    stop, deciding, why = _stop(events, kinds, streams, ending, limits)
    # A test was cut off (by the wall clock, the output cap, a signal) if the run stopped after
    # loading and the stop was not one a test reported itself (the CPU limit's handler).
    cut_off = stop is not None and "loaded" in kinds and not (deciding and deciding.get("event") == "test")
    tests = _outcomes(events, job, stopped=cut_off, reason=stop)
    first = next((t for t in tests if t.status in ("failed", "error")), None)
    if stop is None:
        stop, deciding = _judged(events, first)
    message = why or _message(stop, deciding, first, streams)
    return Execution(
        status=stop, tests=tests, first_failure=first.name if first else None,
        exception=_text(deciding.get("exception")) if deciding else None,
        line=_int(deciding.get("line")) if deciding else None, message=message,
        stdout=bytes(streams.out).decode("utf-8", "replace"),
        stderr=bytes(streams.err).decode("utf-8", "replace"),
        stdout_truncated=streams.over_cap and len(streams.out) >= limits.output_bytes,
        stderr_truncated=streams.over_cap and len(streams.err) >= limits.output_bytes,
        wall_s=round(ending.wall_s, 4), cpu_s=round(ending.cpu_s, 4), isolation=method,
    )


def _stop(events: list[dict], kinds: set, streams: Streams, ending: Ending,
          limits: Limits) -> tuple[ExecutionStatus | None, dict | None, str]:
    """The status of a run that did not get to the end of its tests (or None), and why."""
    cpu_limit = max(1, int(limits.cpu_s + 0.999))
    cpu_why = f"the CPU time limit ({cpu_limit} s) was reached"
    returncode = ending.returncode
    if ending.failed_to_start:
        return "sandbox_error", None, ""
    if streams.over_cap:
        return "output_limit", None, (f"the program wrote more than {limits.output_bytes} bytes "
                                      "to stdout or stderr; the run was stopped there")
    timed_out = next((e for e in events if e.get("outcome") == "timeout"), None)
    if timed_out is not None:
        return "timeout", timed_out, cpu_why
    if "done" in kinds:
        return None, None, ""
    if streams.wall_expired:
        return "timeout", None, f"the wall-clock limit ({limits.wall_s:g} s) was reached"
    if ending.cpu_s >= cpu_limit - 0.05 or returncode == -signal.SIGXCPU:
        return "timeout", None, cpu_why  # the hard CPU limit's SIGKILL, seen from outside
    if returncode is not None and returncode < 0:
        return "killed", None, f"the sandbox process died from signal {-returncode}"
    if returncode == 1 and _UNSHARE_SIGKILL in streams.err:
        # util-linux 2.38's unshare cannot pass a SIGKILL of its child on: it says this, exits 1
        return "killed", None, f"the sandbox process died from signal {signal.SIGKILL.value}"
    if "start" not in kinds:
        return "sandbox_error", None, ""
    return "exited", None, (f"the program ended the process (exit code {returncode}) "
                            "before its tests finished")


def _judged(events: list[dict], first: TestOutcome | None) -> tuple[ExecutionStatus, dict | None]:
    """The status of a run whose harness finished: the program's own failure decides."""
    broken = next((e for e in events if e.get("event") == "harness_error"), None)
    if broken is not None:
        return "sandbox_error", broken
    syntax = next((e for e in events if e.get("event") == "syntax_error"), None)
    if syntax is not None:
        return "syntax_error", syntax
    load = next((e for e in events if e.get("event") == "load"), None)
    if load is not None:
        return _classify(load), load
    if first is None:
        return "passed", None
    event = next((e for e in events if e.get("event") == "test" and e.get("name") == first.name
                  and e.get("outcome") != "passed"), None)
    if event is None:
        return "sandbox_error", None
    return ("failed", event) if first.status == "failed" else (_classify(event), event)


def _classify(event: dict) -> ExecutionStatus:
    if event.get("exception") == "MemoryError":
        return "memory"
    if event.get("errno") in _DISK_ERRNOS:
        return "file_limit"
    if (event.get("errno") == errno.EAGAIN and event.get("exception") == "BlockingIOError") or (
            event.get("exception") == "RuntimeError"
            and "can't start new thread" in (_text(event.get("message")) or "")):
        return "process_limit"  # fork() refused with EAGAIN, or a thread start refused
    return "error"


def _outcomes(events: list[dict], job: dict, stopped: bool, reason: str | None) -> tuple[TestOutcome, ...]:
    """One outcome per test: reported ones in order, then the test cut off, then not-run ones."""
    reported = [_outcome(e, job) for e in events if e.get("event") == "test"]
    if job["tests"] is None:
        return tuple(reported)
    names = [t["name"] for t in job["tests"]]
    rest = []
    for i, name in enumerate(names[len(reported):]):
        cut_off = i == 0 and stopped
        rest.append(TestOutcome(name, "error" if cut_off else "not_run",
                                message=f"stopped: {reason}" if cut_off else ""))
    return tuple(reported) + tuple(rest)


def _outcome(event: dict, job: dict) -> TestOutcome:
    outcome = event.get("outcome")
    status = outcome if outcome in ("passed", "failed", "error") else "error"
    message = _text(event.get("message")) or ""
    if outcome == "failed" and not message:
        message = _source_line(job, _text(event.get("name")), _int(event.get("test_line")))
    if outcome == "timeout":
        message = "stopped: CPU time limit reached"
    return TestOutcome(
        name=_text(event.get("name")) or "?", status=status,
        exception=_text(event.get("exception")), message=message,
        line=_int(event.get("line")), test_line=_int(event.get("test_line")),
        wall_s=float(event["wall_s"]) if isinstance(event.get("wall_s"), (int, float)) else 0.0,
    )


def _source_line(job: dict, name: str | None, line: int | None) -> str:
    """The failing assert's own text, for an AssertionError that carries no message."""
    source = next((t["source"] for t in job["tests"] or () if t["name"] == name), job["test_source"])
    lines = (source or "").splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else ""


def _message(status: str, deciding: dict | None, first: TestOutcome | None, streams: Streams) -> str:
    """One line for a run its harness finished (or could not start)."""
    if status == "passed":
        return "every test passed"
    if status == "sandbox_error" and deciding is not None:
        return f"the tests could not be run: {_text(deciding.get('message')) or '?'}"
    if status == "sandbox_error":
        tail = bytes(streams.err[-300:]).decode("utf-8", "replace").strip().splitlines()
        return "the sandbox could not run the program" + (f": {tail[-1]}" if tail else "")
    exc = _exception_text(deciding)
    if status == "syntax_error":
        return f"the program does not compile: {exc}"
    if deciding is not None and deciding.get("event") == "load":
        return f"the program raised while loading: {exc}"
    name = first.name if first else "?"
    if status == "failed":
        return f"test {name!r} failed: {first.message if first and first.message else exc}"
    return f"test {name!r}: {exc} ({status})" if status != "error" else f"test {name!r}: {exc}"


def _exception_text(deciding: dict | None) -> str:
    if not deciding or not deciding.get("exception"):
        return ""
    line = _int(deciding.get("line"))
    where = f" at program line {line}" if line else ""
    message = _text(deciding.get("message")) or ""
    return f"{deciding['exception']}{where}" + (f": {message}" if message else "")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
