"""ConsensusLocator's combination rule, and building locators by name."""

from __future__ import annotations

import pytest
from fakes import ScriptedBackend

from lessons.diagnose.base import Case, Location, Step
from lessons.diagnose.consensus import ConsensusLocator, combine
from lessons.diagnose.critic import CriticLocator
from lessons.diagnose.locators import locators, make_locator
from lessons.diagnose.rollout import RolloutLocator
from lessons.registry import UnknownName


def vote(method: str, step: int | None, confidence: float, tokens: int = 0, detail: str = "") -> Location:
    return Location(step, method, confidence, detail, tokens)


@pytest.mark.parametrize("votes, step, confidence", [
    # two methods agree: their step wins over a lone, more confident flag elsewhere
    ([vote("arith", 3, 0.6), vote("rollout", 3, 0.8), vote("critic", 1, 0.9)], 3, 2 / 3 * 0.7),
    # two agreed steps: the earliest
    ([vote("a", 4, 0.9), vote("b", 4, 0.9), vote("c", 2, 0.5), vote("d", 2, 0.5)], 2, 0.5 * 0.5),
    # no agreement: the most confident flag, even when later than another
    ([vote("arith", 3, 0.95), vote("rollout", 1, 0.6), vote("critic", None, 0.5)], 3, 1 / 3 * 0.95),
    # no agreement, and the earlier flag is the more confident one
    ([vote("arith", 3, 0.5), vote("rollout", 1, 0.9)], 1, 0.5 * 0.9),
    # nobody flags a step
    ([vote("arith", None, 0.8), vote("critic", None, 0.4)], None, 0.6),
    # abstentions (confidence 0) do not count, even with a step
    ([vote("arith", 2, 0.9), vote("critic", 1, 0.0), vote("rollout", None, 0.0)], 2, 0.9),
    ([vote("critic", None, 0.0), vote("rollout", None, 0.0)], None, 0.0),
])
def test_combination_rule(votes, step, confidence):
    loc = combine(votes)
    assert (loc.step, loc.method) == (step, "consensus")
    assert loc.confidence == pytest.approx(confidence, abs=1e-3)


def test_detail_lists_every_vote_and_tokens_add_up():
    loc = combine([vote("arith", 2, 0.9), vote("rollout", 2, 0.7, tokens=300),
                   vote("critic", None, 0.0, tokens=40, detail="unparseable critique")])
    assert loc.tokens == 340
    assert loc.detail == "arith: step 2 (0.90); rollout: step 2 (0.70); critic: abstains (unparseable critique)"


class Fixed:
    """A locator that answers the same location for every case."""

    def __init__(self, name: str, step: int | None, confidence: float):
        self.name, self.step, self.confidence, self.seen = name, step, confidence, []

    def locate(self, cases):
        self.seen.append(len(cases))
        return [Location(self.step, self.name, self.confidence, tokens=1) for _ in cases]


def test_consensus_runs_each_locator_once_on_all_cases():
    parts = [Fixed("arith", 1, 0.9), Fixed("rollout", 1, 0.8), Fixed("critic", 0, 0.5)]
    cases = [Case("q", (Step(0, "s", 0, 1), Step(1, "t", 2, 3)), "1")] * 3
    locs = ConsensusLocator(parts).locate(cases)
    assert [loc.step for loc in locs] == [1, 1, 1] and all(loc.tokens == 3 for loc in locs)
    assert [p.seen for p in parts] == [[3], [3], [3]]


def test_registry_names_the_four_locators():
    assert {"arith", "rollout", "critic", "consensus"} <= set(locators.names())


def test_make_locator_builds_model_based_ones_with_options():
    backend = ScriptedBackend(lambda chat, sample: "\\boxed{0}")
    rollout = make_locator("rollout", backend, rollouts=8, mode="every_prefix")
    assert isinstance(rollout, RolloutLocator) and (rollout.rollouts, rollout.mode) == (8, "every_prefix")
    assert isinstance(make_locator("critic", backend, samples=3), CriticLocator)
    consensus = make_locator("consensus", backend, methods=["rollout", "critic"],
                             method_options={"critic": {"max_new_tokens": 64}})
    assert isinstance(consensus, ConsensusLocator)
    assert [p.name for p in consensus.locators] == ["rollout", "critic"]
    assert consensus.locators[1].max_new_tokens == 64


@pytest.mark.parametrize("name", ["rollout", "critic"])
def test_model_based_locator_without_backend_is_a_clear_error(name):
    with pytest.raises(ValueError, match="needs a model backend"):
        make_locator(name)
    with pytest.raises(ValueError, match="needs a model backend"):
        make_locator("consensus", methods=[name])


def test_consensus_without_backend_keeps_the_rule_based_locators():
    pytest.importorskip("lessons.diagnose.arith_check")
    consensus = make_locator("consensus")
    assert [p.name for p in consensus.locators] == ["arith"]


def test_unknown_locator_lists_the_known_ones():
    with pytest.raises(UnknownName, match="rollout"):
        make_locator("oracle")
