"""The sandbox's inner half: run inside the child as `python -I -S _harness.py`.

It reads one job from stdin (marshal: importing json would cost each run ~15 ms), closes
the doors it can close from inside (private tmpfs over /tmp and the user's home and a
private /proc when it owns a mount namespace, resource limits, no capabilities), then runs
the program and its tests and writes one line per event to the result pipe, as a Python
literal the parent reads back with ast.literal_eval. Stdlib only, and nothing from `lessons`: this file is run by
path by a bare interpreter, possibly as another user who cannot read the package's
dependencies. Nothing here is trusted by the parent beyond "what the program reported":
the program runs in this very process and could forge these lines (see isolation.py).
"""

from __future__ import annotations

import ctypes
import marshal
import os
import resource
import signal
import sys
import time

PROGRAM = "<program>"
REFERENCE = "<reference>"  # a task's reference solution, traced beside the program (`trace.py`)
MAX_MESSAGE = 2_000  # characters of an exception message kept per test
MAX_VALUE = 300  # characters of a traced value's repr kept (and compared)
MAX_TRACE = 100_000  # line events traced per call, at most: past that the trace is cut
_SUSPENDS = 0x20 | 0x80 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECUREBITS = 1, 24, 38, 28
_PR_SET_CHILD_SUBREAPER = 36
_LINGER_S = 60  # longest wait to be killed after the last result, should the parent never do it
_SECBIT_NOROOT_LOCKED = 0x3  # root in this namespace gains no capabilities on exec, locked
_CAP_VERSION_3 = 0x20080522


class _Results:
    """The result pipe. Each line carries the parent's one-time token, so a program that writes
    into inherited descriptors cannot pass its own lines off as results without digging the
    token out of this process's memory."""

    def __init__(self, stream, token: str) -> None:
        self._stream, self._token = stream, token

    def send(self, record: dict) -> None:
        # repr() of str/int/float/None values is one line that ast.literal_eval reads back
        self._stream.write(repr({**record, "token": self._token}) + "\n")

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


class CpuLimit(BaseException):
    """Raised by the SIGXCPU handler: the soft CPU limit was reached (the hard one kills)."""


def main() -> None:
    job = marshal.loads(sys.stdin.buffer.read())  # from the parent, trusted; json costs ~15 ms of imports
    result_fd = job.pop("result_fd")
    os.set_inheritable(result_fd, False)  # a program exec'ing another binary does not take it along
    results = _Results(os.fdopen(result_fd, "w", buffering=1, encoding="utf-8"), job.pop("token"))
    _close_stdin()
    # Orphans of the program are re-parented here, not to init, so the parent can find and
    # kill them where no PID namespace does (see reap.py).
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the tool gone: so are we
    if job["parent"] is not None and os.getppid() != job["parent"]:
        os._exit(71)  # it was gone before the line above: nobody will read our results
    if job["mounts"]:
        _private_mounts(job)
    if job["drop_caps"]:
        _drop_capabilities()
    os.chdir(job["workdir"])
    _set_limits(job["limits"])
    _run(job, results)
    results.send({"event": "done"})
    results.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    if job["linger"]:
        _linger(results)
    os._exit(0)  # skip interpreter teardown: nothing to clean in a throwaway process


def _linger(results: "_Results") -> None:
    """Without a PID namespace, stay alive (as the subreaper of the program's orphans) until the
    parent has killed them and then us: exiting first would hand them to init, out of reach."""
    results.close()
    for fd in (1, 2):
        os.close(fd)
    time.sleep(_LINGER_S)


def _close_stdin() -> None:
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot {what}: {os.strerror(err)}")


def _private_mounts(job: dict) -> None:
    """Fresh size-capped tmpfs over shared writable places and over the user's home."""
    libc = _libc()
    size = f"size={job['limits']['disk_bytes']},mode=1777".encode()
    for target in job["masks"]:
        if os.path.isdir(target):
            _mount_tmpfs(libc, target, size)
    # This PID namespace's own /proc: the host's would show every process's command line.
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None),
           "mount a private /proc")
    os.makedirs(job["workdir"], exist_ok=True)
    if not any(_under(job["workdir"], m) for m in job["masks"]):
        _mount_tmpfs(libc, job["workdir"], size)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _mount_tmpfs(libc: ctypes.CDLL, target: str, options: bytes) -> None:
    _check(libc.mount(b"tmpfs", target.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options),
           f"mount a private tmpfs on {target}")


def _drop_capabilities() -> None:
    """Root of the user namespace keeps no capability, so the program cannot undo the mounts."""
    libc = _libc()
    libc.prctl(_PR_SET_SECUREBITS, _SECBIT_NOROOT_LOCKED, 0, 0, 0)
    cap = 0
    while libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, twice: all empty
    _check(libc.capset(header, data), "drop capabilities")
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _set_limits(limits: dict) -> None:
    cpu = max(1, int(limits["cpu_s"] + 0.999))  # RLIMIT_CPU counts whole seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # soft: SIGXCPU, hard: SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write then fails with EFBIG

    def on_cpu(signum: int, frame: object) -> None:
        raise CpuLimit()

    signal.signal(signal.SIGXCPU, on_cpu)


def _run(job: dict, results) -> None:
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(job["code"], PROGRAM, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte in the source
        _emit(results, "syntax_error", None, exc, time.perf_counter(), "syntax_error")
        return
    prelude = compile(job.get("prelude") or "", "<prelude>", "exec", dont_inherit=True)  # the task's, not the model's
    results.send({"event": "start"})  # from here on, the program's doing
    start = time.perf_counter()
    if not _call(results, "load", None, lambda: (exec(prelude, namespace), exec(code, namespace)), start):
        return
    results.send({"event": "loaded"})
    recorder = _Recorder(namespace, job["entry_point"]) if job.get("reference") is not None else None
    tests = _tests(job, namespace)
    while True:
        try:
            name, run = next(tests)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the caller's test source, not the program, broke
            results.send({"event": "harness_error", "message": "%s: %s" % (type(exc).__name__, exc)})
            return
        start = time.perf_counter()
        if recorder is not None:
            run = recorder.watch(name, run)
        if not _call(results, "test", name, run, start):
            return
        if recorder is not None and recorder.failed:
            _trace_divergence(job, recorder, results)
            return


class _Recorder:
    """In a trace job, the program's entry point wrapped to record the arguments of each
    outermost call a test makes (copied before the call), until a test fails."""

    def __init__(self, namespace: dict, entry: str) -> None:
        import copy

        self.copy, self.test, self.calls, self.depth = copy, None, [], 0
        self.function = namespace.get(entry)
        self.failed = False
        if not callable(self.function):
            return  # no entry point to record: the trace will say there was no call

        def recorded(*args, **kwargs):
            if self.depth == 0:
                try:
                    self.calls.append((self.test, self.copy.deepcopy((args, kwargs))))
                except Exception:  # noqa: BLE001 - arguments that do not copy are kept as they are
                    self.calls.append((self.test, (args, kwargs)))
            self.depth += 1
            try:
                return self.function(*args, **kwargs)
            finally:
                self.depth -= 1

        namespace[entry] = recorded

    def watch(self, name: str, run):
        """Test `name`'s callable, noting whether it failed."""
        def watched():
            self.test = name
            try:
                run()
            except BaseException:
                self.failed = True
                raise
        return watched


def _trace_divergence(job: dict, recorder: "_Recorder", results) -> None:
    """For the first failing test: each call it made to the entry point, run again traced,
    in the program and in the reference, until one whose outcomes differ; then the first
    line of the program whose values part from every one of the reference's (`_parts`).
    Reported as one `trace` event (`lessons.sandbox.trace` reads it and says more)."""
    reference = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(job.get("prelude") or "", "<prelude>", "exec", dont_inherit=True), reference)
        exec(compile(job["reference"], REFERENCE, "exec", dont_inherit=True), reference)
        expected_fn = reference[job["entry_point"]]
    except BaseException as exc:  # noqa: BLE001 - a reference that does not load: nothing to compare
        results.send({"event": "trace", "test": recorder.test, "problem": "the reference does not load: "
                      + _describe(exc)["exception"]})
        return
    calls = [args for test, args in recorder.calls if test == recorder.test]
    recorder.depth += 1  # the traced calls below are not the tests': not recorded
    for args, kwargs in calls:
        try:
            want, want_events = _traced(expected_fn, REFERENCE, args, kwargs, recorder.copy)
            got, got_events = _traced(recorder.function, PROGRAM, args, kwargs, recorder.copy)
        except CpuLimit:
            results.send({"event": "trace", "test": recorder.test,
                          "problem": "the CPU time limit was reached while tracing"})
            return
        if want == got:
            continue
        line, variable, value, after = _parts(got_events, want_events)
        results.send({"event": "trace", "test": recorder.test, "call": _shown((args, kwargs)),
                      "expected": want, "got": got, "line": line, "variable": variable, "value": value, "after": after,
                      "events": len(got_events)})
        return
    results.send({"event": "trace", "test": recorder.test, "calls": len(calls),
                  "problem": "no call to the entry point in the failing test gives another result "
                             "than the reference's"})


def _parts(got: list, want: list):
    """(line, variable, value, the line run before it) of the program's first event that no
    history of the reference can follow; all None when every event follows one.

    A history is the values one variable takes in one frame, in order ("return": the value
    the frame returns). A variable of the program follows a history of the reference while
    the values it has taken are, in order, among that history's (a subsequence: the program
    may skip states the reference passes through, as a sum() skips an accumulator's). A
    value given to a frame as an argument is not the frame's doing: it joins a history but
    is never flagged. A line that raises an exception of a type the reference never raises,
    and the line that returns the call's (wrong) result, are wrong when nothing before them
    was."""
    histories: dict = {}
    raised = set()  # exception types the reference raised (and caught, or not) somewhere
    for _, key, name, shown, given, _ in want:
        if name == "raise":
            raised.add(shown)
        else:
            histories.setdefault(key, []).append(shown)
    where: dict = {}  # the program's (frame, variable) -> {history: position matched so far}
    for line, key, name, shown, given, after in got:
        if name == "raise" and shown in raised:
            continue  # the reference raises it too: a parse attempt caught, say
        if name == "raise" or (name == "return" and key[0] == 1):
            return line, name, shown, after  # the call's own outcome, which differs, when nothing before it did
        if shown is None:  # a value whose repr holds an address: never the same twice
            continue
        at = where.get(key)
        if at is None:
            at = {h: -1 for h in histories}
        moved = {}
        for h, pos in at.items():
            values = histories[h]
            nxt = _index(values, shown, pos + 1)
            if nxt is not None:
                moved[h] = nxt
        if moved:
            where[key] = moved
        elif given:
            where.pop(key, None)  # an argument no history holds: follow from the frame's own values on
        else:
            return line, name, shown, after
    return None, None, None, None


def _index(values: list, value: str, start: int):
    for i in range(start, len(values)):
        if values[i] == value:
            return i
    return None


def _traced(function, filename: str, args, kwargs, copy) -> tuple[str, list]:
    """`function` called on copies of the arguments with a line tracer on the frames of
    `filename`: its outcome ("returned …" / "raised …") and the events in the order they
    happened, (line, (frame, variable), variable, value, given, after): a variable a line
    changed, "return" with the value a frame returned, "raise" with the type of an exception
    a line raised; `given` marks the values a frame started with (its arguments), `after`
    is the line the frame ran just before `line` (None for its first)."""
    events: list = []
    last: dict = {}  # frame -> (its number, the line being run, its locals before it ran, the line run before it)
    frames = [0]

    def local(frame, event, arg):
        if len(events) >= MAX_TRACE:
            sys.settrace(None)
            return None
        seen = last.get(frame)
        now = {k: _shown(v) for k, v in frame.f_locals.items() if not k.startswith(".")}
        if seen is None:
            frames[0] += 1
            number, line, after = frames[0], None, None
            events.extend((frame.f_lineno, (number, k), k, _plain(v), True, None) for k, v in now.items())
        else:
            number, line, before, after = seen
            events.extend((line, (number, k), k, _plain(v), False, after)
                          for k, v in now.items() if before.get(k) != v)
        if event == "line":
            last[frame] = (number, frame.f_lineno, now, line)
        elif event == "exception":
            events.append((frame.f_lineno, (number, "raise"), "raise", arg[0].__name__, False, after))
            last[frame] = (number, frame.f_lineno, now, after)
        elif event == "return":
            if not frame.f_code.co_flags & _SUSPENDS:  # a generator "returns" at each yield, and None at its end
                events.append((frame.f_lineno, (number, "return"), "return", _plain(_shown(arg)), False, after))
            last.pop(frame, None)
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename == filename else None

    try:
        args, kwargs = copy.deepcopy((args, kwargs))
    except Exception:  # noqa: BLE001 - arguments that do not copy are passed as they are
        pass
    sys.settrace(calls)
    try:
        outcome = "returned " + _shown(function(*args, **kwargs))
    except CpuLimit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the program's failure is an outcome
        outcome = "raised " + type(exc).__name__
    finally:
        sys.settrace(None)
    return outcome, events


def _plain(shown: str):
    """The repr, or None for one that names an address ("<object at 0x7f…>"): no two runs share it."""
    return None if " at 0x" in shown else shown


def _shown(value) -> str:
    try:
        return repr(value)[:MAX_VALUE]
    except CpuLimit:  # a __repr__ that never returns: the trace stops, it is not a value
        raise
    except BaseException:  # noqa: BLE001 - a hostile __repr__
        return "<unprintable>"


def _tests(job: dict, namespace: dict):
    """(name, callable) for each test, in order; test sources run in the program's namespace."""
    if job["tests"] is not None:
        for test in job["tests"]:
            code = compile(test["source"], f"<test:{test['name']}>", "exec", dont_inherit=True)
            yield test["name"], lambda code=code: exec(code, namespace)
        return
    before = dict(namespace)
    exec(compile(job["test_source"], "<test:source>", "exec", dont_inherit=True), namespace)
    entry = job["entry_point"]
    found = False
    for name, value in list(namespace.items()):
        # only what the test source defined: a program's own test_* helpers are not tests
        if name.startswith("test") and callable(value) and before.get(name) is not value:
            found = True
            yield name, value
    if entry is not None and callable(namespace.get("check")):
        found = True
        yield "check", lambda: namespace["check"](namespace[entry])
    if not found:
        raise ValueError("the test source defines no test_* function and no check(candidate)")


def _call(results, event: str, name: str | None, run, start: float) -> bool:
    """Run one step; report it; False when the run must stop (the CPU limit was reached)."""
    owner = os.getpid()
    try:
        run()
    except CpuLimit as exc:
        _leave_if_forked(owner)
        _emit(results, "timeout", name, exc, start, event)
        return False
    except BaseException as exc:  # noqa: BLE001 - every failure of the program is a result
        _leave_if_forked(owner)
        if event == "load":
            _emit(results, "error", name, exc, start, event)
            return False
        _emit(results, "failed" if isinstance(exc, AssertionError) else "error", name, exc, start)
        return True
    _leave_if_forked(owner)
    if event == "test":
        _emit(results, "passed", name, None, start)
    return True


def _leave_if_forked(owner: int) -> None:
    """A child the program forked has come back into the harness: it must not report results."""
    if os.getpid() != owner:
        os._exit(0)


def _emit(results, outcome: str, name, exc, start: float, event: str = "test") -> None:
    record = {"event": event, "name": name, "outcome": outcome,
              "wall_s": round(time.perf_counter() - start, 6)}
    if exc is not None:
        record.update(_describe(exc))
    results.send(record)


def _describe(exc: BaseException) -> dict:
    """Exception type, message, the line in the program where it was raised, and the test's line."""
    program_line = test_line = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == PROGRAM:
            program_line = tb.tb_lineno
        elif filename.startswith("<test:"):
            test_line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == PROGRAM:
        program_line = exc.lineno
    try:  # "%s" gives an exact str even when __str__ returns a subclass with its own repr
        message = ("%s" % (exc.msg if isinstance(exc, SyntaxError) else exc,))[:MAX_MESSAGE]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        message = "<unprintable>"
    return {"exception": type(exc).__name__, "message": message, "line": program_line,
            "test_line": test_line, "errno": getattr(exc, "errno", None)
            if isinstance(getattr(exc, "errno", None), int) else None}


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # noqa: BLE001 - the parent reads this as a sandbox error
        import traceback  # only now: importing it costs every run a few milliseconds

        traceback.print_exc()
        os._exit(70)
