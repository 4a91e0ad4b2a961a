"""First wrong step by an LLM critic, with ProcessBench's critique prompt.

The solution's steps are shown as tagged paragraphs indexed from 0, which are our step
indices, and the critic answers the index of the earliest wrong paragraph, or -1, in
\\boxed{}. The prompt is ProcessBench's (Zheng et al. 2024, code/templates/
critique_template.txt) word for word, so a model's critic accuracy here compares with
its published ProcessBench numbers. With `samples` > 1 the critiques are sampled and the
majority index wins (ProcessBench's voting); confidence is its share of the votes, scaled
by CRITIC_TRUST because even a unanimous critic of a small model is often wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from lessons.diagnose.base import Case, Location
from lessons.models.base import Backend, Chat, SamplingParams

CRITIQUE_TEMPLATE = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and "
    "indexed from 0):\n\n[Math Problem]\n\n{problem}\n\n[Solution]\n\n{tagged_response}\n\n"
    "Your task is to review and critique the solution paragraph by paragraph. Once you identify an "
    "error in a paragraph, return the index of the paragraph where the earliest error occurs. "
    'Otherwise, return the index of -1 (which typically denotes "not found").\n\n'
    "Please put your final answer (i.e., the index) in \\boxed{{}}."
)
CRITIC_TRUST = 0.6  # ceiling on a critic's confidence: one model's reading, not a check
EXCERPT_CHARS = 160  # of the critique, in Location.detail

_BOXED = re.compile(r"\\boxed\s*\{\s*(-?\d+)\s*\}")
_PARAGRAPH = re.compile(r"paragraph[_\s]*(?:#|no\.?\s*)?(-?\d+)", re.IGNORECASE)
_INTEGER = re.compile(r"-?\d+")


def critique_prompt(case: Case) -> Chat:
    tagged = "\n\n".join(f"<paragraph_{s.index}>\n{s.text.strip()}\n</paragraph_{s.index}>" for s in case.steps)
    return [{"role": "user", "content": CRITIQUE_TEMPLATE.format(problem=case.question, tagged_response=tagged)}]


def parse_critique(text: str) -> int | None:
    """The paragraph index a critique names (-1 for "no error"), or None. In order: the
    last \\boxed{N}; on the last non-empty line (where a conclusion is), the last
    "paragraph N", else the last integer; anywhere, the last "paragraph N"."""
    boxed = _BOXED.findall(text)
    if boxed:
        return int(boxed[-1])
    lines = [line for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    for found in (_PARAGRAPH.findall(last), _INTEGER.findall(last), _PARAGRAPH.findall(text)):
        if found:
            return int(found[-1])
    return None


class CriticLocator:
    name = "critic"
    needs_backend = True  # make_locator refuses to build it without one

    def __init__(
        self,
        backend: Backend,
        max_new_tokens: int = 512,  # room for a paragraph-by-paragraph review before the box
        samples: int = 1,  # critiques per case; >1 samples and votes
        temperature: float | None = None,  # None: greedy for one sample, 0.7 for several
        seed: int = 0,
    ):
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        self.backend, self.max_new_tokens, self.samples, self.seed = backend, max_new_tokens, samples, seed
        self.temperature = temperature if temperature is not None else (0.0 if samples == 1 else 0.7)

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        todo = [i for i, c in enumerate(cases) if c.steps]
        locations = [Location(None, self.name, 0.0, "no steps to judge") for _ in cases]
        if not todo:
            return locations
        params = SamplingParams(n=self.samples, temperature=self.temperature,
                                max_new_tokens=self.max_new_tokens, seed=self.seed)
        rows = self.backend.generate([critique_prompt(cases[i]) for i in todo], params)
        for i, row in zip(todo, rows):
            locations[i] = self._vote(len(cases[i].steps), [c.text for c in row],
                                      sum(c.completion_tokens for c in row))
        return locations

    def _vote(self, n_steps: int, critiques: list[str], tokens: int) -> Location:
        indices = [parse_critique(t) for t in critiques]
        valid = [i for i in indices if i is not None and -1 <= i < n_steps]
        if not valid:
            return Location(None, self.name, 0.0, f"unparseable critique: {_excerpt(critiques[0])}", tokens)
        winner, votes = Counter(valid).most_common(1)[0]
        confidence = round(CRITIC_TRUST * votes / len(critiques), 3)
        chosen = critiques[indices.index(winner)]
        step = None if winner == -1 else winner
        verdict = "no error found" if step is None else f"paragraph {winner}"
        tally = f" ({votes}/{len(critiques)} votes)" if len(critiques) > 1 else ""
        return Location(step, self.name, confidence, f"{verdict}{tally}: {_excerpt(chosen)}", tokens)


def _excerpt(text: str) -> str:
    """The critique's last words (where its verdict is), on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else "…" + flat[-EXCERPT_CHARS:]
