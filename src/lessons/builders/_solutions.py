"""Writing solutions the way the run's template asks for them, and small text helpers
shared by the builders."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.base import Case
from lessons.diagnose.steps import split_steps
from lessons.prompts import PromptTemplate
from lessons.tasks.base import GoldStep, Task

_STEP_LABEL = re.compile(r"^[ \t>#*]*step[ \t]*(\d{1,4})\b", re.IGNORECASE | re.MULTILINE)
_ANSWER_LINE = re.compile(r"^[ \t*#]*(?:final\s+)?answer\s*[:：]", re.IGNORECASE | re.MULTILINE)


def numbered(template: PromptTemplate) -> bool:
    """Whether the template asks for numbered steps ("Step 1:"); else solutions are the
    answer line alone (the `direct` template)."""
    return "step" in template.system.lower() or "step" in template.user.lower()


def answer_line(answer: str) -> str:
    return f"Answer: {answer}"


def step_lines(steps: Sequence[GoldStep], first: int = 1, numbered_steps: bool = True) -> list[str]:
    if not numbered_steps:
        return []
    return [f"Step {first + i}: {s.text}" for i, s in enumerate(steps)]


def gold_solution(task: Task, template: PromptTemplate) -> str:
    """The task's gold solution in the template's style, ending with the answer line."""
    return "\n".join(step_lines(task.steps, 1, numbered(template)) + [answer_line(task.answer)])


def labelled_steps(text: str) -> int:
    """How many "Step N" labels the text carries (to continue the numbering)."""
    return len(_STEP_LABEL.findall(text))


def strip_answer_lines(text: str) -> str:
    """The text without its answer line(s): what remains is working."""
    keep = [line for line in text.splitlines() if not _ANSWER_LINE.match(line)]
    return "\n".join(keep).strip()


def renumber_from(text: str, first: int) -> str:
    """Step labels rewritten to count from `first` ("Step 3:" -> "Step 5:" for first=5)."""
    count = iter(range(first, first + 10_000))
    return _STEP_LABEL.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + str(next(count)), text)


def normalized(text: str) -> str:
    """Whitespace-collapsed, lower-case text: two samples that differ only in layout are one."""
    return " ".join(text.lower().split())


def unique(texts: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for t in texts:
        key = normalized(t)
        if key and key not in seen:
            seen.add(key)
            out.append(t)
    return out


_LOCATOR = ArithLocator()


def steps_check_out(task: Task, text: str) -> bool:
    """No step of `text` holds a false arithmetic statement or contradicts the gold values
    for the same computation (a lucky right answer reached by a wrong step fails)."""
    case = Case(question=task.prompt, steps=split_steps(text), answer=task.answer, gold_steps=task.steps)
    return _LOCATOR.locate_one(case).step is None
