"""A scripted fake backend for unit tests: answers from a function or a queue, records calls."""

from __future__ import annotations

from collections import deque
from typing import Callable, Sequence

from lessons.models.base import BackendError, Chat, Completion, ModelInfo, SamplingParams


class ScriptedBackend:
    """`respond(chat, sample) -> str` or a list of texts served in order. `fail_after`
    makes the k-th generate() call (0-based) fail with a BackendError, after finishing the
    first `partial` prompts of that batch."""

    def __init__(
        self,
        respond: Callable[[Chat, int], str] | Sequence[str],
        name: str = "scripted",
        fail_on_call: int | None = None,
        partial: int = 0,
        finish_reason: str = "stop",
    ):
        self.queue = deque(respond) if not callable(respond) else None
        self.respond = respond if callable(respond) else None
        self.info = ModelInfo(name=name, backend="scripted", source="tests", args={})
        self.calls: list[tuple[list[Chat], SamplingParams]] = []
        self.fail_on_call, self.partial, self.finish_reason = fail_on_call, partial, finish_reason

    def _text(self, chat: Chat, sample: int) -> str:
        return self.respond(chat, sample) if self.respond else self.queue.popleft()

    def _completion(self, chat: Chat, sample: int) -> Completion:
        text = self._text(chat, sample)
        return Completion(text=text, prompt_tokens=len(chat[-1]["content"].split()),
                          completion_tokens=len(text.split()), finish_reason=self.finish_reason,
                          logprob=-1.0, latency_s=0.001)

    def generate(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        call = len(self.calls)
        self.calls.append((list(prompts), params))
        if self.fail_on_call is not None and call >= self.fail_on_call:
            done = {i: [self._completion(prompts[i], s) for s in range(params.n)] for i in range(self.partial)}
            raise BackendError("endpoint http://127.0.0.1:9/v1 unreachable after 5 attempts: refused", done)
        return [[self._completion(p, s) for s in range(params.n)] for p in prompts]


def question_of(chat: Chat) -> str:
    return chat[-1]["content"]


class ListSuite:
    """A suite over given tasks."""

    def __init__(self, tasks, name: str = "listed"):
        from lessons.tasks.base import SuiteInfo

        self._tasks = list(tasks)
        self.info = SuiteInfo(name=name, version="1", source="tests", fingerprint=f"{name}-{len(self._tasks)}")

    def tasks(self, limit=None):
        return iter(self._tasks[:limit] if limit is not None else self._tasks)


def sum_tasks(n: int, name: str = "sums"):
    """Tasks 'What is a + b?' with known answers; half the ids land in each skill."""
    from lessons.tasks.base import GoldStep, Task, split_for

    tasks = []
    for i in range(n):
        a, b = 10 + i, 20 + 2 * i
        tid = f"{name}-{i:03d}"
        tasks.append(Task(id=tid, prompt=f"What is {a} + {b}?", answer=str(a + b),
                          steps=(GoldStep(f"{a} + {b} = {a + b}", str(a + b)),),
                          metadata={"skill": "even" if i % 2 == 0 else "odd"}, split=split_for(tid)))
    return tasks


def solve(chat: Chat, sample: int = 0, wrong_every: int = 3) -> str:
    """Answers 'What is a + b?' correctly, except for tasks whose a is a multiple of `wrong_every`."""
    import re

    a, b = map(int, re.findall(r"\d+", question_of(chat))[:2])
    result = a + b + (1 if a % wrong_every == 0 else 0)
    return f"Step 1: {a} + {b} = {result}\nAnswer: {result}"


class WordHashEmbedder:
    """Bag of words (letters only) hashed into 64 dimensions: texts sharing words are
    close. Stands in for MiniLM in fast tests; counts what it embeds."""

    def __init__(self, dim: int = 64):
        self.dim, self.calls, self.texts = dim, 0, 0

    def embed(self, texts):
        import re
        import zlib

        import numpy as np

        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z_]{2,}", text.lower()) or ["<empty>"]:
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
