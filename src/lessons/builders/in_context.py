"""Lessons at inference time, for models that cannot be trained (an endpoint, say).

A `prompt` lesson set teaches without training. Applied to new questions it gives each one

- the error-aware addition to the system prompt (the model's frequent error types, each
  with where it happens and an example: `prompt.error_aware_addition`), and
- an error memory: the source run's train mistakes, of which the question's most similar
  ones (by embedding) are shown wrong answer beside right (ReLoop2's error memory; the
  implicit learning from mistakes in context of Alazraki et al.),

built from the run the set was built from, with the set's own options, so `lessons eval
--lessons DIR` prompts held-out questions as the set prompted train ones.

Its control is plain few-shot of the same length: randomly chosen *solved* train problems
with their answers, added until the addition is as long (in characters) as the treatment's
is for that question. A gain of the treatment over it is then a gain of what the examples
say, not of a longer prompt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from lessons.builders.base import make_config
from lessons.builders.prompt import (
    PromptBuilder, contrast_pool, contrastive_examples, error_aware_addition, format_examples,
)
from lessons.builders.source import LessonSource, load_source
from lessons.lesson_set import read_manifest
from lessons.models.base import Chat
from lessons.prompts import PromptTemplate
from lessons.records import LessonsComponent
from lessons.store import Store
from lessons.tasks.base import Task

FEW_SHOT_HEADER = "Example problems with their answers:"
ARMS = ("lessons", "few-shot")


@dataclass(frozen=True)
class InContextLessons:
    """A prompt lesson set made applicable to any question (module docstring)."""

    path: str  # the lesson set's folder
    content_hash: str  # the set's hash: which lessons, recorded with every run they prompt
    source: LessonSource  # the run the set was built from
    addition: str  # error-aware system-prompt addition ("" when nothing is diagnosed)
    examples: int  # similar past mistakes shown per question

    def component(self, arm: str, seed: int | None = None) -> LessonsComponent:
        """How a run records the lessons that prompted it (a run component)."""
        return LessonsComponent(arm, self.path, self.content_hash, self.source.run.id, self.examples, seed)

    def extras(self, questions: Sequence[str], embedder: Any) -> list[str]:
        """The treatment's addition to the system prompt, per question."""
        picks = contrastive_examples(list(questions), contrast_pool(self.source), embedder, self.examples)
        return ["\n\n".join(p for p in (self.addition, format_examples(chosen)) if p) for chosen in picks]

    def few_shot(self, tasks: Sequence[Task], lengths: Sequence[int], seed: int = 0) -> list[str]:
        """The control's addition per task: solved train problems in a random order (its
        own per task and seed), as many as bring it closest to `lengths` characters."""
        solved = _solved_examples(self.source)
        out = []
        for task, length in zip(tasks, lengths):
            order = [s for s in solved if s[0] != task.prompt]
            random.Random(f"few-shot/{seed}/{task.id}").shuffle(order)
            out.append(_closest_fill(order, length))
        return out


@dataclass(frozen=True)
class LessonPrompts:
    """How an evaluation prompts with in-context lessons: `arm` "lessons" (the treatment)
    or "few-shot" (its same-length control). Deterministic, so a resumed run prompts a task
    as it was prompted before."""

    lessons: InContextLessons
    embedder: Any = field(compare=False)
    arm: str = "lessons"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.arm not in ARMS:
            raise ValueError(f"in-context arm {self.arm!r}: use {' or '.join(ARMS)}")

    def chats(self, template: PromptTemplate, tasks: Sequence[Task]) -> list[Chat]:
        extras = self.lessons.extras([t.prompt for t in tasks], self.embedder)
        if self.arm == "few-shot":
            extras = self.lessons.few_shot(tasks, [len(e) for e in extras], self.seed)
        return [with_system(template, task, extra) for task, extra in zip(tasks, extras)]

    def component(self) -> LessonsComponent:
        return self.lessons.component(self.arm, self.seed if self.arm == "few-shot" else None)


def load_in_context(store: Store, folder: str | Path) -> InContextLessons:
    """The prompt lesson set at `folder`, rebuilt against its source run in `store`."""
    manifest = read_manifest(folder)
    if not manifest:
        raise ValueError(f"{folder}: not a lesson set (no lesson_set.json): build one with `lessons build prompt`")
    if manifest.get("builder") != "prompt":
        raise ValueError(f"{folder}: a {manifest.get('builder')!r} lesson set; only `prompt` lessons apply at "
                         "inference time (lessons build prompt --run RUN --out DIR)")
    run = manifest.get("run") or {}
    source = load_source(store, str(run.get("id") or run.get("name")))
    config = make_config(PromptBuilder(), {k: str(v) for k, v in (manifest.get("args") or {}).items()})
    addition, _ = error_aware_addition(source, config)
    return InContextLessons(str(Path(folder)), str(manifest.get("content_hash", "")), source, addition,
                            config.examples)


def with_system(template: PromptTemplate, task: Task, extra: str) -> Chat:
    """The template's chat for `task`, `extra` appended to its system prompt."""
    chat = template.render(task)
    system = "\n\n".join(p for p in (template.system, extra) if p)
    return ([{"role": "system", "content": system}] if system else []) + [m for m in chat if m["role"] != "system"]


def _solved_examples(source: LessonSource) -> list[tuple[str, str]]:
    """(question, block) for each train task the run solved, in task order."""
    solved = {a.task_id for a in source.attempts if a.correct}
    return [(t.prompt, f"Problem: {t.prompt}\nAnswer: {t.answer}") for t in source.tasks.values() if t.id in solved]


def _closest_fill(examples: Sequence[tuple[str, str]], length: int) -> str:
    """The header and the first n blocks, n chosen so the text's length is nearest `length`
    (lengths only grow with n, so the first step away from it ends the search)."""
    best = ""
    for _, block in examples:
        grown = f"{best or FEW_SHOT_HEADER}\n\n{block}"
        if abs(len(grown) - length) >= abs(len(best) - length):
            break
        best = grown
    return best
