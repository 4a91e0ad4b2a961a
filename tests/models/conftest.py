"""Fixtures for the OpenAI-compatible backend: a scripted chat server in-process and a
real llama-cpp-python server as a subprocess. Both listen on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 120.0


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@pytest.fixture
def loopback_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep loopback requests off any proxy the environment names."""
    monkeypatch.setenv("NO_PROXY", f"{LOOPBACK},localhost")
    monkeypatch.setenv("no_proxy", f"{LOOPBACK},localhost")


@pytest.fixture
def closed_loopback_url(loopback_no_proxy: None) -> str:
    """An endpoint URL on a loopback port where nothing listens: connections are refused."""
    return f"http://{LOOPBACK}:{free_loopback_port()}/v1"


class ScriptedChatServer:
    """A chat-completions endpoint that answers `"<last user message> #<seed>"`.

    `failures` is consumed one per request ("503", "429", "drop", or any HTTP status as
    a string); `fail_always` fails every request the same way; `fail_if_contains` fails
    every request whose user message contains that text with a 503. `reject_logprobs`
    answers 400 to any request asking for logprobs. `delay_s(body)` sets a request's
    delay. Every request body is kept in `requests` with its arrival time in `times`.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.fail_always: str | None = None
        self.fail_if_contains: str | None = None
        self.reject_logprobs = False
        self.error_message = "scripted failure"
        self.retry_after: str | None = None
        self.delay_s: Callable[[dict], float] = lambda body: 0.0
        self.requests: list[dict] = []
        self.times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self._httpd.server_address[1]}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def plan(self, body: dict) -> str | None:
        """The failure mode for this request, or None to answer normally."""
        with self.lock:
            self.requests.append(body)
            self.times.append(time.perf_counter())
            if self.failures:
                return self.failures.pop(0)
        user = body["messages"][-1]["content"]
        if self.fail_if_contains and self.fail_if_contains in user:
            return "503"
        if self.reject_logprobs and body.get("logprobs"):
            return "400"
        return self.fail_always


def chat_response(body: dict) -> dict:
    user = body["messages"][-1]["content"]
    choice: dict = {
        "index": 0,
        "message": {"role": "assistant", "content": f"{user} #{body.get('seed')}"},
        # A max_tokens under 5 stands for "ran out of tokens", so tests can see the mapping.
        "finish_reason": "length" if body.get("max_tokens", 512) < 5 else "stop",
    }
    if body.get("logprobs"):
        tokens = [("a", -0.25), ("b", -0.5)]
        choice["logprobs"] = {
            "content": [{"token": t, "logprob": lp, "bytes": None, "top_logprobs": []} for t, lp in tokens]
        }
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
        "choices": [choice],
        "usage": {"prompt_tokens": len(user.split()), "completion_tokens": 3, "total_tokens": len(user.split()) + 3},
    }


def _make_handler(script: ScriptedChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with script.lock:
                script.in_flight += 1
                script.max_in_flight = max(script.max_in_flight, script.in_flight)
            try:
                time.sleep(script.delay_s(body))
            finally:
                # counted out before the answer is written: once the client has it, it may send
                # its next request before this thread runs again, and the two would overlap here
                with script.lock:
                    script.in_flight -= 1
            self._answer(body, script.plan(body))

        def _answer(self, body: dict, failure: str | None) -> None:
            if failure == "drop":
                self.close_connection = True  # close without a status line
                return
            if failure is None:
                self._send(200, chat_response(body))
                return
            headers = {"Retry-After": script.retry_after} if script.retry_after else {}
            self._send(int(failure), {"error": {"message": script.error_message, "type": "test"}}, headers)

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _serving() -> Iterator[ScriptedChatServer]:
    server = ScriptedChatServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def scripted_chat_server(loopback_no_proxy: None) -> Iterator[ScriptedChatServer]:
    yield from _serving()


@pytest.fixture
def another_chat_server(loopback_no_proxy: None) -> Iterator[ScriptedChatServer]:
    """A second scripted endpoint, for tests of several."""
    yield from _serving()


# --- a real llama-cpp-python server ---------------------------------------------------------

LLAMA_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def llama_server_command(model: Path, port: int) -> list[str]:
    # No --chat_format: the GGUF carries SmolLM2's chat template, which the server uses.
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", LOOPBACK, "--port", str(port),
        "--n_ctx", "2048", "--n_threads", str(max(1, min(4, os.cpu_count() or 1))),
    ]


def _wait_until_serving(proc: subprocess.Popen, base_url: str, log: Path) -> None:
    # Bypass proxies for this check as the backend does through NO_PROXY.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with opener.open(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"llama_cpp.server did not answer {base_url}/models within {SERVER_START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def running_llama_server(workdir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL …/v1, process) of llama-cpp-python's OpenAI-compatible server running
    SmolLM2-135M; skips the test where the server or the model is absent."""
    missing = [m for m in LLAMA_SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama-cpp-python[server] is not installed (missing {', '.join(missing)})")
    from lessons.models.embedded import PackagedModelMissing, packaged_gguf

    try:
        model = packaged_gguf("smollm2-135m")
    except PackagedModelMissing as err:
        pytest.skip(f"test model not available: {err}")
    port = free_loopback_port()
    base_url = f"http://{LOOPBACK}:{port}/v1"
    log = workdir / f"server-{port}.log"
    with pytest.MonkeyPatch.context() as mp, open(log, "wb") as out:
        mp.setenv("NO_PROXY", f"{LOOPBACK},localhost")
        mp.setenv("no_proxy", f"{LOOPBACK},localhost")
        # Output goes to a file, not a pipe, so a chatty server can never block on a full pipe.
        proc = subprocess.Popen(llama_server_command(model, port), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            _wait_until_serving(proc, base_url, log)
            yield base_url, proc
        finally:
            _stop(proc)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (…/v1) of llama-cpp-python's OpenAI-compatible server running SmolLM2-135M."""
    with running_llama_server(tmp_path_factory.mktemp("llama_server")) as (base_url, _):
        yield base_url


@pytest.fixture
def two_llama_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """Two such servers, each as (base URL, process), so a test can kill one."""
    workdir = tmp_path_factory.mktemp("llama_servers")
    with running_llama_server(workdir) as first, running_llama_server(workdir) as second:
        yield [first, second]
