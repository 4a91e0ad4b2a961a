"""The lesson-set contract between `lessons build`, which writes sets, and `lessons train`
(and the loop), which read them: formats, row checks, the manifest and the content hash.

    messages           {"messages": [{"role", "content"}, ...]}                    SFT, conversational
    prompt_completion  {"prompt": [messages], "completion": [assistant message]}  SFT, loss on the completion
    preference         {"prompt": [messages], "chosen": [assistant], "rejected": [assistant]}   DPO
    stepwise           {"prompt": str, "completions": [str, ...], "labels": [bool, ...]}       PRM
    prompt             {"prompt": [messages]}                                      prompt-only (eval)
    prompts            {"prompt": [messages], "task_id", "answer", "verifier", "extract"?}  RL (GRPO): what the reward checks
    tasks              {"prompt": [messages], "question", "answer", "solution", "task_id", ...}  practice tasks

A set is a folder (see `builders/write.py`): `lessons.jsonl` (one canonical JSON row a
line), `dataset/`, `provenance.jsonl` and the manifest `lesson_set.json`. Conversational
rows hold the chat the run sent, untemplated: the target model's chat template is applied
by the trainer, so one lesson set serves any model.

Two row checks, one per side: `check_row` is what a builder must write (exactly the
format, conversational); `check_trainable_row` is what training accepts from any file
(plain-text prompts too, extra columns dropped).

The content hash is the SHA-256 of the rows as `lessons.jsonl` holds them, so the hash
every manifest written so far records is the hash training computes from the rows, from
`lessons.jsonl` or `dataset/` alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

VERSION = 1  # of the files' contract; bump when it changes: readers refuse newer sets
MARKER = "lesson_set.json"  # the manifest: what makes a folder a lesson set
ROLES = ("system", "user", "assistant")
TASK_FIELDS = ("prompt", "task_id", "question", "answer", "solution")
# An RL prompt carries what its reward needs: the gold answer and the verifier that judges
# it (a name of `lessons.verify.verifiers`), optionally the extraction methods (default:
# the verifier's defaults). Code tests will join as another optional column.
PROMPTS_FIELDS = ("prompt", "task_id", "answer", "verifier")
PROMPTS_OPTIONAL = ("extract",)


@dataclass(frozen=True)
class LessonFormat:
    name: str
    columns: tuple[str, ...]  # the columns TRL reads (tasks rows carry task metadata besides)
    method: str | None  # what `lessons train` does with it: sft, dpo, grpo, prm; None: not trained on
    untrainable: str = ""  # why not, for a format with no method
    optional: tuple[str, ...] = ()  # columns training keeps when a row has them


LESSON_FORMATS: dict[str, LessonFormat] = {f.name: f for f in (
    LessonFormat("messages", ("messages",), "sft"),
    LessonFormat("prompt_completion", ("prompt", "completion"), "sft"),
    LessonFormat("preference", ("prompt", "chosen", "rejected"), "dpo"),
    LessonFormat("stepwise", ("prompt", "completions", "labels"), "prm"),
    # prompt additions and practice tasks are used by `lessons eval`, not trained on
    LessonFormat("prompt", ("prompt",), None, "prompt-only rows"),
    LessonFormat("tasks", TASK_FIELDS, None, "practice tasks"),
    LessonFormat("prompts", PROMPTS_FIELDS, "grpo", optional=PROMPTS_OPTIONAL),
)}
# Formats a row is recognised as, most specific first: preference rows also have a prompt.
DETECTED = ("preference", "stepwise", "prompt_completion", "prompts", "messages")


class FormatError(ValueError):
    """A row that is not in its declared format."""


class LessonDataError(ValueError):
    """A lesson set that cannot be read or trained on; the message names the file and line."""


def detect_format(row: dict[str, Any]) -> str | None:
    """The trainable format whose columns a row has, or None."""
    return next((f for f in DETECTED if all(c in row for c in LESSON_FORMATS[f].columns)), None)


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_key(row: dict[str, Any]) -> str:
    """Identity of a row for deduplication: the hash of its canonical JSON."""
    return hashlib.sha256(canonical(row).encode()).hexdigest()


def rows_text(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as `lessons.jsonl` holds them: canonical JSON, one a line."""
    return "".join(canonical(r) + "\n" for r in rows)


def content_hash(rows: Iterable[dict[str, Any]]) -> str:
    """SHA-256 of `rows_text(rows)`: the same lessons hash the same from any source."""
    return hashlib.sha256(rows_text(rows).encode("utf-8")).hexdigest()


def new_manifest(builder: str, format: str, args: dict[str, Any], run: dict[str, Any], counts: dict[str, Any],
                 digest: str, heldout: dict[str, Any]) -> dict[str, Any]:
    """The manifest `lessons build` writes beside the rows, stamped with this VERSION."""
    return {"version": VERSION, "builder": builder, "format": format, "args": args, "run": run, "counts": counts,
            "content_hash": digest, "heldout": heldout}


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A set's manifest ({} when the folder has none); refuses bad JSON and a set written
    by a newer version."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LessonDataError(f"{path}: invalid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise LessonDataError(f"{path}: expected a JSON object")
    if data.get("version", 0) > VERSION:
        raise LessonDataError(f"{folder} was written by a newer lessons (lesson set version {data['version']}); upgrade")
    return data


def check_row(format: str, row: dict[str, Any]) -> None:
    """Raise FormatError unless `row` is exactly in `format` (what a builder must write)."""
    checker = _STRICT_CHECKS.get(format)
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


def _check_prompts(row: dict[str, Any]) -> None:
    _keys(row, set(PROMPTS_FIELDS), "prompts", extra=True)
    extra = set(row) - set(PROMPTS_FIELDS) - set(PROMPTS_OPTIONAL)
    if extra:
        raise FormatError(f"prompts row has unknown keys {sorted(extra)}")
    _messages(row["prompt"], "prompt", last_role="user")
    problem = prompts_problem(row)
    if problem:
        raise FormatError(f"prompts: {problem}")


def prompts_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with a prompts row's reward columns, or None."""
    for key in PROMPTS_FIELDS[1:]:
        if not isinstance(row[key], str) or not row[key]:
            return f"{key} must be a non-empty string"
    extract = row.get("extract")
    if extract is not None and (not isinstance(extract, list) or not all(isinstance(m, str) for m in extract)):
        return "extract must be a list of extraction method names"
    return None


_STRICT_CHECKS = {
    "messages": _check_messages, "prompt_completion": _check_prompt_completion, "preference": _check_preference,
    "stepwise": _check_stepwise, "prompt": _check_prompt, "tasks": _check_tasks, "prompts": _check_prompts,
}


def check_trainable_row(where: str, fmt: str, row: dict[str, Any]) -> bool:
    """Check each column's shape as `lessons train` reads rows (plain text allowed, roles
    only checked); return whether the row is conversational. `where` names file and line."""
    if fmt == "messages":
        _check_chat(where, "messages", row["messages"], need_assistant=True)
        return True
    if fmt == "stepwise":
        return isinstance(row["prompt"], list)
    if fmt == "prompts":
        problem = prompts_problem(row)
        if problem:
            raise LessonDataError(f"{where}: {problem}")
    texts = [c for c in LESSON_FORMATS[fmt].columns if c in ("prompt", "completion", "chosen", "rejected")]
    conversational = isinstance(row["prompt"], list)
    for col in texts:
        value = row[col]
        if conversational:
            _check_chat(where, col, value, need_assistant=col != "prompt")
        elif not isinstance(value, str) or not value:
            raise LessonDataError(f"{where}: {col!r} must be a non-empty string or a list of messages")
    return conversational


def _check_chat(where: str, col: str, messages: Any, need_assistant: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise LessonDataError(f"{where}: {col!r} must be a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in ROLES:
            raise LessonDataError(
                f"{where}: {col}[{i}] must be {{'role': system|user|assistant, 'content': str}}, got {m!r:.120}"
            )
    if need_assistant and not any(m["role"] == "assistant" for m in messages):
        raise LessonDataError(f"{where}: {col!r} has no assistant message to learn from")
