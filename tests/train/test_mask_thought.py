"""Masked Thought: a share of the completion's input tokens masked, labels kept."""

from __future__ import annotations

import pytest
import torch

from lessons.train import TrainConfig
from lessons.train.config import identity, version_name
from lessons.train.mask_thought import IGNORE, MaskThought

PROMPT, MASK = 8, 0


def collate(examples: list[list[int]]) -> dict[str, torch.Tensor]:
    """A collator's output: the first PROMPT tokens of each row are prompt (label -100)."""
    ids = torch.tensor(examples)
    labels = ids.clone()
    labels[:, :PROMPT] = IGNORE
    return {"input_ids": ids, "labels": labels, "attention_mask": torch.ones_like(ids)}


def batch(rows: int = 50, length: int = 208, offset: int = 1) -> list[list[int]]:
    return [[offset + (r * length + i) % 997 + 1 for i in range(length)] for r in range(rows)]


def test_the_share_of_completion_inputs_is_masked_and_prompt_and_labels_are_untouched():
    examples = batch()
    plain = collate(examples)
    masked = MaskThought(collate, 0.2, MASK, seed=0)(examples)
    hidden = masked["input_ids"] == MASK
    assert not hidden[:, :PROMPT].any()  # the prompt is never masked
    share = hidden[:, PROMPT:].float().mean().item()
    assert 0.18 < share < 0.22  # 10,000 completion positions: the share asked for
    assert torch.equal(masked["labels"], plain["labels"])  # the targets stay the original tokens
    kept = ~hidden
    assert torch.equal(masked["input_ids"][kept], plain["input_ids"][kept])


def test_the_draw_depends_on_the_seed_and_the_batch_only_so_a_resumed_run_masks_alike():
    examples = batch(rows=4)
    first = MaskThought(collate, 0.3, MASK, seed=1)(examples)["input_ids"]
    again = MaskThought(collate, 0.3, MASK, seed=1)(examples)["input_ids"]  # a fresh wrapper: a resumed run
    other = MaskThought(collate, 0.3, MASK, seed=2)(examples)["input_ids"]
    assert torch.equal(first, again) and not torch.equal(first, other)
    shifted = MaskThought(collate, 0.3, MASK, seed=1)(batch(rows=4, offset=5))["input_ids"] == MASK
    assert not torch.equal(first == MASK, shifted)  # another batch, another draw


def test_share_zero_leaves_the_batch_as_the_collator_made_it():
    examples = batch(rows=3)
    out = MaskThought(collate, 0.0, MASK, seed=0)(examples)
    assert all(torch.equal(out[k], v) for k, v in collate(examples).items())


def test_the_option_names_a_new_version_only_when_on_and_only_for_sft():
    plain, masked = TrainConfig(), TrainConfig(mask_thought=0.2)
    assert "mask_thought" not in identity(plain) and identity(masked)["mask_thought"] == 0.2
    assert version_name("m", "h", plain) != version_name("m", "h", masked)
    with pytest.raises(ValueError, match="mask_thought must be in"):
        TrainConfig(mask_thought=1.0)
    with pytest.raises(ValueError, match="mask_thought masks SFT inputs; method 'dpo'"):
        TrainConfig(method="dpo", mask_thought=0.2)


@pytest.mark.slow
def test_the_sft_trainer_masks_completion_inputs_of_prompt_completion_rows(tmp_path, tiny_model, rows):
    """Through TRL's own collator and dataset preparation: only completion positions (its
    completion-only loss) are masked, with the pad token, and the labels stay the same."""
    from lessons.train.data import load_lessons
    from lessons.train.trainer import build_trainer

    data = [{"prompt": [{"role": "user", "content": f"What is {i} + {i}?"}],
             "completion": [{"role": "assistant", "content": f"{i} + {i} = {2 * i}. So the sum is {2 * i}.\nAnswer: {2 * i}"}]}
            for i in range(8)]
    lessons = load_lessons(rows.write(tmp_path / "pc.jsonl", data))
    config = TrainConfig(mask_thought=0.5, max_steps=1, batch_size=8, device="cpu")
    trainer, tokenizer = build_trainer(tiny_model, lessons, config, tmp_path / "ckpt")
    assert isinstance(trainer.data_collator, MaskThought)
    examples = [trainer.train_dataset[i] for i in range(8)]
    plain, masked = trainer.data_collator.collator(examples), trainer.data_collator(examples)
    changed = plain["input_ids"] != masked["input_ids"]
    counted = plain["labels"] != IGNORE
    assert counted.any() and (~counted & (plain["attention_mask"] == 1)).any()  # prompts are not counted
    assert changed.any() and not (changed & ~counted).any()  # masked only where the loss counts
    assert 0.3 < changed.sum().item() / counted.sum().item() < 0.7
    assert (masked["input_ids"][changed] == tokenizer.pad_token_id).all()
    assert torch.equal(masked["labels"], plain["labels"])
