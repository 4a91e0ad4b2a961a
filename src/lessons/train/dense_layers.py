"""Error-dense layers (IRepair): LoRA only on the decoder layers where the lessons pull hardest.

`target_modules: auto` (`--target-modules auto`) measures, before training, the gradient
of the training loss on the lesson set's first `ROWS` rows with respect to every linear
weight of the base model: one forward and backward pass, no step taken. Each decoder layer
is scored by the norm of its linear weights' gradients together (the square root of the
sum of their squared norms), and the adapter goes on every linear module of the best-scoring
`share` of the layers (a quarter, at least one): where the mistakes' lessons are densest.
The choice depends only on the base model and the rows, so a resumed run picks the same
layers; it is written to `error_dense.json` in the output directory and its layers are in
the run's result.

The loss is the language-model loss over the whole rendered row (prompt and completion;
a DPO row's chosen completion), as the chat template renders it for training.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

ROWS = 8  # lesson rows the gradients are measured on
SHARE = 0.25  # of the decoder layers, those that get the adapter
_LAYER = re.compile(r"^(.*\.layers\.(\d+))\.(.+)$")


@dataclass(frozen=True)
class DenseLayers:
    layers: tuple[int, ...]  # chosen decoder layers, by index
    modules: tuple[str, ...]  # every linear module in them: the adapter's target_modules
    scores: dict[int, float]  # each layer's gradient norm

    def to_json(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "modules": list(self.modules),
                "scores": {str(k): v for k, v in self.scores.items()}, "rows": ROWS, "share": SHARE}


def dense_layers(model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int,
                 share: float = SHARE) -> DenseLayers:
    """The error-dense layers of `model` for `rows` (module docstring)."""
    import torch

    texts = [_text(tokenizer, row) for row in rows[:ROWS]]
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("target_modules auto needs rows with completions (sft or dpo lessons) to measure on")
    linear = {name: module for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
              and _LAYER.match(name)}
    if not linear:
        raise ValueError("target_modules auto: the model has no linear layers inside numbered decoder layers")
    for p in model.parameters():
        p.requires_grad_(False)
    for module in linear.values():
        module.weight.requires_grad_(True)
    model.zero_grad(set_to_none=True)
    for text in texts:  # one row at a time: no padding to mask
        batch = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length)
        out = model(**batch, labels=batch["input_ids"])
        (out.loss / len(texts)).backward()
    squares: dict[int, float] = {}
    for name, module in linear.items():
        index = int(_LAYER.match(name).group(2))  # type: ignore[union-attr]
        grad = module.weight.grad
        squares[index] = squares.get(index, 0.0) + (float(grad.float().pow(2).sum()) if grad is not None else 0.0)
    model.zero_grad(set_to_none=True)
    for p in model.parameters():
        p.requires_grad_(True)
    scores = {i: math.sqrt(v) for i, v in sorted(squares.items())}
    keep = max(1, round(len(scores) * share))
    chosen = tuple(sorted(sorted(scores, key=lambda i: (-scores[i], i))[:keep]))
    modules = tuple(name for name in linear if int(_LAYER.match(name).group(2)) in chosen)  # type: ignore[union-attr]
    return DenseLayers(chosen, modules, scores)


def _text(tokenizer: Any, row: dict[str, Any]) -> str:
    """The row as training renders it: prompt and completion (a DPO row's chosen) in the chat template."""
    if "messages" in row:
        chat = row["messages"]
    elif "completion" in row or "chosen" in row:
        completion = row.get("completion", row.get("chosen"))
        prompt = row["prompt"]
        if isinstance(prompt, str):
            return prompt + (completion if isinstance(completion, str) else "")
        chat = list(prompt) + list(completion)
    else:
        return ""
    return tokenizer.apply_chat_template(chat, tokenize=False)
