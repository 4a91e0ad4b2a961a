"""TRL's dataset formats, checked row by row before anything is written.

    messages           {"messages": [{"role", "content"}, ...]}                    SFT, conversational
    prompt_completion  {"prompt": [messages], "completion": [assistant message]}  SFT, loss on the completion
    preference         {"prompt": [messages], "chosen": [assistant], "rejected": [assistant]}   DPO
    stepwise           {"prompt": str, "completions": [str, ...], "labels": [bool, ...]}       PRM
    prompt             {"prompt": [messages]}                                      prompt-only (eval, GRPO)
    tasks              {"prompt": [messages], "question", "answer", "solution", "task_id", ...}  practice tasks

Conversational rows hold the chat the run sent, untemplated: the target model's chat
template is applied by the trainer, so one lesson set serves any model.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ROLES = ("system", "user", "assistant")
TASK_FIELDS = ("prompt", "task_id", "question", "answer", "solution")


class FormatError(ValueError):
    """A row that is not in its declared format."""


def check_row(format: str, row: dict[str, Any]) -> None:
    """Raise FormatError unless `row` is exactly in `format`."""
    checker = _CHECKS.get(format)
    if checker is None:
        raise FormatError(f"unknown lesson format {format!r}")
    checker(row)


def _messages(value: Any, where: str, last_role: str | None = None) -> None:
    if not isinstance(value, list) or not value:
        raise FormatError(f"{where}: expected a non-empty list of messages")
    for m in value:
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            raise FormatError(f"{where}: each message must be exactly {{'role', 'content'}}, got {m!r:.120}")
        if m["role"] not in ROLES or not isinstance(m["content"], str):
            raise FormatError(f"{where}: bad message {m!r:.120}")
    if last_role and value[-1]["role"] != last_role:
        raise FormatError(f"{where}: must end with a {last_role} message")


def _keys(row: dict[str, Any], keys: set[str], format: str, extra: bool = False) -> None:
    have = set(row)
    if not keys <= have or (not extra and have != keys):
        raise FormatError(f"{format} row needs keys {sorted(keys)}, has {sorted(have)}")


def _check_messages(row: dict[str, Any]) -> None:
    _keys(row, {"messages"}, "messages")
    _messages(row["messages"], "messages", last_role="assistant")


def _check_prompt_completion(row: dict[str, Any]) -> None:
    _keys(row, {"prompt", "completion"}, "prompt_completion")
    _messages(row["prompt"], "prompt", last_role="user")
    _messages(row["completion"], "completion", last_role="assistant")


def _check_preference(row: dict[str, Any]) -> None:
    _keys(row, {"prompt", "chosen", "rejected"}, "preference")
    _messages(row["prompt"], "prompt", last_role="user")
    _messages(row["chosen"], "chosen", last_role="assistant")
    _messages(row["rejected"], "rejected", last_role="assistant")
    if row["chosen"] == row["rejected"]:
        raise FormatError("preference: chosen and rejected are the same")


def _check_stepwise(row: dict[str, Any]) -> None:
    _keys(row, {"prompt", "completions", "labels"}, "stepwise")
    if not isinstance(row["prompt"], str) or not row["prompt"]:
        raise FormatError("stepwise: prompt must be a non-empty string")
    steps, labels = row["completions"], row["labels"]
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s for s in steps):
        raise FormatError("stepwise: completions must be a non-empty list of non-empty strings")
    if not isinstance(labels, list) or len(labels) != len(steps) or not all(isinstance(x, bool) for x in labels):
        raise FormatError("stepwise: labels must be one bool per completion")


def _check_prompt(row: dict[str, Any]) -> None:
    _keys(row, {"prompt"}, "prompt")
    _messages(row["prompt"], "prompt", last_role="user")


def _check_tasks(row: dict[str, Any]) -> None:
    _keys(row, set(TASK_FIELDS), "tasks", extra=True)
    _messages(row["prompt"], "prompt", last_role="user")
    for key in TASK_FIELDS[1:]:
        if not isinstance(row[key], str) or not row[key]:
            raise FormatError(f"tasks: {key} must be a non-empty string")


_CHECKS = {
    "messages": _check_messages, "prompt_completion": _check_prompt_completion, "preference": _check_preference,
    "stepwise": _check_stepwise, "prompt": _check_prompt, "tasks": _check_tasks,
}


def prompt_text(row: dict[str, Any]) -> str:
    """Everything a row shows the model as input (system and user turns, the stepwise
    prompt, a practice question): what must not overlap a held-out task."""
    parts: list[str] = []
    for key in ("messages", "prompt"):
        value = row.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(m["content"] for m in value if isinstance(m, dict) and m.get("role") != "assistant")
    if isinstance(row.get("question"), str):
        parts.append(row["question"])
    return "\n".join(parts)


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_key(row: dict[str, Any]) -> str:
    """Identity of a row for deduplication: the hash of its canonical JSON."""
    return hashlib.sha256(canonical(row).encode()).hexdigest()
