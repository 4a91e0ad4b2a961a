"""Seconds per generated sequence at two batch sizes, greedy and sampled (4 per prompt),
for the embedded qwen2.5-coder-0.5b on 128 arith prompts: what `batch_size` in loop.yaml
should be. One process, measured back to back; results in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/generation_speed.py
"""

import time, sys
from lessons.models import ModelOptions, resolve_model
from lessons.models.base import SamplingParams
from lessons.prompts import templates
from lessons.tasks import load_suite
tasks=[t for t in load_suite("arith").tasks(400) if t.split=="train"][:128]
tpl=templates.get("step-by-step")
chats=[tpl.render(t) for t in tasks]
for bs, n, temp in [(64,1,0.0),(128,1,0.0),(16,4,0.7),(32,4,0.7)]:
    b=resolve_model("qwen2.5-coder-0.5b", ModelOptions(batch_size=bs*n if n>1 else bs))
    k = bs
    t=time.perf_counter()
    out=b.generate(chats[:k], SamplingParams(n=n, temperature=temp, max_new_tokens=320, seed=0))
    dt=time.perf_counter()-t
    seqs=k*n
    print(f"prompts {k} x n {n}: {seqs} seqs {dt:.0f}s {dt/seqs:.2f}s/seq", flush=True)
    del b
