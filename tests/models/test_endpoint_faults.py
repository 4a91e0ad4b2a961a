"""`lessons eval --model openai:fault` against a real server process that fails on cue
(fault_server.py). A fault either heals within the retries, with no error; or it fails the
run with one line naming the endpoint and the cause, every finished attempt kept, and the
same command with the server back generates only what is missing.

Nothing rests on timing luck: a server is waited for until its port accepts connections, a
kill waits until the server has logged the request it is holding, and the only times checked
are lower bounds on the gaps between request arrivals, measured by the server.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from typer.testing import CliRunner

from lessons.cli import app
from lessons.models import ModelOptions
from lessons.models.openai_compat import OpenAIBackend
from lessons.store import Store

LOOPBACK = "127.0.0.1"
FAULT_SERVER = Path(__file__).with_name("fault_server.py")
DEADLINE_S = 30.0  # for a server to listen or log a request; generous for a loaded machine
QUESTIONS = [f"What is {i} + {i + 10}?" for i in range(6)]
SAMPLES = 2  # seeds 0 and 1
BAD = QUESTIONS[3]  # with --batch-size 2 and one request at a time: the second prompt of batch 2
KEPT = QUESTIONS[:3]  # what a run failing on BAD has finished: batch 1, and the first prompt of batch 2
# Attempts = max_retries + 1 = 3 and waits of ~0.05 s, so a fault that stays fails in moments;
# a timeout no loaded machine reaches by accident, except where timeouts are the point.
TIMING = {"max_retries": 2, "backoff_s": 0.05, "timeout_s": 30.0}
RESUME_HINT = " — completed attempts are kept; re-run the same command to resume"


class FaultServer:
    """fault_server.py as a child process on a fixed port, so it can be SIGKILLed and started
    again where the client expects it. Each start has its own request log."""

    def __init__(self, workdir: Path):
        with socket.socket() as s:  # a free port; nothing listens on it until start()
            s.bind((LOOPBACK, 0))
            self.port = s.getsockname()[1]
        self.base_url = f"http://{LOOPBACK}:{self.port}/v1"
        self.workdir = workdir
        self.starts = 0
        self.proc: subprocess.Popen | None = None

    def start(self, *rules: dict[str, Any]) -> None:
        self.starts += 1
        script = self.workdir / f"script{self.starts}.json"
        script.write_text(json.dumps({"rules": list(rules)}))
        self.log = self.workdir / f"requests{self.starts}.jsonl"
        self.stderr = self.workdir / f"server{self.starts}.err"
        with open(self.stderr, "wb") as err:  # a file, not a pipe: a pipe nobody reads can fill up
            self.proc = subprocess.Popen(
                [sys.executable, str(FAULT_SERVER), "--port", str(self.port), "--script", str(script),
                 "--log", str(self.log)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            )
        self._wait_until_listening()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown, the kernel closes its sockets
            self.proc.wait(timeout=DEADLINE_S)

    def requests(self) -> list[dict[str, Any]]:
        """What the server now running (or last run) has seen, in arrival order."""
        if not self.log.exists():
            return []
        # A line still being written is left for the next look.
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.endswith("}")]

    def wait_for_request(self, prompt: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not any(r["prompt"] == prompt for r in self.requests()):
            if time.monotonic() > deadline:
                pytest.fail(f"the fault server saw no request for {prompt!r} within {DEADLINE_S:.0f} s")
            time.sleep(0.02)  # polling interval, not a wait for anything to happen

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"fault server exited with {self.proc.returncode}: {self.stderr.read_text()}")
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=1.0).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"fault server did not listen on port {self.port} within {DEADLINE_S:.0f} s")
                time.sleep(0.02)


@pytest.fixture
def server(tmp_path: Path, loopback_no_proxy: None) -> Iterator[FaultServer]:
    fault_server = FaultServer(tmp_path)
    yield fault_server
    fault_server.kill()


@pytest.fixture
def tasks_file(tmp_path: Path) -> Path:
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": str(2 * i + 10)}) + "\n"
                            for i, q in enumerate(QUESTIONS)))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "log.db"


@pytest.fixture
def lessons_eval(db: Path, tasks_file: Path, register_model: Callable[..., None]) -> Callable[..., Any]:
    """`lessons eval --model openai:fault --base-url URL ...`, in-process, the same command at
    every call. The CLI has no flags for retry timing, so `openai:fault` is a registered
    test model: the endpoint backend the CLI would make, with TIMING, or with `timing`
    where a test is about it."""
    timing = dict(TIMING)

    def fast_backend(name: str, options: ModelOptions) -> OpenAIBackend:
        assert options.base_url
        return OpenAIBackend(name.removeprefix("openai:"), options.base_url, concurrency=options.concurrency, **timing)

    register_model("openai:fault", fast_backend)

    def run(base_url: str, **overrides: float) -> Any:
        timing.update(TIMING, **overrides)
        args = ["eval", "--model", "openai:fault", "--base-url", base_url, "--suite", str(tasks_file),
                "--samples", str(SAMPLES), "--batch-size", "2", "--concurrency", "1", "--run", "faults",
                "--db", str(db), "--json"]
        return CliRunner().invoke(app, args, catch_exceptions=False)

    return run


def logged(db: Path) -> Counter:
    """Attempts in the log per (question, sample)."""
    store = Store.open(db)
    try:
        return Counter((a.prompt, a.sample) for a in store.attempts(store.get_run("faults").id))
    finally:
        store.close()


def run_status(db: Path) -> str:
    store = Store.open(db)
    try:
        return store.get_run("faults").status
    finally:
        store.close()


def asked(server: FaultServer) -> list[tuple[str, int]]:
    return sorted((r["prompt"], r["seed"]) for r in server.requests())


def every(questions: list[str]) -> list[tuple[str, int]]:
    return sorted((q, k) for q in questions for k in range(SAMPLES))


def error_line(result: Any) -> str:
    """The one error line; the only line on stderr that says error, and the last one."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert [line for line in lines if "error" in line.lower()] == lines[-1:], result.stderr
    return lines[-1]


def assert_complete(result: Any, db: Path) -> None:
    assert result.exit_code == 0, result.output
    assert logged(db) == Counter(every(QUESTIONS))  # each (task, sample) once: none missing, none twice
    assert run_status(db) == "done"


def gaps(server: FaultServer) -> list[float]:
    times = [r["t"] for r in server.requests()]
    return [b - a for a, b in zip(times, times[1:])]


# --- faults that heal within the retries -----------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "500", "requests": [0, 1]},
        {"fault": "429", "requests": [0], "retry_after": 1},
        {"fault": "bad_json", "requests": [0, 1]},
        {"fault": "no_choices", "requests": [0, 1]},
    ],
    ids=lambda rule: rule["fault"],
)
def test_transient_fault_is_retried_and_the_run_completes(server, lessons_eval, db, fault):
    server.start(fault)
    assert_complete(lessons_eval(server.base_url), db)

    retried = len(fault["requests"])
    assert asked(server) == sorted(every(QUESTIONS) + [(QUESTIONS[0], 0)] * retried)
    waits = gaps(server)[:retried]
    if fault["fault"] == "429":
        assert waits[0] >= 1.0  # the server's Retry-After, not our 0.05 s backoff
    else:
        # Equal jitter: each wait is at least half its step, 0.05 s then 0.1 s.
        assert waits[0] >= 0.025 and waits[1] >= 0.05, waits


def test_timed_out_request_is_retried_and_the_run_completes(server, lessons_eval, db):
    server.start({"fault": "slow", "prompt": QUESTIONS[0], "times": 1, "sleep_s": 60})
    assert_complete(lessons_eval(server.base_url, timeout_s=1.0), db)

    # At least: a loaded machine may time out a fast request too, and that one is retried as well.
    assert Counter(asked(server))[(QUESTIONS[0], 0)] >= 2
    assert set(asked(server)) == set(every(QUESTIONS))


# --- faults that stay: one error line, finished attempts kept, the same command resumes ----------


def assert_failed_keeping_finished(result: Any, db: Path, url: str, cause: str) -> None:
    line = error_line(result)
    assert re.fullmatch(f"error: endpoint {re.escape(url)} {cause}{re.escape(RESUME_HINT)}", line), line
    assert logged(db) == Counter(every(KEPT))
    assert run_status(db) == "failed"


def assert_resumes_with_only_the_missing(server: FaultServer, lessons_eval, db: Path, **timing: float) -> None:
    server.kill()
    server.start()  # same port, no faults
    assert_complete(lessons_eval(server.base_url, **timing), db)
    # A set: under a 1 s timeout a starved machine may retry one; what matters is that none was kept.
    assert set(asked(server)) == set(every([q for q in QUESTIONS if q not in KEPT]))


@pytest.mark.parametrize(
    ("fault", "cause", "timing"),
    [
        pytest.param({"fault": "500"}, "kept failing after 3 attempts: HTTP 500: scripted internal error", {},
                     id="500"),
        pytest.param({"fault": "429", "retry_after": 0}, "kept failing after 3 attempts: HTTP 429: scripted rate limit",
                     {}, id="429"),
        pytest.param({"fault": "slow", "sleep_s": 60}, "unreachable after 3 attempts: request timed out",
                     {"timeout_s": 1.0}, id="timeout"),
        pytest.param({"fault": "bad_json"}, r"kept failing after 3 attempts: malformed response: invalid JSON \(.+\)",
                     {}, id="bad_json"),
        pytest.param({"fault": "no_choices"}, "kept failing after 3 attempts: malformed response: no choices in .+",
                     {}, id="no_choices"),
    ],
)
def test_fault_that_stays_fails_once_keeps_finished_attempts_and_resumes(
    server, lessons_eval, db, fault, cause, timing
):
    server.start({**fault, "prompt": BAD})
    assert_failed_keeping_finished(lessons_eval(server.base_url, **timing), db, server.base_url, cause)
    # BAD's first sample made its 3 attempts. Its second may have gone out once too: the pool's
    # worker takes it up before the failed batch is stopped.
    assert Counter(asked(server))[(BAD, 0)] == 3
    assert_resumes_with_only_the_missing(server, lessons_eval, db, **timing)


def test_connection_refused_then_server_comes_up(server, lessons_eval, db):
    result = lessons_eval(server.base_url)  # nothing listens yet
    assert error_line(result) == (
        f"error: endpoint {server.base_url} unreachable after 3 attempts: Connection refused{RESUME_HINT}"
    )
    assert logged(db) == Counter() and run_status(db) == "failed"

    server.start()
    assert_complete(lessons_eval(server.base_url), db)
    assert asked(server) == every(QUESTIONS)


def test_server_killed_mid_request_then_restarted_on_the_same_port(server, lessons_eval, db):
    server.start({"fault": "slow", "prompt": BAD})  # holds BAD's request until killed
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(lessons_eval, server.base_url)
        server.wait_for_request(BAD)
        server.kill()
        result = running.result(timeout=DEADLINE_S)
    # The request on the wire sees the connection drop; the retries find the port closed.
    assert_failed_keeping_finished(result, db, server.base_url, "unreachable after 3 attempts: Connection refused")
    assert_resumes_with_only_the_missing(server, lessons_eval, db)
