"""Prompt templates: how a task becomes a chat. Each run records the template it used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lessons.models.base import Chat
from lessons.registry import Registry
from lessons.tasks.base import Task


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str  # str.format template; fields: {question}

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.system}\x00{self.user}".encode()).hexdigest()[:16]

    def render(self, task: Task) -> Chat:
        chat = [{"role": "system", "content": self.system}] if self.system else []
        chat.append({"role": "user", "content": self.user.format(question=task.prompt)})
        return chat


templates: Registry[PromptTemplate] = Registry("template")

# Numbered steps give diagnosis something to split on; the last line carries the answer.
STEP_BY_STEP = templates.register(
    "step-by-step",
    PromptTemplate(
        name="step-by-step",
        system=(
            "You are a careful math tutor. Solve the problem step by step, one numbered step per line "
            "(Step 1:, Step 2:, ...), writing each calculation out. "
            "Finish with a last line of the form 'Answer: <number>'."
        ),
        user="{question}",
    ),
)
DIRECT = templates.register(
    "direct",
    PromptTemplate(name="direct", system="", user="{question}\nGive only the final answer as 'Answer: <value>'."),
)
# Imported runs (`lessons import`): the task's prompt is already the whole text another tool
# posed (its instructions and few-shot examples included), so it is sent as it is.
AS_POSED = templates.register("as-posed", PromptTemplate(name="as-posed", system="", user="{question}"))
# Code tasks: the prompt is a signature and docstring; the tests verifier reads the block.
CODE = templates.register(
    "code",
    PromptTemplate(
        name="code",
        system=(
            "You are a careful Python programmer. Complete the function the user gives: write the whole "
            "function, its signature included, with any imports it needs, in one ```python code block. "
            "Do not write tests or example calls."
        ),
        user="{question}",
    ),
)
DEFAULT_TEMPLATE = "step-by-step"
