"""`feedback`: learning from execution feedback on code runs. For each failed program, a
multi-turn chat: the task, the model's own wrong program, a user turn saying what running
the tests gave (first failing test, exception type and line, its message cut short), and
a fixed program.

The fix comes from a model (`teacher=MODEL`; name the run's own model for its own
fixes), asked on the very chat the row shows, and is kept only when every test passes in
the sandbox. Without a model nothing is made, unless `reference` is set: then the task's
reference program (run against its tests first) is the fix, also for attempts no sample
of the model fixed. Attempts with no stored run (no code block, cut off) are skipped; a
program that does not compile gets its syntax error as feedback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from lessons.builders.base import Lesson, Provenance, config_args, require_teacher
from lessons.builders.source import LessonSource
from lessons.models.base import Backend, Chat, SamplingParams
from lessons.records import AttemptRow
from lessons.sandbox import Execution
from lessons.verify.code import task_tests

FIX_REQUEST = "Fix the program. Reply with the whole corrected function in one ```python code block."


@dataclass(frozen=True)
class FeedbackConfig:
    teacher: str | None = None  # model that writes the fixes (as `lessons eval --model` takes); None: none
    samples: int = 2  # fixes asked per failed attempt; the first that passes every test is kept
    temperature: float = 0.7  # for the fixes (0: greedy, then one sample is enough)
    max_new_tokens: int = 768
    reference: bool = False  # use the task's reference program when no model fix passes (or no model)
    max_message_chars: int = 300  # the failing test's message is cut to this many characters
    seed: int = 0


@dataclass(frozen=True)
class Failure:
    """A failed attempt and the feedback turn that tells the model why."""

    attempt: AttemptRow
    feedback: str
    status: str  # the run's status ("failed", "error", "timeout" ...) or "syntax_error"
    first_failure: str | None


class FeedbackBuilder:
    name = "feedback"
    format = "messages"
    needs_diagnoses = False
    config_class = FeedbackConfig
    resources = ("teacher",)

    def __init__(self, teacher: Backend | None = None):
        self.teacher = teacher  # used only when the config names a teacher

    def build(self, source: LessonSource, config: FeedbackConfig | None = None) -> list[Lesson]:
        config = config or FeedbackConfig()
        if not source.judges_programs:
            raise ValueError(f"feedback lessons need a code run judged by running tests; run "
                             f"{source.run.name!r} used the {source.verifier!r} verifier")
        require_teacher(self.name, config.teacher, self.teacher)
        failures = [f for a in source.mistakes() if (f := failure(source, a, config.max_message_chars))]
        chats = [self._chat(source, f) for f in failures]
        fixes = self._model_fixes(source, failures, chats, config) if config.teacher else [None] * len(failures)
        if config.reference:
            fixes = self._reference_fixes(source, failures, fixes)
        return [self._lesson(source, f, chat, fix, config)
                for f, chat, fix in zip(failures, chats, fixes) if fix is not None]

    def _chat(self, source: LessonSource, f: Failure) -> Chat:
        return source.render(source.tasks[f.attempt.task_id]) + [
            {"role": "assistant", "content": f.attempt.text.strip()}, {"role": "user", "content": f.feedback}]

    def _model_fixes(self, source: LessonSource, failures: Sequence[Failure], chats: Sequence[Chat],
                     config: FeedbackConfig) -> list[tuple[str, str] | None]:
        """The first sample of each chat that passes every test, all judged in one batch."""
        assert self.teacher is not None
        seed = int(hashlib.sha256(f"feedback/{source.run.id}/{config.seed}".encode()).hexdigest()[:8], 16)
        params = SamplingParams(n=config.samples, temperature=config.temperature,
                                max_new_tokens=config.max_new_tokens, seed=seed)
        replies = self.teacher.generate(list(chats), params) if chats else []
        pairs = [(i, c.text.strip()) for i, row in enumerate(replies) for c in row if c.text.strip()]
        verdicts = source.judge([(source.tasks[failures[i].attempt.task_id], text) for i, text in pairs])
        fixes: list[tuple[str, str] | None] = [None] * len(failures)
        for (i, text), verdict in zip(pairs, verdicts):
            if verdict.correct and fixes[i] is None:
                fixes[i] = (text, "model")
        return fixes

    def _reference_fixes(self, source: LessonSource, failures: Sequence[Failure],
                         fixes: list[tuple[str, str] | None]) -> list[tuple[str, str] | None]:
        """Each task's reference program where no model fix passed, when it passes its own tests."""
        tasks = sorted({failures[i].attempt.task_id for i, fix in enumerate(fixes) if fix is None})
        responses = {t: source.gold_response(source.tasks[t]) for t in tasks}
        verdicts = source.judge([(source.tasks[t], responses[t]) for t in tasks])
        passing = {t for t, v in zip(tasks, verdicts) if v.correct}
        return [fix if fix is not None or f.attempt.task_id not in passing
                else (responses[f.attempt.task_id], "reference") for f, fix in zip(failures, fixes)]

    def _lesson(self, source: LessonSource, f: Failure, chat: Chat, fix: tuple[str, str],
                config: FeedbackConfig) -> Lesson:
        text, origin = fix
        row = {"messages": chat + [{"role": "assistant", "content": text}]}
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=f.attempt.task_id, attempt_ids=(f.attempt.id,),
            args=config_args(config),
            detail={"fix": origin, "teacher": config.teacher if origin == "model" else None,
                    "status": f.status, "first_failure": f.first_failure},
        ))


def failure(source: LessonSource, attempt: AttemptRow, max_chars: int) -> Failure | None:
    """The feedback for a failed attempt from its stored run (or its syntax error); None when
    there is nothing to show (no program was found, or the stored run passed)."""
    if not attempt.text.strip():
        return None
    run = attempt.execution
    if run is None:
        if attempt.extraction_status != "malformed":
            return None
        text = f"Your program does not compile: {clip(attempt.verdict_detail, max_chars)}\n\n{FIX_REQUEST}"
        return Failure(attempt, text, "syntax_error", None)
    if run.passed:
        return None
    task = source.tasks[attempt.task_id]
    return Failure(attempt, feedback_text(run, case_sources(task.id, task.metadata), max_chars), run.status,
                   run.first_failure)


def feedback_text(run: Execution, sources: dict[str, str], max_chars: int) -> str:
    """What running the tests gave, as a user turn: the first failing test (its source when
    the tests are named cases), the exception and its line, the message cut short."""
    lines = [f"Running your program on the tests gave: {run.status.replace('_', ' ')}."]
    first = next((t for t in run.tests if t.status in ("failed", "error")), None)
    if first is not None:
        lines.append(f"First failing test: {first.name}")
        if first.name in sources:
            lines.append(f"    {sources[first.name].strip()}")
    exception, line = (first.exception, first.line) if first is not None else (run.exception, run.line)
    message = first.message if first is not None and first.message else run.message
    where = f" at line {line} of your program" if line is not None else ""
    said = f": {clip(message, max_chars)}" if message else ""
    lines.append(f"{exception or 'Error'}{where}{said}" if exception or where else clip(run.message, max_chars))
    return "\n".join(line for line in lines if line) + "\n\n" + FIX_REQUEST


def case_sources(task_id: str, metadata: dict) -> dict[str, str]:
    """Named test cases' sources by name; none for a test source (HumanEval's check)."""
    tests = task_tests(task_id, metadata)
    return {} if isinstance(tests, str) else {t.name: t.source for t in tests}


def clip(text: str, max_chars: int) -> str:
    """One line of at most `max_chars` characters, "..." marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= max_chars else flat[: max(max_chars - 3, 0)].rstrip() + "..."
