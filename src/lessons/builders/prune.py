"""Choosing a lesson budget by a prototype metric, not at random.

"Beyond neural scaling laws: beating power law scaling via data pruning" (Sorscher et al.,
NeurIPS 2022) ranks examples with a self-supervised metric: embed them, cluster the
embeddings with k-means, and score each example by its distance to its cluster's
prototype (centroid): near ones are easy, typical; far ones are hard, unusual. Which end
to keep depends on how much data there is: with plenty, the hardest teach most; with
little, the easiest do. Here an example is a lesson's question (its last user message),
so two lessons on the same problem count as one point.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from lessons.builders.base import Lesson
from lessons.arith.numbers import mask_numbers
from lessons.diagnose.taxonomy import kmeans, unit_rows

KEEPS = ("hard", "easy")


def question_of(lesson: Lesson) -> str:
    """The text a lesson is placed by: its last user message, else its prompt text."""
    prompt = lesson.row.get("prompt") or lesson.row.get("messages") or ""
    if isinstance(prompt, list):
        users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users else ""
    return str(prompt)


def prototype_scores(lessons: Sequence[Lesson], embedder: Any, clusters: int | None = None, seed: int = 0
                     ) -> np.ndarray:
    """Each lesson's distance to its k-means prototype (cosine distance, 0..2); k is the
    square root of the distinct questions unless given."""
    questions = [mask_numbers(question_of(lesson)) for lesson in lessons]
    counts = Counter(questions)
    distinct = list(counts)
    if len(distinct) < 2:
        return np.zeros(len(lessons))
    vectors = unit_rows(embedder.embed(distinct))
    k = min(len(distinct), clusters or max(1, round(len(distinct) ** 0.5)))
    # weighted by how many lessons share a question, so a common problem pulls its prototype
    centroids = unit_rows(kmeans(vectors, np.array([counts[q] for q in distinct], dtype=float), k, 1, seed))
    distance = 1.0 - (vectors @ centroids.T).max(axis=1)
    by_question = dict(zip(distinct, distance))
    return np.array([by_question[q] for q in questions])


def prune(lessons: Sequence[Lesson], budget: int, embedder: Any, keep: str = "hard", seed: int = 0) -> list[Lesson]:
    """The `budget` hardest (farthest from their prototype) or easiest lessons, in their
    original order; ties go to the earlier lesson."""
    if keep not in KEEPS:
        raise ValueError(f"prune keep={keep!r}: use {' or '.join(KEEPS)}")
    if budget >= len(lessons):
        return list(lessons)
    scores = prototype_scores(lessons, embedder, seed=seed)
    order = np.argsort(-scores if keep == "hard" else scores, kind="stable")
    chosen = sorted(order[:max(0, budget)].tolist())
    return [lessons[i] for i in chosen]
