"""Practice problems written by a teacher model: the chat that asks for one, and reading
the answer back.

The teacher sees two or three of a weak slice's failed train tasks, with their gold
solutions, and is asked for ONE new problem in a strict format:

    Question: <the problem>
    Step 1: <one calculation> = <its value>
    ...
    Answer: <number>

`parse_problem` reads that back, or returns None. Nothing it returns is trusted: the
practice builder recomputes every step and checks the answer before a problem is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from lessons.arith.numbers import leading_number
from lessons.models.base import Chat
from lessons.tasks.base import GoldStep, Task

SYSTEM = (
    "You write practice problems for a student who is learning arithmetic. Each problem must be "
    "solvable exactly, and its solution must be a short list of steps, each one calculation "
    "(numbers and + - * / only) followed by '=' and its exact result."
)
FORMAT = "Question: <the problem>\nStep 1: <calculation> = <value>\nStep 2: <calculation> = <value>\nAnswer: <number>"

# Markdown a model may wrap labels in ("**Question:**") is skipped by the leading \W*.
_QUESTION = re.compile(r"^\W*question\s*[:：]\s*(.*)$", re.IGNORECASE)
_STEP = re.compile(r"^\W*step\s*(\d{1,3})\s*[:.)]\s*(.+)$", re.IGNORECASE)
_ANSWER = re.compile(r"^\W*(?:final\s+)?answer\s*[:：]\s*(.+)$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```")


@dataclass(frozen=True)
class TeacherProblem:
    """A practice problem as a teacher model wrote it: question, worked steps, answer."""

    question: str
    steps: tuple[GoldStep, ...]  # each with the value after its last '='
    answer: str


def teacher_chat(examples: Sequence[Task], slice_text: str, index: int, count: int) -> Chat:
    """The chat asking for problem `index` (0-based) of `count` like `examples` (the first
    one leads). Chats differ in their lead example and number, so that samples drawn with
    the same seed still differ."""
    shown = "\n\n".join(f"Example {k + 1}:\n{_solved(t)}" for k, t in enumerate(examples))
    user = (
        f"The student got these problems wrong. They belong to the group {slice_text}.\n\n{shown}\n\n"
        f"Write ONE new problem of the same kind and difficulty as Example 1, with new numbers "
        f"(and a new story when it is a word problem). Do not copy an example. This is problem "
        f"{index + 1} of {count}: make it different from the others.\n"
        f"Every number the solution needs must be in the question. Reply in exactly this format "
        f"and nothing else:\n{FORMAT}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _solved(task: Task) -> str:
    steps = [f"Step {i + 1}: {s.text}" for i, s in enumerate(task.steps)]
    return "\n".join([f"Question: {task.prompt}", *steps, f"Answer: {task.answer}"])


def parse_problem(text: str) -> TeacherProblem | None:
    """The problem in a teacher's reply, or None when the reply does not follow the format:
    a Question, steps numbered from 1 each ending in '= <number>', then an Answer that is
    a number. Chatter before the question and after the answer is ignored."""
    question: list[str] = []
    steps: list[GoldStep] = []
    started = False  # the Question line was seen: what follows, up to Step 1, is the question
    for line in text.splitlines():
        if not line.strip() or _FENCE.match(line):
            continue
        answer, step = _ANSWER.match(line), _STEP.match(line)
        if answer:
            number = leading_number(answer.group(1).strip(" *"))
            if not (question and steps and number):
                return None
            return TeacherProblem(" ".join(question), tuple(steps), number)
        if step:
            parsed = _step(step.group(2))
            if not question or parsed is None or int(step.group(1)) != len(steps) + 1:
                return None
            steps.append(parsed)
        elif steps:
            return None  # prose between the steps: not the format asked for
        elif started or _QUESTION.match(line):
            rest = line if started else _QUESTION.match(line).group(1)  # type: ignore[union-attr]
            started = True
            if rest.strip(" *"):
                question.append(rest.strip(" *"))
    return None


def _step(text: str) -> GoldStep | None:
    text = text.strip(" *").rstrip(".")
    _, eq, result = text.rpartition("=")
    number = leading_number(result.strip()) if eq else None
    return GoldStep(text, number) if number else None
