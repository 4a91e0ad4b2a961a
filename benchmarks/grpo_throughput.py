"""GRPO throughput: `lessons train --method grpo` against a bare TRL GRPO script.

Same model, same prompts (a `prompts` lesson set, e.g. from `lessons build rl`), same LoRA
and GRPO settings, same number of steps, the two alternating in one process (ABBA), so
machine noise hits both. Both compute in the same precision (`models.hf.compute_dtype`).
The bare script's reward is what a user writes by hand: 1 when the completion's last
"Answer: <number>" equals the gold answer. Sampling does not depend on the reward, and both
start from the same seed, so both generate the same completions while no step updates
the weights. The figure is steps per second of `trainer.train()`; `lessons` adds its
verifier reward, the per-group reward log, progress and token counting.

    .venv/bin/python benchmarks/grpo_throughput.py --data DIR --model smollm2-135m --steps 4 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ANSWER = re.compile(r"Answer:\s*(-?[\d,]*\.?\d+)")


def hand_reward(completions, answer, **_):
    """A hand-written reward: the last answer line's number against the gold answer."""
    out = []
    for completion, gold in zip(completions, answer):
        text = completion if isinstance(completion, str) else "".join(m.get("content") or "" for m in completion)
        found = ANSWER.findall(text)
        out.append(float(bool(found) and found[-1].replace(",", "") == str(gold)))
    return out


def bare_run(model_dir: Path, data: Path, config, out: Path) -> float:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from lessons.models.hf import compute_dtype

    bf16 = compute_dtype("cuda" if torch.cuda.is_available() else "cpu") == "bfloat16"
    rows = [json.loads(line) for line in (data / "lessons.jsonl").read_text().splitlines() if line.strip()]
    dataset = Dataset.from_list([{"prompt": r["prompt"], "answer": r["answer"]} for r in rows])
    args = GRPOConfig(
        output_dir=str(out), max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr, seed=config.seed, logging_steps=config.logging_steps, save_steps=10_000,
        num_generations=config.num_generations, max_completion_length=config.max_completion_length,
        temperature=config.temperature, bf16=bf16, use_cpu=not torch.cuda.is_available(),
        gradient_checkpointing=False, report_to="none", disable_tqdm=True,
        model_init_kwargs={"dtype": torch.bfloat16 if bf16 else torch.float32},
    )
    peft = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=[hand_reward], args=args, train_dataset=dataset,
                          peft_config=peft)
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started


def lessons_run(model: str, data: Path, config, out: Path) -> float:
    from lessons.train import train

    return train(model, data, replace(config, output_dir=str(out))).train_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a prompts lesson set (lessons build rl)")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    from lessons.train import TrainConfig, resolve_base

    hf_logging.set_verbosity_error()
    model_dir = resolve_base(args.model).path
    data = Path(args.data)
    config = TrainConfig(method="grpo", max_steps=args.steps, save_steps=10_000, device="auto")
    with tempfile.TemporaryDirectory() as tmp:
        warm = replace(config, max_steps=1)
        lessons_run(args.model, data, warm, Path(tmp) / "warm-l")
        bare_run(model_dir, data, warm, Path(tmp) / "warm-b")
        times: dict[str, list[float]] = {"lessons": [], "bare": []}
        for r in range(args.rounds):
            for arm in ("lessons", "bare") if r % 2 == 0 else ("bare", "lessons"):
                out = Path(tmp) / f"{arm}-{r}"
                times[arm].append(lessons_run(args.model, data, config, out) if arm == "lessons"
                                  else bare_run(model_dir, data, config, out))
                print(f"  round {r + 1}, {arm}: {times[arm][-1]:.1f} s for {args.steps} steps")
    med = {arm: statistics.median(v) for arm, v in times.items()}
    print(f"{args.model}, {args.steps} steps x {config.batch_size} completions ({config.num_generations} a prompt), "
          f"<= {config.max_completion_length} tokens: lessons {args.steps / med['lessons']:.3f} steps/s, "
          f"bare TRL {args.steps / med['bare']:.3f} steps/s, ratio {med['bare'] / med['lessons']:.2f}")


if __name__ == "__main__":
    main()
