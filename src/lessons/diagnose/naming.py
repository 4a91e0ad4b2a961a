"""Cluster names from a model: a short label for a group of mistakes, given its
distinctive terms and a few example descriptions (used when a critic model is set)."""

from __future__ import annotations

import re
from typing import Sequence

from lessons.diagnose.taxonomy import Namer
from lessons.models.base import Backend, SamplingParams

MAX_NAME_CHARS = 60
_PROMPT = (
    "Below are descriptions of similar mistakes a model made on math problems (numbers are "
    "masked as N), with the terms that set this group apart.\n\nTerms: {terms}\n\nExamples:\n"
    "{examples}\n\nName this kind of mistake in 3 to 6 words. Reply with the name only."
)


def llm_namer(backend: Backend, max_new_tokens: int = 16) -> Namer:
    """A namer asking `backend` (greedy) for a short label; falls back to the terms when the
    reply is empty. Model output is untrusted: one line, plain characters, capped length."""

    def name(terms: Sequence[str], examples: Sequence[str]) -> str:
        chat = [{"role": "user", "content": _PROMPT.format(
            terms=", ".join(terms), examples="\n".join(f"- {e}" for e in examples[:3]))}]
        reply = backend.generate([chat], SamplingParams(max_new_tokens=max_new_tokens))[0][0].text
        return clean_name(reply) or " / ".join(terms[:3])

    return name


def clean_name(reply: str) -> str:
    """The first non-empty line, without quotes, markup or a trailing period, capped."""
    line = next((ln for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"[^\w\s/&,()'-]", "", line).strip(" '\"-")
    return line[:MAX_NAME_CHARS].strip()
