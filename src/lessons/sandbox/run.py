"""Run a model-written program and its tests in a sandbox process; many of them in parallel.

    from lessons.sandbox import Limits, TestCase, run_program
    run = run_program("def add(a, b):\\n    return a - b\\n",
                      [TestCase("small", "assert add(2, 3) == 5")], Limits(cpu_s=1))
    run.status, run.first_failure, run.line    # "failed", "small", None

The program never runs in this process: see isolation.py for what stands around it.
"""

from __future__ import annotations

import ast
import marshal
import os
import pwd
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Sequence

from lessons.sandbox.extract import syntax_problem
from lessons.sandbox.isolation import HARNESS, NOBODY, Isolation, isolation, masks
from lessons.sandbox.outcome import Ending, Streams, decide
from lessons.sandbox.reap import kill_tree
from lessons.sandbox.records import Execution, Limits, Program, TestCase

RESULT_CAP = 4 * 1024 * 1024  # bytes of result lines read; more is a program forging them
_GRACE_S = 0.2  # after the harness says it is done, how long its pipes may take to close
_READ = 65536
_DONE = b"{'event': 'done'"  # the harness's last line (a line split across reads just waits for EOF)


def run_program(code: str, tests: Sequence[TestCase] | str, limits: Limits = Limits(),
                *, entry_point: str | None = None, setup: Isolation | None = None, prelude: str = "") -> Execution:
    """Run `code` then its tests in a fresh sandbox process; the result of every test.
    `prelude` runs first in the program's namespace (the imports a task's prompt gives, as
    HumanEval's prompt + completion has them); the program's line numbers stay its own.
    `setup` defaults to the strongest isolation this machine allows (`isolation()`)."""
    return _sandboxed(code, tests, limits, entry_point, setup, prelude)[0]


def _sandboxed(code: str, tests: Sequence[TestCase] | str, limits: Limits, entry_point: str | None,
               setup: Isolation | None, prelude: str, extra: dict | None = None) -> tuple[Execution, list[dict]]:
    """The run and the harness's events; `extra` joins the job (a trace job's reference)."""
    if not isinstance(code, str):
        raise TypeError(f"the program must be a str, got {type(code).__name__}")
    setup = setup or isolation()
    workdir = tempfile.mkdtemp(prefix="lessons-sandbox-")
    try:
        if setup.dropped:
            os.chown(workdir, NOBODY, NOBODY)  # the dropped user works there
        job = _job(code, tests, entry_point, limits, setup, workdir) | {"prelude": prelude} | (extra or {})
        return _execute(job, limits, setup, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_programs(programs: Sequence[Program], limits: Limits = Limits(), workers: int = 2,
                 setup: Isolation | None = None) -> list[Execution]:
    """Run each program in its own sandbox, `workers` at a time; results in input order.
    Threads only wait on pipes here: the work happens in the sandbox processes."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    setup = setup or isolation()  # probed once here, not in each worker thread

    def one(program: Program) -> Execution:
        return run_program(program.code, program.tests, limits, entry_point=program.entry_point,
                           setup=setup, prelude=program.prelude)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        return list(pool.map(one, programs))


def _job(code: str, tests: Sequence[TestCase] | str, entry_point: str | None, limits: Limits,
         setup: Isolation, workdir: str) -> dict:
    if isinstance(tests, str):
        cases, source = None, tests
        _check_test_source("the test source", tests)
    else:
        cases, source = [{"name": t.name, "source": t.source} for t in tests], None
        if not cases:
            raise ValueError("a program needs at least one test to be judged")
        for test in tests:
            _check_test_source(f"test {test.name!r}", test.source)
    return {
        "code": code, "tests": cases, "test_source": source, "entry_point": entry_point,
        "limits": asdict(limits), "workdir": workdir,
        "masks": masks(_homes(), setup.python) if setup.private_mounts else [],
        "mounts": setup.private_mounts, "drop_caps": setup.private_mounts,
        "linger": not setup.pid_namespace,  # see reap.py
        # the harness's parent, to check it is still there; inside a PID namespace it is unshare,
        # whose own death signal and --kill-child stand in for the check
        "parent": None if setup.pid_namespace else os.getpid(),
    }


def _homes() -> list[str]:
    """The user's home as $HOME says and as the password database says: both are hidden."""
    homes = [os.path.expanduser("~")]
    try:
        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass  # a uid without an entry: $HOME is all there is
    return homes


def _check_test_source(what: str, source: str) -> None:
    """Tests are the caller's, not the model's: one that does not parse is a usage error here,
    not a run that fails in the sandbox."""
    problem = syntax_problem(source) if isinstance(source, str) else "it is not a str"
    if problem:
        raise ValueError(f"{what} cannot be used: {problem}")


def _environment(workdir: str) -> dict[str, str]:
    """Nothing of ours leaks in (tokens, proxies, paths): a minimal environment."""
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def _execute(job: dict, limits: Limits, setup: Isolation, workdir: str) -> tuple[Execution, list[dict]]:
    read_end, write_end = os.pipe()
    job["result_fd"], job["token"] = write_end, secrets.token_hex(16)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [*setup.prefix, setup.python, "-I", "-S", str(HARNESS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(write_end,), start_new_session=True, env=_environment(workdir),
            cwd=workdir, close_fds=True,
        )
    except OSError as exc:
        os.close(read_end)
        return decide([], Streams(err=bytearray(str(exc).encode())), Ending(None, 0.0, 0.0, True),
                      limits, job, setup.method), []
    finally:
        os.close(write_end)
    try:
        with os.fdopen(read_end, "rb", buffering=0) as results:
            streams = _collect(proc, results, job, limits, start + limits.wall_s)
    finally:  # whatever happens here (Ctrl-C included), nothing of the run is left running
        returncode, cpu_s = _reap(proc, setup)
    events = _events(streams.results, job["token"])
    ending = Ending(returncode, time.monotonic() - start, cpu_s)
    return decide(events, streams, ending, limits, job, setup.method), events


def _collect(proc: subprocess.Popen, results, job: dict, limits: Limits, deadline: float) -> Streams:
    """Write the job to the child's stdin and read its three pipes until they close, the output
    cap is passed or the wall clock runs out. Nothing blocks without a deadline and nothing
    keeps more than the caps."""
    streams = Streams()
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): (streams.out, limits.output_bytes),
               proc.stderr.fileno(): (streams.err, limits.output_bytes),
               results.fileno(): (streams.results, RESULT_CAP)}
    job_bytes = memoryview(marshal.dumps(job, 4))  # format 4 reads the same on any Python 3
    stdin_fd = proc.stdin.fileno()
    with selectors.DefaultSelector() as selector:
        os.set_blocking(stdin_fd, False)
        selector.register(stdin_fd, selectors.EVENT_WRITE)
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                streams.wall_expired = True  # unless the harness had finished: decide() checks
                break
            for key, _ in selector.select(remaining):
                if key.fd == stdin_fd:
                    job_bytes = _write_some(selector, proc.stdin, job_bytes)
                    continue
                finished = _read_some(selector, key.fd, buffers, results.fileno(), limits, streams)
                if streams.over_cap:
                    return streams
                if finished:  # children may still hold the pipes open: a short grace, no more
                    deadline = min(deadline, time.monotonic() + _GRACE_S)
    return streams


def _write_some(selector: selectors.BaseSelector, stdin, pending: memoryview) -> memoryview:
    try:
        pending = pending[os.write(stdin.fileno(), pending[:_READ]):]
    except (BrokenPipeError, OSError):
        pending = pending[:0]  # the child died before reading: its exit status says why
    if not pending:
        selector.unregister(stdin.fileno())
        stdin.close()
    return pending


def _read_some(selector: selectors.BaseSelector, fd: int, buffers: dict, results_fd: int,
               limits: Limits, streams: Streams) -> bool:
    """Read one chunk into its capped buffer; True once the harness has said it is done."""
    chunk = os.read(fd, _READ)
    buffer, cap = buffers[fd]
    if not chunk:
        selector.unregister(fd)
        return fd == results_fd
    room = cap - len(buffer)
    buffer += chunk[:max(room, 0)]
    if len(chunk) > room and cap == limits.output_bytes:
        streams.over_cap = True
    return fd == results_fd and _DONE in chunk


def _reap(proc: subprocess.Popen, setup: Isolation) -> tuple[int | None, float]:
    """Kill the whole process group (the leader is not reaped yet, so its group id cannot have
    been reused), then reap the leader: its exit status and the CPU its processes used.
    In a PID namespace the kernel kills the rest; elsewhere every descendant is hunted down."""
    if not setup.pid_namespace:
        kill_tree(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _events(raw: bytearray, token: str) -> list[dict]:
    """The harness's result lines (Python literals, read with ast.literal_eval, which evaluates
    nothing); a line that is not a dict carrying this run's token is skipped, not trusted."""
    events = []
    for line in bytes(raw).decode("utf-8", "replace").splitlines():
        if token not in line:
            continue
        try:
            event = ast.literal_eval(line)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(event, dict) and event.get("token") == token:
            events.append(event)
    return events
