"""Generation in bf16 against float32 on this CPU: the same arith train prompts, greedy,
one batch, the two dtypes alternating (ABAB) in one process. `models.hf.compute_dtype`
picks bf16 only where the CPU has bf16 units; this shows what the choice is worth here.

    .venv/bin/python benchmarks/dtype_speed.py [model] [prompts] [max_new_tokens] [rounds]
"""

import sys
import time
from pathlib import Path

from lessons.models.embedded import bf16_dir
from lessons.models.hf import TransformersBackend, compute_dtype
from lessons.models.base import SamplingParams
from lessons.prompts import templates
from lessons.tasks import load_suite

name = sys.argv[1] if len(sys.argv) > 1 else "qwen2.5-coder-0.5b"
k = int(sys.argv[2]) if len(sys.argv) > 2 else 32
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 128
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 2
tasks = [t for t in load_suite("arith").tasks(4 * k) if t.split == "train"][:k]
chats = [templates.get("step-by-step").render(t) for t in tasks]
flags = [f for f in Path("/proc/cpuinfo").read_text().split() if "bf16" in f or f.startswith("amx")]
print(f"{name}, {k} prompts, <= {limit} new tokens; CPU bf16 flags: {sorted(set(flags)) or 'none'}; "
      f"compute_dtype: {compute_dtype('cpu')}")
backends = {d: TransformersBackend(bf16_dir(name), dtype=d, batch_size=k) for d in ("bfloat16", "float32")}
backends["bfloat16"].generate(chats[:2], SamplingParams(n=1, max_new_tokens=8))  # warm-up
backends["float32"].generate(chats[:2], SamplingParams(n=1, max_new_tokens=8))
times: dict[str, list[float]] = {d: [] for d in backends}
for _ in range(rounds):
    for dtype in ("bfloat16", "float32") if _ % 2 == 0 else ("float32", "bfloat16"):
        started = time.perf_counter()
        out = backends[dtype].generate(chats, SamplingParams(n=1, max_new_tokens=limit))
        times[dtype].append(time.perf_counter() - started)
        tokens = sum(row[0].completion_tokens for row in out)
        print(f"  {dtype}: {times[dtype][-1]:.1f} s, {tokens / times[dtype][-1]:.1f} tokens/s")
mean = {d: sum(v) / len(v) for d, v in times.items()}
print(f"bfloat16 {mean['bfloat16']:.1f} s, float32 {mean['float32']:.1f} s: float32 is "
      f"{mean['bfloat16'] / mean['float32']:.2f}x the speed of bf16")
