"""Question topics: a slice feature for task files that carry no labels.

GSM8K or a user's own JSONL has no `skill` or `difficulty`, so SliceLine would have nothing
to slice by. A topic is a cluster of the questions themselves: the train split's questions
are embedded (the taxonomy's embedder), clustered by k-means, and every task, held-out ones
included, is filed under its nearest centroid. Only train questions place the centroids, so
nothing about the held-out tasks is learnt before they judge a target; a held-out task
still falls in a topic, so a target chosen on topics is measured on held-out tasks of the
same topics.

A topic's label is its number and its top c-TF-IDF words, "t2-apples-eggs-sells", kept to
characters a slice label can hold as a value ("topic=t2-apples-eggs-sells").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lessons.arith.numbers import mask_numbers
from lessons.diagnose.taxonomy import Embedder, ctfidf_terms, kmeans, unit_rows
from lessons.tasks.base import Task

FEATURE = "topic"
MIN_PER_TOPIC = 25  # train questions per topic, at least: a slice needs support to be found
MAX_TOPICS = 12
TERMS = 3


@dataclass(frozen=True, eq=False)  # eq=False: numpy centroids do not compare as booleans
class Topics:
    labels: tuple[str, ...]
    centroids: np.ndarray  # (topics, dim) unit rows

    def assign(self, vectors: np.ndarray) -> list[str]:
        """The label of each (unit) vector's nearest centroid."""
        if not len(vectors):
            return []
        return [self.labels[i] for i in (np.asarray(vectors, dtype=np.float32) @ self.centroids.T).argmax(axis=1)]


def topic_count(train_questions: int) -> int:
    """How many topics `train_questions` support (0: too few to slice at all)."""
    return min(MAX_TOPICS, train_questions // MIN_PER_TOPIC) if train_questions >= 2 * MIN_PER_TOPIC else 0


def fit_topics(questions: Sequence[str], embedder: Embedder, k: int | None = None, seed: int = 0) -> Topics:
    """Topics of `questions` (train questions only: see the module docstring)."""
    k = topic_count(len(questions)) if k is None else k
    if k < 2 or len(questions) < k:
        raise ValueError(f"{len(questions)} questions cannot make {k} topics: "
                         f"need at least {2 * MIN_PER_TOPIC} train questions for two")
    vectors = unit_rows(embedder.embed([mask_numbers(q) for q in questions]))
    centroids = unit_rows(kmeans(vectors, np.ones(len(vectors)), k, 4, seed))
    nearest = (vectors @ centroids.T).argmax(axis=1)
    # Number topics by size (largest first) so the labels of a refit read the same way.
    order = sorted(range(k), key=lambda c: (-int((nearest == c).sum()), c))
    docs = [[mask_numbers(questions[i]) for i in np.flatnonzero(nearest == c)] for c in order]
    terms = ctfidf_terms(docs, [np.ones(len(d)) for d in docs], TERMS, english=True)
    labels = tuple("-".join([f"t{n + 1}", *(_slug(w) for w in words)]) for n, words in enumerate(terms))
    return Topics(labels, centroids[order])


def task_topics(tasks: Sequence[Task], embedder: Embedder, k: int | None = None, seed: int = 0) -> dict[str, str]:
    """Each task's topic label by id, the topics fitted on the train-split tasks; empty when
    there are too few train questions for two topics."""
    train = [t for t in tasks if t.split == "train"]
    if (topic_count(len(train)) if k is None else k) < 2:
        return {}
    topics = fit_topics([t.prompt for t in train], embedder, k, seed)
    vectors = unit_rows(embedder.embed([mask_numbers(t.prompt) for t in tasks]))
    return dict(zip((t.id for t in tasks), topics.assign(vectors)))


def write_topics(tasks: Sequence[Task], embedder: Embedder, k: int, path: str | Path,
                 about: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """Fit `k` topics on the train tasks, label every task `topic=` its nearest, and write
    the labels file a suite loads them from (`lessons.tasks.files`); returns the file's
    content hash and the tasks of each topic, largest first."""
    from lessons.tasks.files import write_labels

    train = sum(t.split == "train" for t in tasks)
    if k < 2 or train < k:
        raise ValueError(f"{train} train questions cannot make {k} topics: at least 2, and one question each")
    labels = task_topics(tasks, embedder, k)
    digest = write_labels(path, {task: {FEATURE: label} for task, label in labels.items()},
                          {"feature": FEATURE, "topics": k, "fitted_on": "train split"} | about)
    return digest, dict(Counter(labels.values()).most_common())


def _slug(word: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", word.lower())
