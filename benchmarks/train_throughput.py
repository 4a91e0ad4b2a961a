"""Training throughput: `lessons.train.train` against a bare TRL script.

Same model, same lessons (SFT rows made from the gold solutions of built-in arith tasks,
rendered through the step-by-step template), same LoRA and trainer settings, same number
of steps; the two alternate in one process (ABBA order), so machine noise hits both. Both
see the same batches (same seed), hence the same tokens; tokens/s is non-padding tokens
over the wall time of `trainer.train()`. `lessons` adds to that loop its progress callback,
token counting in the trainer state and the final checkpoint; outside the loop it also
validates the lessons, merges the adapter in fp32 and saves a bf16 model (the end-to-end
column).

    .venv/bin/python benchmarks/train_throughput.py --model smollm2-135m --steps 10 --rounds 2
    .venv/bin/python benchmarks/train_throughput.py --write-data lessons.jsonl --rows 40   # only the data
    .venv/bin/python benchmarks/train_throughput.py --model qwen2.5-coder-0.5b --steps 4 --rounds 2 \
        --no-dropout-arm   # also lessons train with lora_dropout 0 (what the LoRA dropout costs)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from lessons.prompts import templates
from lessons.tasks import load_suite
from lessons.train import TrainConfig, train


def gold_sft_rows(n: int, skip: int = 20) -> list[dict]:
    """`messages` rows: an arith task through the step-by-step template, answered by its gold
    solution. Train-split tasks only, after the first `skip` tasks (what `eval --limit 20` sees)."""
    template = templates.get("step-by-step")
    rows = []
    for i, task in enumerate(load_suite("arith").tasks(skip + 4 * n)):
        if i < skip or task.split != "train" or not task.steps:
            continue
        steps = "\n".join(f"Step {k}: {s.text}" for k, s in enumerate(task.steps, 1))
        rows.append({"messages": template.render(task) + [
            {"role": "assistant", "content": f"{steps}\nAnswer: {task.answer}"}]})
        if len(rows) == n:
            break
    return rows


def lessons_run(model: str, data: Path, config: TrainConfig, out: Path) -> dict:
    started = time.perf_counter()
    result = train(model, data, replace(config, output_dir=str(out)))
    return {"tokens": result.tokens, "loop_s": result.train_seconds, "total_s": time.perf_counter() - started}


def bare_run(model_dir: Path, data: Path, config: TrainConfig, out: Path, dtype=torch.bfloat16) -> dict:
    """What a user writes by hand with TRL and peft, with the same settings spelled out.
    `dtype` is the base weights' (bf16 autocast either way)."""
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    started = time.perf_counter()
    dataset = load_dataset("json", data_files=str(data), split="train")
    args = SFTConfig(
        output_dir=str(out), max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr, max_length=config.max_length, seed=config.seed, logging_steps=config.logging_steps,
        save_steps=config.save_steps, bf16=True, use_cpu=not torch.cuda.is_available(),
        activation_checkpointing=False, report_to="none", disable_tqdm=True,
        model_init_kwargs={"dtype": dtype},
    )
    peft = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=str(model_dir), args=args, train_dataset=dataset, peft_config=peft)
    loop_started = time.perf_counter()
    trainer.train()
    loop_s = time.perf_counter() - loop_started
    trainer.save_model(str(out / "adapter"))
    return {"loop_s": loop_s, "total_s": time.perf_counter() - started}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rows", type=int, default=40)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--fp32-arm", action="store_true", help="also time the bare script with fp32 base weights")
    ap.add_argument("--no-dropout-arm", action="store_true", help="also time lessons train with lora_dropout 0")
    ap.add_argument("--write-data", default=None, help="only write the lessons JSONL here and exit")
    args = ap.parse_args()

    rows = gold_sft_rows(args.rows)
    if args.write_data:
        Path(args.write_data).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} rows to {args.write_data}")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from lessons.train import resolve_base

    model_dir = resolve_base(args.model).path
    # save_steps beyond the run: only the final checkpoint is written, by both
    config = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, save_steps=10_000, device="auto")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "lessons.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        warm = replace(config, max_steps=2)
        lessons_run(args.model, data, warm, Path(tmp) / "warm-l")  # warm-up: imports, first-call allocations
        bare_run(model_dir, data, warm, Path(tmp) / "warm-b")
        mine, bare, fp32, nodrop = [], [], [], []
        for r in range(args.rounds):
            order = ("lessons", "bare") if r % 2 == 0 else ("bare", "lessons")
            extra = (("fp32",) if args.fp32_arm else ()) + (("nodrop",) if args.no_dropout_arm else ())
            for arm in order + extra:
                out = Path(tmp) / f"{arm}-{r}"
                if arm == "lessons":
                    mine.append(lessons_run(args.model, data, config, out))
                elif arm == "bare":
                    bare.append(bare_run(model_dir, data, config, out))
                elif arm == "nodrop":
                    nodrop.append(lessons_run(args.model, data, replace(config, lora_dropout=0.0), out))
                else:
                    fp32.append(bare_run(model_dir, data, config, out, dtype=torch.float32))
        report(args, mine, bare, fp32, nodrop)


def report(args, mine: list[dict], bare: list[dict], fp32: list[dict], nodrop: list[dict]) -> None:
    tokens = mine[0]["tokens"]  # identical batches: the bare run sees the same tokens
    rate_l = [tokens / m["loop_s"] for m in mine]
    rate_b = [tokens / b["loop_s"] for b in bare]
    med_l, med_b = statistics.median(rate_l), statistics.median(rate_b)
    end_l = statistics.median(m["total_s"] for m in mine)
    end_b = statistics.median(b["total_s"] for b in bare)
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}")
    print(f"model {args.model}, {args.rows} rows, {args.steps} steps x batch {args.batch_size}, "
          f"{tokens} tokens per run, {args.rounds} rounds (ABBA)")
    print(f"lessons train   : {med_l:8.1f} tok/s  (rounds: {', '.join(f'{x:.1f}' for x in rate_l)})")
    print(f"bare TRL script : {med_b:8.1f} tok/s  (rounds: {', '.join(f'{x:.1f}' for x in rate_b)})")
    print(f"ratio lessons/bare (training loop): {med_l / med_b:.3f}  (target >= 0.95)")
    if fp32:
        med_f = statistics.median(tokens / f["loop_s"] for f in fp32)
        print(f"bare, fp32 base : {med_f:8.1f} tok/s  (bf16 base weights are {med_b / med_f:.2f}x that)")
    if nodrop:
        rate_n = [tokens / n["loop_s"] for n in nodrop]
        print(f"lessons, lora_dropout 0: {statistics.median(rate_n):8.1f} tok/s  (rounds: "
              f"{', '.join(f'{x:.1f}' for x in rate_n)}; {statistics.median(rate_n) / med_l:.2f}x dropout 0.05)")
    print(f"end to end: lessons {end_l:.1f} s (with fp32 merge + bf16 save), bare {end_b:.1f} s (adapter only)")


if __name__ == "__main__":
    main()
