"""`retry`: a second try after feedback (Recursive Introspection, "RISE", Qu et al. 2024).

A row is the model's own wrong attempt of a train task, then a short feedback turn saying
what went wrong (its answer is not correct and, where the diagnosis located the first wrong
step, which one: "Step 2 is wrong."; never the right value, which would give the answer
away at evaluation), then a correct attempt: one of the model's own verified solutions of the task when it has one
(a run with several samples), else the gold solution in the run's format. Only the correct
attempt is trained on (prompt/completion rows: the wrong attempt and the feedback are the
prompt), so the model learns to correct itself after feedback, not to repeat the mistake.

The same feedback prompts the model's second turn in `lessons eval --retries N`
(`RetryPrompts`): for each task it answered wrong, the chat it was sent, its answer, the
feedback with the first wrong step the `arith` locator finds, and a turn to try again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.models.base import Chat
from lessons.prompts import PromptTemplate
from lessons.records import LessonsComponent, Location
from lessons.store.db import AttemptRow
from lessons.tasks.base import Task

AGAIN = "Please solve the problem again, step by step, and end with the answer line."


def feedback(answer: str | None, location: Location | None) -> str:
    """The feedback turn after a wrong attempt: the verdict, then which step is the first
    wrong one where one was located. Never what the step should have said: the locator's
    detail can hold the gold value ("(is 56)"), which would hand a retry its answer."""
    said = f"Your answer {answer} is not correct." if answer else "Your response does not give a correct answer."
    where = f" Step {location.step + 1} is wrong." if location is not None and location.step is not None else ""
    return f"{said}{where} {AGAIN}"


def retry_chat(chat: Chat, response: str, said: str) -> Chat:
    """The chat of a first attempt, its response, and the feedback as the next user turn."""
    return [*chat, {"role": "assistant", "content": response}, {"role": "user", "content": said}]


@dataclass(frozen=True)
class RetryConfig:
    per_task: int = 1  # wrong attempts of a task made into rows (each with its own correct one)
    gold: bool = True  # a task the model never solved gets the gold solution as its correct attempt


class RetryBuilder:
    name = "retry"
    format = "prompt_completion"
    needs_diagnoses = False  # uses the diagnosis where there is one: the first wrong step in the feedback
    config_class = RetryConfig

    def build(self, source: LessonSource, config: RetryConfig | None = None) -> list[Lesson]:
        config = config or RetryConfig()
        if config.per_task < 1:
            raise ValueError(f"retry: per_task must be at least 1, got {config.per_task}")
        lessons = []
        for task_id, task in source.tasks.items():
            attempts = source.by_task.get(task_id, [])
            wrong = [a for a in attempts if not a.correct and a.finish_reason != "length" and a.text.strip()]
            right = [a for a in attempts if a.correct and source.steps_check_out(task, a.text)]
            if not wrong or not (right or config.gold):
                continue
            for i, attempt in enumerate(wrong[: config.per_task]):
                good = right[i % len(right)] if right else None
                lessons.append(self._lesson(source, task, attempt, good, config))
        return lessons

    def _lesson(self, source: LessonSource, task: Task, wrong: AttemptRow, good: AttemptRow | None,
                config: RetryConfig) -> Lesson:
        diagnosis = source.diagnoses.get(wrong.id)
        said = feedback(wrong.answer, diagnosis.location if diagnosis else None)
        correct = good.text if good is not None else source.gold_response(task)
        row = {"prompt": retry_chat(source.render(task), wrong.text, said),
               "completion": [{"role": "assistant", "content": correct}]}
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=task.id,
            attempt_ids=(wrong.id,) + ((good.id,) if good is not None else ()), args=config_args(config),
            detail={"correct": "own" if good is not None else "gold",
                    "located": bool(diagnosis and diagnosis.location.step is not None)},
        ))


def retry_chats(previous: Mapping[str, tuple[Chat, AttemptRow]], tasks: Mapping[str, Task],
                locator: Any = None) -> dict[str, Chat]:
    """Each task's next chat: the chat its wrong attempt was sent, that attempt, and the
    feedback (with the first wrong step the `locator` finds; None: the verdict alone)."""
    from lessons.diagnose.base import Case
    from lessons.diagnose.steps import split_steps

    out = {}
    for task_id, (chat, attempt) in previous.items():
        location = None
        if locator is not None:
            task = tasks[task_id]
            case = Case(task.prompt, split_steps(attempt.text), task.answer, task.steps, str(attempt.id), attempt.text)
            location = locator.locate([case])[0]
        out[task_id] = retry_chat(chat, attempt.text, feedback(attempt.answer, location))
    return out


@dataclass(frozen=True)
class RetryPrompts:
    """`lessons eval --retries N`, turn `turn`: each task's chat (`retry_chats`) by task id.
    Used as the runner's in-context lessons, so the run records where its prompts came
    from as its `lessons` component."""

    sent: Mapping[str, Chat] = field(compare=False)
    turn: int = 1
    source_run: str = ""  # the run of the attempts retried

    def chats(self, template: PromptTemplate, tasks: Sequence[Task]) -> list[Chat]:
        return [self.sent[task.id] for task in tasks]

    def component(self) -> LessonsComponent:
        return LessonsComponent(f"retry-{self.turn}", "", "", self.source_run, 0, None)


@dataclass(frozen=True)
class RetryTurn:
    """One turn of `lessons eval --retries N`: the run of the tasks still wrong, retried
    after feedback, and the accuracy over all tasks once it is counted."""

    turn: int
    run: str
    retried: int
    solved: int  # of the retried tasks
    accuracy: float  # tasks right at the first try or at any turn so far, over all tasks


def retry_turns(store: Any, backend: Any, suite: Any, config: Any, first_run: str, retries: int,
                locator: Any = None, on_progress: Any = None) -> list[RetryTurn]:
    """Up to `retries` more turns for the tasks the run `first_run` answered wrong (one
    sample a task): each turn shows a task its last wrong attempt and the feedback, as a
    run of its own named `<first_run>-retry<turn>` (resumable like any run)."""
    import dataclasses

    from lessons.prompts import templates
    from lessons.runner import evaluate, select_tasks
    from lessons.store import content_id
    from lessons.tasks.base import SuiteInfo, TaskList

    first = store.get_run(first_run)
    tasks = {t.id: t for t in select_tasks(suite, config.split, config.limit, config.offset)}
    template = templates.get(config.template)
    attempts = {a.task_id: a for a in store.attempts(first.id) if a.sample == 0 and a.task_id in tasks}
    correct = {t for t, a in attempts.items() if a.correct}
    previous = {t: (template.render(tasks[t]), a) for t, a in attempts.items() if not a.correct}
    turns: list[RetryTurn] = []
    for turn in range(1, retries + 1):
        if not previous:
            break
        sent = retry_chats(previous, tasks, locator)
        prompts = RetryPrompts(sent, turn, first.name)
        ids = list(previous)
        listed = TaskList(SuiteInfo(f"{first.name}-retry{turn}", "1", f"retry:{first.id}", content_id(ids)),
                          [tasks[t] for t in ids])
        result = evaluate(store, backend, listed, dataclasses.replace(
            config, run_name=f"{first.name}-retry{turn}", split="all", limit=None, offset=0), on_progress=on_progress,
            lessons=prompts)
        now = {a.task_id: a for a in store.attempts(result.summary.run_id) if a.sample == 0}
        solved = {t for t, a in now.items() if a.correct}
        correct |= solved
        previous = {t: (sent[t], a) for t, a in now.items() if not a.correct}
        turns.append(RetryTurn(turn, result.summary.run_name, len(now), len(solved),
                               len(correct) / len(attempts) if attempts else 0.0))
    return turns
