"""First wrong step by Monte Carlo rollouts from step prefixes (Math-Shepherd, OmegaPRM).

Prefix i is the response's steps 0..i (prefix -1 is the bare question). A prefix is
*good* when at least one of up to k rollouts continued from it reaches the gold answer,
*bad* when none does. The first wrong step is the first bad prefix whose predecessor is
good. Two ways to find it, with the same token accounting (every generated token of every
rollout counts towards the case's `Location.tokens`):

- ``mode="binary"`` (OmegaPRM): binary search over prefixes, assuming goodness is monotone
  (once a prefix is bad, every longer one is too). A prefix is sampled in rounds of
  `round_size` rollouts and declared good at its first success (early stop), bad after k
  failures. Each round sends every case's current probe to the backend in one generate()
  call, so a batch of cases costs about log2(steps) * k / round_size calls in all.
- ``mode="every_prefix"`` (Math-Shepherd's plain labelling): k rollouts from every
  prefix, all in one call, no early stop. The baseline of benchmarks/rollout_cost.py.

Rollouts continue an assistant message holding the prefix, so the prefix is never
regenerated and a server's prefix cache applies (see the backends' assistant-prefix
continuation). A prefix is the response's own text up to the end of its last step (or,
for a case without the response, the steps' texts one per line).

What is known without sampling is not sampled: the response itself is one rollout from
its full prefix, so when its own answer is wrong the full prefix is bad, and when it is
right the case needs no search. The bare question is assumed good until the search
reaches it; when even it is bad the model cannot solve the task and no step is blamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

from lessons.diagnose.base import Case, Location
from lessons.models.base import Backend, Chat, Completion, SamplingParams
from lessons.prompts import DEFAULT_TEMPLATE, PromptTemplate, templates
from lessons.tasks.base import Task
from lessons.verify import DEFAULT_METHODS, verify

Mode = Literal["binary", "every_prefix"]

UNSOLVABLE_CONFIDENCE = 0.1  # "no step to blame": the model fails from the question itself
SOLVED_CONFIDENCE = 0.9  # the response's own answer is right; a right answer after a wrong step is rare
REACHABLE_CONFIDENCE = 0.7  # no answer in the response, but continuing it reaches the gold one
PRIOR_SUCCESS = 0.5  # assumed success rate of an unprobed good prefix (the bare question)


@dataclass
class _Search:
    """One case's search state (mutable, private). Prefix indices run from -1 (the bare
    question) to n-1 (all n steps); `lo` = -2 and `hi` = n are the "none" sentinels."""

    index: int  # position of the case in the batch
    lo: int  # longest prefix known good
    hi: int  # shortest prefix known bad
    tokens: int = 0
    outcomes: dict[int, tuple[int, int]] = field(default_factory=dict)  # prefix -> (successes, rollouts)

    @property
    def probe(self) -> int:
        return (self.lo + self.hi) // 2

    @property
    def done(self) -> bool:
        return self.hi - self.lo <= 1

    def record(self, prefix: int, successes: int, rollouts: int, tokens: int) -> None:
        won, tried = self.outcomes.get(prefix, (0, 0))
        self.outcomes[prefix] = (won + successes, tried + rollouts)
        self.tokens += tokens


class RolloutLocator:
    """Locate first wrong steps by rollouts; see the module docstring."""

    name = "rollout"
    needs_backend = True  # make_locator refuses to build it without one

    def __init__(
        self,
        backend: Backend,
        template: str | PromptTemplate = DEFAULT_TEMPLATE,  # the prompt the response was made with
        rollouts: int = 4,  # k: rollouts before a prefix is called bad
        round_size: int = 2,  # rollouts per prefix per generate() call (binary mode); divides k
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_new_tokens: int = 256,  # per rollout; arith solutions need ~150 from the question
        seed: int = 0,
        verifier: str = "math",
        methods: Sequence[str] = DEFAULT_METHODS,  # answer extraction methods, as in evaluation
        mode: Mode = "binary",
    ):
        if rollouts < 1 or round_size < 1 or rollouts % round_size:
            raise ValueError(f"rollouts ({rollouts}) must be a positive multiple of round_size ({round_size})")
        if mode not in ("binary", "every_prefix"):
            raise ValueError(f"unknown rollout mode {mode!r}; use 'binary' or 'every_prefix'")
        self.backend = backend
        self.template = templates.get(template) if isinstance(template, str) else template
        self.rollouts, self.round_size, self.mode = rollouts, round_size, mode
        self.temperature, self.top_p, self.max_new_tokens, self.seed = temperature, top_p, max_new_tokens, seed
        self.verifier, self.methods = verifier, tuple(methods)

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        locations: list[Location | None] = [None] * len(cases)
        searches = []
        for i, case in enumerate(cases):
            settled, known_bad = self._without_sampling(case)
            if settled is not None:
                locations[i] = settled
            else:
                searches.append(_Search(i, lo=-2, hi=len(case.steps) - 1 if known_bad else len(case.steps)))
        if self.mode == "binary":
            self._binary_search(cases, searches)
        else:
            self._every_prefix(cases, searches)
        for s in searches:
            locations[s.index] = self._conclude(cases[s.index], s)
        return locations  # type: ignore[return-value]  # every slot is filled above

    def _without_sampling(self, case: Case) -> tuple[Location | None, bool]:
        """(location, full prefix known bad): what the case says before any rollout."""
        if not case.answer:
            return Location(None, self.name, 0.0, "no gold answer"), False
        if not case.steps:
            return Location(None, self.name, 0.0, "no steps to judge"), False
        # Only an answer the response wrote out counts: the last number of a response that was
        # cut off or never concluded is a step's, so there the full prefix is probed instead.
        marked = tuple(m for m in self.methods if m != "last_number") or self.methods
        verdict = verify(case.answer, prefix_text(case, len(case.steps) - 1), "stop", self.verifier, marked)
        if verdict.correct:
            return Location(None, self.name, SOLVED_CONFIDENCE, "the response's own answer is correct"), False
        return None, verdict.extraction.status == "ok"

    def _binary_search(self, cases: Sequence[Case], searches: list[_Search]) -> None:
        active = [s for s in searches if not s.done]
        call = 0
        while active:
            chats = [self._chat(cases[s.index], s.probe) for s in active]
            rows = self.backend.generate(chats, self._params(self.round_size, call))
            call += 1
            for s, row in zip(active, rows):
                probe = s.probe
                s.record(probe, *self._score(cases[s.index], probe, row))
                won, tried = s.outcomes[probe]
                if won:
                    s.lo = probe
                elif tried >= self.rollouts:
                    s.hi = probe
            active = [s for s in active if not s.done]

    def _every_prefix(self, cases: Sequence[Case], searches: list[_Search]) -> None:
        # Every prefix whose status the response does not already give, from the bare question on.
        jobs = [(s, p) for s in searches for p in range(-1, s.hi)]
        if jobs:
            chats = [self._chat(cases[s.index], p) for s, p in jobs]
            rows = self.backend.generate(chats, self._params(self.rollouts, 0))
            for (s, p), row in zip(jobs, rows):
                s.record(p, *self._score(cases[s.index], p, row))
        for s in searches:
            first_bad = next((p for p in range(-1, s.hi) if s.outcomes[p][0] == 0), s.hi)
            s.lo, s.hi = first_bad - 1, first_bad

    def _conclude(self, case: Case, s: _Search) -> Location:
        n, k = len(case.steps), self.rollouts
        if s.hi == -1:
            return Location(None, self.name, UNSOLVABLE_CONFIDENCE,
                            f"model cannot solve this task: 0/{k} rollouts from the question reach {case.answer}",
                            s.tokens)
        if s.hi == n:
            won, tried = s.outcomes[n - 1]
            return Location(None, self.name, REACHABLE_CONFIDENCE,
                            f"no wrong step: {won}/{tried} rollouts after the last step reach {case.answer}", s.tokens)
        won, tried = s.outcomes.get(s.hi - 1, (0, 0))
        before = "the question" if s.hi == 0 else f"step {s.hi - 1}"
        seen = f"{won}/{tried}" if tried else "assumed good"
        after = f"0/{s.outcomes[s.hi][1]}" if s.hi in s.outcomes else "the response itself is wrong"
        # A bad verdict is wrong when k rollouts all missed a reachable answer: (1 - p)^k, with p
        # the success rate seen one prefix earlier (Laplace-smoothed; a prior when not probed).
        p = (won + 1) / (tried + 2) if tried else PRIOR_SUCCESS
        confidence = round(1.0 - (1.0 - p) ** k, 3)
        detail = f"after {before}: {seen} rollouts reach {case.answer}; after step {s.hi}: {after}"
        return Location(s.hi, self.name, confidence, detail, s.tokens)

    def _chat(self, case: Case, prefix: int) -> Chat:
        task = Task(id=case.key or "case", prompt=case.question, answer=case.answer or "")
        chat = self.template.render(task)
        if prefix >= 0:
            chat.append({"role": "assistant", "content": prefix_text(case, prefix)})
        return chat

    def _params(self, n: int, call: int) -> SamplingParams:
        # Seeds step by n per call so the rounds of one prefix never repeat a sample's seed.
        return SamplingParams(n=n, temperature=self.temperature, top_p=self.top_p,
                              max_new_tokens=self.max_new_tokens, seed=self.seed + call * n)

    def _score(self, case: Case, prefix: int, row: Sequence[Completion]) -> tuple[int, int, int]:
        """(successes, rollouts, generated tokens) of one prefix's completions."""
        head = prefix_text(case, prefix) if prefix >= 0 else ""
        won = sum(
            verify(case.answer or "", head + c.text, c.finish_reason, self.verifier, self.methods).correct for c in row
        )
        return won, len(row), sum(c.completion_tokens for c in row)


def prefix_text(case: Case, prefix: int) -> str:
    """Steps 0..prefix ending in a newline so a rollout starts the next step: the response's
    own characters up to the step's end when the case carries the response, else the
    steps' texts one per line."""
    if prefix < 0:
        return ""
    if case.response:
        return case.response[: case.steps[prefix].end].rstrip() + "\n"
    return "".join(step.text.strip() + "\n" for step in case.steps[: prefix + 1])
