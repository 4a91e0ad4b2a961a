"""What a lesson row shows the model as input, whatever its format: the text the writer
checks against held-out questions. The formats themselves, their row checks, the manifest
and the content hash are the lesson-set contract, in `lessons.lesson_set`."""

from __future__ import annotations

from typing import Any


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
