"""Evaluation throughput: the `lessons eval` pipeline against a bare `model.generate` loop.

Same model object, same prompts (the built-in arith suite through the step-by-step
template), same batch size, same greedy settings and token budget; the two are timed
alternately in one process, so machine noise hits both. The pipeline adds chat rendering,
log-prob recording, answer extraction, verification and the SQLite writes.

    .venv/bin/python benchmarks/eval_throughput.py --model qwen2.5-coder-0.5b --tasks 32 --rounds 2
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from lessons.models import ModelOptions, resolve_model
from lessons.models.base import SamplingParams
from lessons.prompts import templates
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite


def bare_generate(backend, chats, sampling: SamplingParams, batch_size: int) -> tuple[int, float]:
    """What a user would write by hand: template, tokenize, generate, decode."""
    from transformers import GenerationConfig

    tok, model = backend.tokenizer, backend.model
    config = GenerationConfig(
        do_sample=False, max_new_tokens=sampling.max_new_tokens, eos_token_id=sorted(backend.eos_ids),
        pad_token_id=tok.pad_token_id,
    )
    tokens, started = 0, time.perf_counter()
    for i in range(0, len(chats), batch_size):
        texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chats[i : i + batch_size]]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, generation_config=config)
        gen = out[:, enc["input_ids"].shape[1] :]
        for row in gen.tolist():
            n = next((p + 1 for p, t in enumerate(row) if t in backend.stop_ids), len(row))
            tokens += n
        tok.batch_decode(gen, skip_special_tokens=True)
    return tokens, time.perf_counter() - started


def pipeline(backend, suite, n_tasks: int, batch_size: int, max_new_tokens: int, round_no: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        config = EvalConfig(limit=n_tasks, batch_size=batch_size, max_new_tokens=max_new_tokens, run_name=f"b{round_no}")
        result = evaluate(store, backend, suite, config)
        store.close()
    return result.generated_tokens, result.elapsed_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--tasks", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # on a shared machine, fewer threads than cores avoids spin-wait collapse

    backend = resolve_model(args.model, ModelOptions(batch_size=args.batch_size))
    suite = load_suite("arith")
    template = templates.get("step-by-step")
    chats = [template.render(t) for t in suite.tasks(args.tasks)]
    sampling = SamplingParams(max_new_tokens=args.max_new_tokens)
    bare_generate(backend, chats[: args.batch_size], sampling, args.batch_size)  # warm-up

    bare_rates, pipe_rates = [], []
    for r in range(args.rounds):
        tok_b, s_b = bare_generate(backend, chats, sampling, args.batch_size)
        tok_p, s_p = pipeline(backend, suite, args.tasks, args.batch_size, args.max_new_tokens, r)
        bare_rates.append(tok_b / s_b)
        pipe_rates.append(tok_p / s_p)
        print(f"round {r}: bare {tok_b} tok in {s_b:.1f}s = {tok_b / s_b:.1f} tok/s; "
              f"pipeline {tok_p} tok in {s_p:.1f}s = {tok_p / s_p:.1f} tok/s; ratio {tok_p / s_p / (tok_b / s_b):.3f}")
    ratios = [p / b for p, b in zip(pipe_rates, bare_rates)]
    print(f"\nmachine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, device {backend.device}")
    print(f"model {args.model}, {args.tasks} tasks, batch {args.batch_size}, max_new_tokens {args.max_new_tokens}")
    print(f"median bare {statistics.median(bare_rates):.1f} tok/s, pipeline {statistics.median(pipe_rates):.1f} tok/s, "
          f"ratio pipeline/bare: median {statistics.median(ratios):.3f} (rounds: {', '.join(f'{x:.3f}' for x in ratios)})")


if __name__ == "__main__":
    main()
