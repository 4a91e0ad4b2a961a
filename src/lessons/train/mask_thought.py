"""Masked Thought (Chen et al. 2024, "Masked Thought: Simply Masking Partial Reasoning Steps
Can Improve Mathematical Reasoning Learning of Language Models"): in SFT, a random share of
the reasoning tokens in the model's *input* is replaced by a mask token while the labels
stay the original tokens, so the model learns to predict each step from a partly hidden
prefix (a regulariser against copying surface patterns).

The tokens masked are the ones the loss counts (`labels != -100`): with TRL's completion-only
loss on prompt/completion rows (every builder's SFT format) that is the completion, so the
prompt is never masked; on `messages` rows TRL's loss counts the whole chat, and so does
the mask. The draw is seeded by the train seed and the batch's own tokens, not
by a running generator, so a run resumed from a checkpoint masks its later batches exactly
as an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

IGNORE = -100  # the label of a position the loss leaves out


class MaskThought:
    """Wraps a collator: its batches come out with `share` of the loss's positions masked
    in `input_ids` (set to `mask_id`), `labels` untouched."""

    def __init__(self, collator: Callable[[list[Any]], dict[str, Any]], share: float, mask_id: int, seed: int):
        if not 0.0 <= share < 1.0:
            raise ValueError(f"mask_thought must be in [0, 1), got {share}")
        self.collator, self.share, self.mask_id, self.seed = collator, share, mask_id, seed

    def __call__(self, examples: list[Any]) -> dict[str, Any]:
        batch = self.collator(examples)
        if self.share <= 0.0:
            return batch
        import torch

        ids, labels = batch["input_ids"], batch["labels"]
        digest = hashlib.sha256(ids.cpu().numpy().tobytes() + str(self.seed).encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
        drawn = torch.rand(ids.shape, generator=generator) < self.share
        batch["input_ids"] = ids.masked_fill(drawn.to(ids.device) & (labels != IGNORE), self.mask_id)
        return batch
