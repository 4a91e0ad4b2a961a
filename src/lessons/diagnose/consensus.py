"""First wrong step by combining other locators' votes."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from lessons.diagnose.base import Case, Location, Locator


class ConsensusLocator:
    """Run every given locator on the cases and combine their locations, case by case.

    Votes with confidence 0 are abstentions (no gold answer, unparseable critique, ...)
    and are left out. Of the rest:

    1. the earliest step flagged by at least two methods wins: independent methods that
       agree on a step are rarely both wrong, and the *first* wrong step is wanted, so
       among agreed steps the earliest;
    2. else the single flag with the highest confidence wins (ties: the earlier step), so
       a confident arithmetic check beats a hesitant critic on an earlier step and the
       other way round;
    3. else, when no method flags a step, "no wrong step".

    Confidence = agreement share x mean confidence of the agreeing votes: the share of the
    voting methods that name the chosen step (or "no wrong step"), weighted by how sure
    they were. Tokens are the sum over all methods; `detail` lists every vote.
    """

    name = "consensus"

    def __init__(self, locators: Sequence[Locator]):
        if not locators:
            raise ValueError("consensus needs at least one locator")
        self.locators = list(locators)

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        by_method = [locator.locate(cases) for locator in self.locators]
        return [combine([votes[i] for votes in by_method], self.name) for i in range(len(cases))]


def combine(votes: Sequence[Location], method: str = "consensus") -> Location:
    """One location from several methods' locations of the same case (rule in ConsensusLocator)."""
    detail = "; ".join(_describe(v) for v in votes)
    tokens = sum(v.tokens for v in votes)
    counted = [v for v in votes if v.confidence > 0]
    if not counted:
        return Location(None, method, 0.0, f"no method could judge: {detail}", tokens)
    flags: dict[int, list[Location]] = defaultdict(list)
    for v in counted:
        if v.step is not None:
            flags[v.step].append(v)
    agreed = sorted(step for step, vs in flags.items() if len(vs) >= 2)
    if agreed:
        step: int | None = agreed[0]
    elif flags:
        step = max(flags, key=lambda s: (max(v.confidence for v in flags[s]), -s))
    else:
        step = None
    backers = flags[step] if step is not None else counted
    share = len(backers) / len(counted)
    confidence = round(share * sum(v.confidence for v in backers) / len(backers), 3)
    return Location(step, method, confidence, detail, tokens)


def _describe(v: Location) -> str:
    said = "no wrong step" if v.step is None else f"step {v.step}"
    if v.confidence == 0:
        said = f"abstains ({v.detail[:60]})" if v.detail else "abstains"
    return f"{v.method}: {said} ({v.confidence:.2f})" if v.confidence else f"{v.method}: {said}"
