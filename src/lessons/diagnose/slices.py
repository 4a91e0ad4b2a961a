"""Weak slices: subsets of tasks, described by their metadata, where mistakes concentrate.

SliceLine (Sagadeeva & Boehm, SIGMOD 2021, the `sliceline` package) searches conjunctions
of up to `max_features` predicates ("skill = fractions AND difficulty = 3") for slices
that are both large and much worse than average.

The features are task metadata only. An attempt's error type is *not* a feature: a slice
"error type = calculation" would have an error rate of 1 by construction and say nothing.
Error types are instead the target of their own views: `find_weak_slices` asks where
mistakes of any kind concentrate (error = the attempt is a mistake), and
`find_error_type_slices` asks, per error type T, where T concentrates (error = the
attempt's mistake has type T), e.g. unit slips in two-step conversions.

Numeric metadata with many values is binned into quantile ranges, since SliceLine only
takes categories. A slice's conditions are `Predicate`s (a feature equal to a category, in
a numeric range, or missing) joined in a `SliceSpec`, which owns which metadata count as
features, whether a task falls in the slice and how the slice is written ("difficulty=3
and skill=fractions"); the written labels are what the store and loop outputs keep, so
`SliceSpec.from_labels` reads them back. Degenerate input (no rows, no mistakes, only
mistakes, no feature that varies, too few rows for the minimum support) gives no slices
rather than an error.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np


MISSING = "missing"  # SliceLine's category for a task without the feature
IDS = ("id", "seed_task")  # metadata that names a task rather than describes it
_RANGE = re.compile(r"^\[(\S+), (\S+)([)\]])$")  # "[2, 4)" or, the last bin, "[7, 9]"


def slice_features(metadata: Mapping[str, object]) -> dict[str, object]:
    """The metadata a slice is described by: plain values (text and numbers, not flags),
    not ids. Every slice finder and every membership test takes features from here, so a
    slice `lessons slices` reports is one the practice builder and the loop can match."""
    return {k: v for k, v in metadata.items()
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and k not in IDS}


@dataclass(frozen=True)
class Range:
    """Numeric values from `low` up to `high`, half-open unless `closed` (the last bin)."""

    low: float
    high: float
    closed: bool = False

    def holds(self, value: object) -> bool:
        if not _is_number(value):
            return False
        x = float(value)  # type: ignore[arg-type]
        return self.low <= x < self.high or (self.closed and x == self.high)

    def __str__(self) -> str:
        return f"[{_label(self.low)}, {_label(self.high)}{']' if self.closed else ')'}"


@dataclass(frozen=True)
class Predicate:
    """One condition on one feature: equal to a category (`value`), in a `range`, or, with
    neither, missing."""

    feature: str
    value: str | None = None  # a category as SliceLine labels it: "fractions", "3"
    range: Range | None = None

    @classmethod
    def parse(cls, feature: str, label: str) -> "Predicate":
        """The predicate SliceLine (or a stored slice) writes as `label`. A range whose
        bounds do not read back to the same text (3 significant digits lost) stays a
        category, matched by its text as before, so a stored label always shows as stored."""
        if label == MISSING:
            return cls(feature)
        m = _RANGE.match(label)
        if m:
            try:
                span = Range(float(m.group(1)), float(m.group(2)), m.group(3) == "]")
            except ValueError:
                span = None
            if span is not None and str(span) == label:
                return cls(feature, range=span)
        return cls(feature, value=label)

    @classmethod
    def equal(cls, feature: str, value: object) -> "Predicate":
        """The feature equal to one task's value (None: missing)."""
        return cls(feature) if value is None else cls(feature, value=_label(value))

    @property
    def label(self) -> str:
        if self.range is not None:
            return str(self.range)
        return MISSING if self.value is None else self.value

    def matches(self, features: Mapping[str, object]) -> bool:
        value = features.get(self.feature)
        if self.range is not None:
            return self.range.holds(value)
        if self.value is None:
            return value is None
        return _label(value) == self.value

    def __str__(self) -> str:
        return f"{self.feature}={self.label}"


@dataclass(frozen=True)
class SliceSpec:
    """A slice: tasks meeting every predicate (one per feature, kept in feature order);
    no predicate is every task."""

    predicates: tuple[Predicate, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "predicates", tuple(sorted(self.predicates, key=lambda p: p.feature)))

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> "SliceSpec":
        """From feature -> label, as SliceLine describes a slice and the store keeps it."""
        return cls(tuple(Predicate.parse(str(k), str(v)) for k, v in labels.items()))

    def labels(self) -> dict[str, str]:
        """Feature -> label: the form stored with runs and loop stages."""
        return {p.feature: p.label for p in self.predicates}

    def matches(self, metadata: Mapping[str, object]) -> bool:
        """Whether a task with this metadata falls in the slice."""
        features = slice_features(metadata)
        return all(p.matches(features) for p in self.predicates)

    def __str__(self) -> str:
        return " and ".join(str(p) for p in self.predicates) or "all"


@dataclass(frozen=True)
class SliceRow:
    """One attempt: its task's metadata and what went wrong (nothing for a correct one)."""

    features: Mapping[str, object]  # skill, difficulty, n_steps, source, ...
    mistake: bool
    error_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slice:
    description: dict[str, str] = field(hash=False)  # feature -> category, e.g. {"skill": "fractions"}
    size: int  # attempts in the slice
    errors: int  # of them mistakes (or, in an error-type view, mistakes of that type)
    error_rate: float
    lift: float  # error rate in the slice / overall error rate
    score: float  # SliceLine's score: error lift traded against size (alpha)
    view: str = "mistake"  # "mistake", or the error type whose rate is examined

    @property
    def spec(self) -> SliceSpec:
        return SliceSpec.from_labels(self.description)


@dataclass(frozen=True)
class SliceConfig:
    k: int = 10  # slices kept per view
    max_features: int = 3  # predicates per slice (SliceLine's max_l)
    # Weight of error rate against size (0..1]. The size penalty grows with all attempts /
    # slice size, so on a run of a few hundred attempts 0.8 hides a whole skill failing at
    # 1.5x the overall rate (200 attempts, 25 per skill: score < 0); 0.95 finds it.
    alpha: float = 0.95
    min_support: int = 10  # fewest attempts in a slice
    min_support_fraction: float = 0.01  # ... or this share of all attempts, whichever is larger
    bins: int = 4  # quantile bins for numeric features with many values
    max_levels: int = 8  # numeric features with at most this many values stay categories


def find_weak_slices(rows: Sequence[SliceRow], config: SliceConfig = SliceConfig()) -> list[Slice]:
    """Slices where mistakes are more frequent than overall, best score first."""
    errors = np.array([1.0 if r.mistake else 0.0 for r in rows])
    return _slices(rows, errors, "mistake", config)


def find_error_type_slices(
    rows: Sequence[SliceRow], config: SliceConfig = SliceConfig(), error_types: Sequence[str] | None = None
) -> dict[str, list[Slice]]:
    """Per error type T (every type present, or those given): slices where mistakes of
    type T are more frequent than overall. Types with no weak slice are left out."""
    if error_types is None:
        error_types = sorted({t for r in rows if r.mistake for t in r.error_types})
    out: dict[str, list[Slice]] = {}
    for error_type in error_types:
        errors = np.array([1.0 if r.mistake and error_type in r.error_types else 0.0 for r in rows])
        found = _slices(rows, errors, error_type, config)
        if found:
            out[error_type] = found
    return out


def _slices(rows: Sequence[SliceRow], errors: np.ndarray, view: str, config: SliceConfig) -> list[Slice]:
    n = len(rows)
    min_sup = max(config.min_support, math.ceil(config.min_support_fraction * n))
    if n < 2 * min_sup or errors.sum() == 0 or errors.sum() == n:
        return []
    names, table = _feature_table(rows, config)
    if not names:
        return []
    from sliceline.slicefinder import Slicefinder  # imported late: only slice finding needs it

    finder = Slicefinder(alpha=config.alpha, k=config.k, max_l=config.max_features, min_sup=min_sup, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba absence and sklearn deprecations are not the user's concern
        finder.fit(table, errors)
    average = float(errors.mean())
    found = []
    for predicates, stats in zip(finder.top_slices_, finder.top_slices_statistics_):
        size = int(round(stats["slice_size"]))
        if size == 0:
            continue
        wrong = int(round(stats["sum_slice_error"]))
        rate = wrong / size
        description = {name: str(value) for name, value in zip(names, predicates) if value is not None}
        if description and rate > average:
            found.append(Slice(description, size, wrong, rate, rate / average, float(stats["slice_score"]), view))
    found.sort(key=lambda s: (-s.score, -s.size, sorted(s.description.items())))
    return _drop_refinements(found)


def _drop_refinements(slices: list[Slice], gain: float = 1.25) -> list[Slice]:
    """Drop a slice that only narrows a better-scored one without raising its error rate
    by `gain` (25%): "fractions, difficulty 3, 7-9 steps" adds nothing to "fractions,
    difficulty 3" when both fail as often."""
    kept: list[Slice] = []
    for s in slices:
        items = s.description.items()
        if not any(k.description.items() <= items and s.error_rate < gain * k.error_rate for k in kept):
            kept.append(s)
    return kept


def _feature_table(rows: Sequence[SliceRow], config: SliceConfig) -> tuple[list[str], np.ndarray]:
    """Feature names and an (n, features) object array of category strings; features
    that take a single value are dropped (a slice on them is the whole data)."""
    names = sorted({str(k) for r in rows for k in r.features})
    columns, kept = [], []
    for name in names:
        column = _categorize([r.features.get(name) for r in rows], config)
        if len(set(column)) > 1:
            columns.append(column)
            kept.append(name)
    if not kept:
        return [], np.empty((len(rows), 0), dtype=object)
    return kept, np.array(columns, dtype=object).T


def _categorize(values: list[object], config: SliceConfig) -> list[str]:
    numbers = [v for v in values if _is_number(v)]
    if len(numbers) != sum(v is not None for v in values) or len(set(numbers)) <= config.max_levels:
        return [MISSING if v is None else _label(v) for v in values]
    edges = np.unique(np.quantile(np.array(numbers, dtype=float), np.linspace(0, 1, config.bins + 1)))
    # half-open ranges, the last one closed: "[5, 7)", "[7, 9]"
    labels = [str(Range(float(lo), float(hi), closed=i == len(edges) - 2)) for i, (lo, hi) in
              enumerate(zip(edges, edges[1:]))]
    out = []
    for v in values:
        if v is None:
            out.append(MISSING)
            continue
        bin_index = min(int(np.searchsorted(edges, float(v), side="right")) - 1, len(labels) - 1)
        out.append(labels[max(bin_index, 0)])
    return out


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _label(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else f"{float(v):.3g}"
    return str(v)
