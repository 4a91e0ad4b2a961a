"""An OpenAI-compatible chat server that misbehaves on cue, run as its own process so that a
test can SIGKILL it mid-run and start it again on the same port.

    python tests/models/fault_server.py --port 8123 --script script.json --log requests.jsonl

It answers "What is A + B?" (also -, * and ×) with one step and `Answer: N`, anything else
with `Answer: 0`. The script is JSON: {"rules": [RULE, ...]}. A request takes the first rule
that matches it and still has uses left; with none it is answered normally. A RULE is

    {"fault": F, "requests": [0, 1]}       requests by arrival number, 0-based, in this process
    {"fault": F, "prompt": "3 + 4"}        requests whose last user message contains this text
    ... "times": N                         the rule's uses (default: unlimited)

where F is "500", "429" (with "retry_after": seconds, default 1), "slow" (sleeps
"sleep_s", default 600, then answers normally), "bad_json" (a 200 whose body is cut off
mid-JSON), "no_choices" (a 200 with valid JSON but no `choices`) or "ok".

Every request is logged as one JSON line — {"n", "t" (time.monotonic(), seconds), "prompt",
"seed", "fault"} — and flushed before it is answered, so a test sees a request arrive while
the server is still holding it. Standard library only, so it starts in well under a second.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

HOST = "127.0.0.1"
SUM = re.compile(r"What is (-?\d+) ([-+*×]) (-?\d+)\?")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "×": lambda a, b: a * b}


def solve(question: str) -> str:
    match = SUM.search(question)
    if match is None:
        return "Step 1: I cannot tell.\nAnswer: 0"
    a, op, b = int(match[1]), match[2], int(match[3])
    result = OPS[op](a, b)
    return f"Step 1: {a} {op} {b} = {result}\nAnswer: {result}"


class Script:
    """The rules and the request log; shared by all handler threads, hence the lock."""

    def __init__(self, rules: list[dict[str, Any]], log: TextIO):
        self.rules = [dict(rule) for rule in rules]  # copies: "times" counts down
        self.log = log
        self.count = 0
        self.lock = threading.Lock()

    def admit(self, prompt: str, seed: Any) -> dict[str, Any]:
        """Number and log one request; return the rule it gets ({"fault": "ok"} when none)."""
        with self.lock:
            n, self.count = self.count, self.count + 1
            rule = next((r for r in self.rules if _matches(r, n, prompt)), {"fault": "ok"})
            if "times" in rule:
                rule["times"] -= 1
            entry = {"n": n, "t": time.monotonic(), "prompt": prompt, "seed": seed, "fault": rule["fault"]}
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
            return rule


def _matches(rule: dict[str, Any], n: int, prompt: str) -> bool:
    if rule.get("times", 1) <= 0:
        return False
    if "requests" in rule:
        return n in rule["requests"]
    return rule.get("prompt", "") in prompt


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    text = solve(body["messages"][-1]["content"])
    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
    return {
        "id": "chatcmpl-fault", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                  "total_tokens": prompt_tokens + len(text.split())},
    }


def make_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do: the client pools connections

        def log_message(self, format: str, *args: object) -> None:  # the JSON log says it all
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fault", "object": "model"}]}))
            else:
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                return
            body = json.loads(raw)
            rule = script.admit(body["messages"][-1]["content"], body.get("seed"))
            try:
                self._answer(body, rule)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow answer; nothing to tell it

        def _answer(self, body: dict[str, Any], rule: dict[str, Any]) -> None:
            fault = rule["fault"]
            if fault == "500":
                self._send(500, json.dumps({"error": {"message": "scripted internal error", "type": "server_error"}}))
            elif fault == "429":
                self._send(429, json.dumps({"error": {"message": "scripted rate limit", "type": "rate_limit"}}),
                           {"Retry-After": str(rule.get("retry_after", 1))})
            elif fault == "bad_json":
                self._send(200, json.dumps(chat_completion(body))[:40])
            elif fault == "no_choices":
                self._send(200, json.dumps({"id": "chatcmpl-fault", "object": "chat.completion", "created": 0}))
            else:
                if fault == "slow":
                    time.sleep(float(rule.get("sleep_s", 600)))
                self._send(200, json.dumps(chat_completion(body)))

        def _send(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", type=Path, help="JSON rules; default: answer every request normally")
    parser.add_argument("--log", type=Path, required=True, help="JSON lines, one per request")
    args = parser.parse_args()
    rules = json.loads(args.script.read_text())["rules"] if args.script else []
    with open(args.log, "a") as log:
        httpd = ThreadingHTTPServer((HOST, args.port), make_handler(Script(rules, log)))
        httpd.daemon_threads = True  # a sleeping "slow" handler must not keep the process alive
        httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
