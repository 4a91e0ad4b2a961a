"""transformers' `generate()` against the backend's own decoding loop, which drops each
sequence from the batch when it ends (`TransformersBackend._decode`): the same 128 arith
train prompts, greedy, at most 320 new tokens, one batch, in one process back to back.
Prints both times, their ratio, and how many of the 128 texts came out the same (bf16
kernels round differently at each batch size, so a near-tie can go the other way).

    .venv/bin/python benchmarks/decode_speed.py [model] [prompts] [max_new_tokens]
"""

import sys
import time

import torch
from transformers import GenerationConfig

from lessons.models import ModelOptions, resolve_model
from lessons.models.base import SamplingParams
from lessons.prompts import templates
from lessons.tasks import load_suite

name = sys.argv[1] if len(sys.argv) > 1 else "qwen2.5-coder-0.5b"
k = int(sys.argv[2]) if len(sys.argv) > 2 else 128
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 320
tasks = [t for t in load_suite("arith").tasks(4 * k) if t.split == "train"][:k]
chats = [templates.get("step-by-step").render(t) for t in tasks]
backend = resolve_model(name, ModelOptions(batch_size=k))
enc = backend.tokenizer([backend.render(c) for c in chats], return_tensors="pt", padding=True,
                        add_special_tokens=False)
started = time.perf_counter()
with torch.inference_mode():
    seqs = backend.model.generate(**enc, generation_config=GenerationConfig(
        do_sample=False, max_new_tokens=limit, eos_token_id=sorted(backend.eos_ids),
        pad_token_id=backend.tokenizer.pad_token_id))
before = time.perf_counter() - started
theirs = [backend._completion(row, 0, 0.0, SamplingParams(max_new_tokens=limit), 0.0).text
          for row in seqs[:, enc["input_ids"].shape[1]:].tolist()]
started = time.perf_counter()
ours = backend.generate(chats, SamplingParams(n=1, max_new_tokens=limit))
after = time.perf_counter() - started
lengths = [row[0].completion_tokens for row in ours]
same = sum(a == b[0].text for a, b in zip(theirs, ours))
print(f"{name}, {k} prompts, <= {limit} new tokens (mean {sum(lengths) / k:.0f}, longest {max(lengths)})")
print(f"generate(): {before:.1f} s   drop-finished loop: {after:.1f} s   ratio {before / after:.2f}x   "
      f"same text {same}/{k}")
