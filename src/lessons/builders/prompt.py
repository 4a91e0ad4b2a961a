"""`prompt`: error-aware prompting, no training needed.

Each row is a ready chat prompt (TRL's prompt-only format) for one train task the model
got wrong: the run's system prompt, then

- an *error-aware addition* naming the model's most frequent error types, each with the
  skill where it happens most and one short example of it (its first wrong step), and
- *contrastive in-context examples*: similar problems (by embedding similarity of the
  questions, the task itself excluded) with the wrong answer the model gave beside the
  correct one, and no rationale (implicit learning from mistakes),

then the task's own user message. `error_aware_addition` and `contrastive_examples` are
public so that evaluation can build the same prompt for new questions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.diagnose.base import Diagnosis
from lessons.store.db import AttemptRow

PATTERNS = {  # how each error type is named to the model
    "calculation": "Arithmetic slips: a calculation written down with a wrong result",
    "copied_value": "Using a number that is neither in the problem nor in an earlier step",
    "wrong_operation": "Combining the right numbers with the wrong operation",
    "skipped_step": "Skipping a step the solution needs",
    "unit": "Unit mistakes: a wrong conversion factor or mixed units",
    "syntax": "Writing code that does not parse",
    "timeout": "Code that runs too long or never ends",
    "resource_limit": "Code that uses too much memory, output or recursion",
    "name_attribute": "Using a name, method or module that does not exist",
    "type": "Passing or combining values of the wrong type",
    "index_key": "Indexing past the end of a list or looking up a missing key",
    "exception": "Code that raises an exception",
    "wrong_output": "Code that runs but returns the wrong result",
    "partial_pass": "Code right on some inputs but wrong on edge cases",
    "format": "Not ending with the line 'Answer: <number>'",
    "truncated": "Writing too much and never reaching the answer",
    "no_attempt": "Not attempting the problem",
    "reasoning": "A wrong plan for the problem although each calculation is right",
}
HEADER = "Mistakes you have made before on problems like this one; check your work for them:"
EXAMPLES_HEADER = "Similar problems and answers you got wrong before (do not repeat these mistakes):"


@dataclass(frozen=True)
class PromptConfig:
    top_types: int = 3  # error types named in the addition, most frequent first
    examples: int = 3  # contrastive examples per prompt
    example_chars: int = 120  # longest example step quoted, in characters
    targets: str = "mistakes"  # train tasks that get a row: "mistakes" (tasks with one) or "all"


class PromptBuilder:
    name = "prompt"
    format = "prompt"
    needs_diagnoses = True
    config_class = PromptConfig
    resources = ("embedder",)

    def __init__(self, embedder: Any = None):
        self.embedder = embedder  # None: the packaged MiniLM, loaded on first use

    def build(self, source: LessonSource, config: PromptConfig | None = None) -> list[Lesson]:
        config = config or PromptConfig()
        if config.targets not in ("mistakes", "all"):
            raise ValueError(f"prompt targets are 'mistakes' or 'all', not {config.targets!r}")
        addition, shown = error_aware_addition(source, config)
        pool = contrast_pool(source)
        wrong_tasks = {a.task_id for a in source.mistakes()}
        targets = [t for t in source.tasks.values() if config.targets == "all" or t.id in wrong_tasks]
        if not targets or (not addition and not pool):
            return []
        picks = contrastive_examples([t.prompt for t in targets], pool, self._embedder(), config.examples,
                                     exclude=[t.id for t in targets])
        lessons = []
        for task, chosen in zip(targets, picks):
            chat = source.render(task)
            parts = [p for p in (source.template.system, addition, format_examples(chosen)) if p]
            prompt = [{"role": "system", "content": "\n\n".join(parts)}] + [m for m in chat if m["role"] != "system"]
            lessons.append(Lesson({"prompt": prompt}, Provenance(
                builder=self.name, run_id=source.run.id, task_id=task.id,
                attempt_ids=tuple(shown) + tuple(a.id for a in chosen),
                source_tasks=tuple(dict.fromkeys(a.task_id for a in chosen)),
                diagnosis_method=_method(source), args=config_args(config),
                detail={"error_types": list(_top_types(source, config.top_types))},
            )))
        return lessons

    def _embedder(self) -> Any:
        if self.embedder is None:
            from lessons.diagnose.taxonomy import MiniLMEmbedder

            self.embedder = MiniLMEmbedder()
        return self.embedder


def _top_types(source: LessonSource, k: int) -> list[str]:
    return [t for t, _ in Counter(d.error_type for d in source.diagnoses.values()).most_common(k)]


def _method(source: LessonSource) -> str | None:
    methods = Counter(d.location.method for d in source.diagnoses.values())
    return methods.most_common(1)[0][0] if methods else None


def error_aware_addition(source: LessonSource, config: PromptConfig = PromptConfig()) -> tuple[str, list[int]]:
    """The system-prompt addition and the attempt ids it quotes ("" when nothing is diagnosed)."""
    attempts = {a.id: a for a in source.attempts}
    lines, quoted = [], []
    for error_type in _top_types(source, config.top_types):
        of_type = [d for d in source.diagnoses.values() if d.error_type == error_type and d.attempt_id in attempts]
        skills = Counter(attempts[d.attempt_id].skill for d in of_type if attempts[d.attempt_id].skill)
        where = f", most often in {skills.most_common(1)[0][0].replace('_', ' ')} problems" if skills else ""
        example = _example(of_type, attempts, source, config.example_chars)
        line = f"- {PATTERNS.get(error_type, error_type.replace('_', ' ').capitalize())}{where}"
        if example is not None:
            line += f' (for example: "{example[1]}")'
            quoted.append(example[0])
        lines.append(line + ".")
    return ("\n".join([HEADER, *lines]) if lines else ""), quoted


def _example(of_type: Sequence[Diagnosis], attempts: dict[int, AttemptRow], source: LessonSource, limit: int
             ) -> tuple[int, str] | None:
    """One short example: the first wrong step of a mistake in the type's largest
    cluster (the most typical one), shortest first; else the start of a response."""
    sizes = Counter(source.clusters.get(d.attempt_id) for d in of_type)
    ranked = sorted(of_type, key=lambda d: (-sizes[source.clusters.get(d.attempt_id)], _snippet_len(d, attempts),
                                            d.attempt_id))
    for d in ranked:
        text = d.steps[d.location.step].text if d.location.step is not None and d.steps else attempts[d.attempt_id].text
        text = " ".join(text.split())
        if text:
            return d.attempt_id, (text if len(text) <= limit else text[: limit - 1] + "…").replace('"', "'")
    return None


def _snippet_len(d: Diagnosis, attempts: dict[int, AttemptRow]) -> int:
    if d.location.step is not None and d.steps:
        return len(d.steps[d.location.step].text)
    return len(attempts[d.attempt_id].text) + 10_000  # prefer located steps


def contrast_pool(source: LessonSource) -> list[AttemptRow]:
    """One wrong answer per task (the first sample that gave one), for in-context examples."""
    pool: dict[str, AttemptRow] = {}
    for a in source.mistakes():
        if a.extraction_status == "ok" and a.answer and a.task_id not in pool:
            pool[a.task_id] = a
    return list(pool.values())


def contrastive_examples(questions: Sequence[str], pool: Sequence[AttemptRow], embedder: Any, k: int,
                         exclude: Sequence[str | None] = ()) -> list[list[AttemptRow]]:
    """For each question, the `k` pool items whose questions are most similar (cosine of
    embeddings), leaving out the item of the task in `exclude` at the same position."""
    if not pool or k <= 0:
        return [[] for _ in questions]
    texts = list(dict.fromkeys([*questions, *(a.prompt for a in pool)]))
    vectors = embedder.embed(texts)
    row = {t: i for i, t in enumerate(texts)}
    q = vectors[[row[t] for t in questions]]
    p = vectors[[row[a.prompt] for a in pool]]
    sims = q @ p.T  # rows are unit length: cosine similarity
    out = []
    for i in range(len(questions)):
        skip = exclude[i] if i < len(exclude) else None
        order = np.argsort(-sims[i], kind="stable")
        # the task itself (or a copy of its question) would hand over its answer
        out.append([pool[j] for j in order if pool[j].task_id != skip and pool[j].prompt != questions[i]][:k])
    return out


def format_examples(examples: Sequence[AttemptRow]) -> str:
    if not examples:
        return ""
    blocks = [f"Problem: {a.prompt}\nWrong answer: {a.answer}\nCorrect answer: {a.gold}" for a in examples]
    return EXAMPLES_HEADER + "\n\n" + "\n\n".join(blocks)
