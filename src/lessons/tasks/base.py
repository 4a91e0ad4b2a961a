"""The task: one checkable problem, and the stable train/held-out split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
import random
from typing import Any, Iterator, Literal, Protocol, Sequence

Split = Literal["train", "heldout"]

HELDOUT_FRACTION = 0.2  # share of tasks (by id hash) that no lesson may ever draw from


@dataclass(frozen=True)
class GoldStep:
    """One step of a gold solution; `value` is the intermediate result when known."""

    text: str
    value: str | None = None


@dataclass(frozen=True)
class Task:
    id: str  # unique within its suite
    prompt: str  # the question as shown to the model
    answer: str  # gold final answer, as text ("42", "3/4", "B")
    steps: tuple[GoldStep, ...] = ()  # gold step-by-step solution, when the source has one
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    split: Split = "train"

    @property
    def skill(self) -> str | None:
        return self.metadata.get("skill")


def split_for(task_id: str, heldout_fraction: float = HELDOUT_FRACTION) -> Split:
    """Stable split from the SHA-256 of the task id: the same id lands in the same split
    on every machine and in every version, whatever else is in the suite."""
    digest = hashlib.sha256(task_id.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "heldout" if u < heldout_fraction else "train"


@dataclass(frozen=True)
class SuiteInfo:
    """What identifies a suite's contents: a name, a version and a fingerprint of the source."""

    name: str
    version: str
    source: str  # "builtin:arith" or a file path
    fingerprint: str  # hash of generator parameters or file bytes
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}:{self.fingerprint[:12]}"


@dataclass(frozen=True)
class SuiteDefaults:
    """How a suite's tasks are posed and judged unless the user says otherwise; None: the
    tool's defaults (the step-by-step template, the math verifier)."""

    verifier: str | None = None
    template: str | None = None


CODE_DEFAULTS = SuiteDefaults(verifier="tests", template="code")  # every code suite's


def suite_defaults(suite: object) -> SuiteDefaults:
    """A suite's `defaults` attribute, or none (suites that predate it, plugins)."""
    defaults = getattr(suite, "defaults", None)
    return defaults if isinstance(defaults, SuiteDefaults) else SuiteDefaults()


class Suite(Protocol):
    info: SuiteInfo

    def tasks(self, limit: int | None = None) -> Iterator[Task]:
        """Tasks in a stable order; `limit` takes the first ones."""
        ...


def seeded_rng(*parts: object) -> random.Random:
    """An RNG seeded from a SHA-256 of the parts: stable across Python versions and runs."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class GeneratedSuite:
    """A procedural suite: `task(index)` is a function of (seed, index) alone, so a task is
    the same whatever `limit` is asked for; an endless stream, cut by `limit`."""

    NAME = ""  # set by each generator, with its VERSION (bumped on any change to a task)
    VERSION = ""
    DEFAULT_LIMIT = 1000  # tasks yielded when no limit is given (the stream never ends)

    def __init__(self, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"{self.NAME} seed must be an integer, got {seed!r}")
        self.seed = seed
        fingerprint = hashlib.sha256(f"{self.NAME} generator {self.VERSION} seed {seed}".encode()).hexdigest()
        self.info = SuiteInfo(self.NAME, self.VERSION, f"builtin:{self.NAME}", fingerprint, {"seed": seed})

    def task(self, index: int) -> Task:
        raise NotImplementedError

    def tasks(self, limit: int | None = None) -> Iterator[Task]:
        count = self.DEFAULT_LIMIT if limit is None else limit
        if count < 0:
            raise ValueError(f"limit must be positive, got {limit}")
        for index in range(count):
            yield self.task(index)


class ListedSuite:
    """A suite whose tasks were all read up front (a file, a packaged data set)."""

    _tasks: list[Task]

    def __len__(self) -> int:
        return len(self._tasks)

    def tasks(self, limit: int | None = None) -> Iterator[Task]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be positive, got {limit}")
        yield from self._tasks[:limit]


class TaskList(ListedSuite):
    """A suite over given tasks, for one run of them (the loop's practice tasks and control
    draw, an error search, a retry turn): `info` names what they are."""

    def __init__(self, info: SuiteInfo, tasks: Sequence[Task]):
        self.info, self._tasks = info, list(tasks)
