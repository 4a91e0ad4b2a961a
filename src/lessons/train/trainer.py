"""`train`: LoRA training of a local model on a lesson set through TRL, resumable, ending in
a merged bf16 model that `lessons eval` can load by name.

Output directory layout (default `lessons-models/<name>/`):

    train.json      base model, lesson set and config of the run that owns this directory
    checkpoints/    TRL checkpoints every `save_steps`; a re-run resumes from the newest complete one
    checkpoints.incomplete/  checkpoints a killed run left half-written, moved aside (see checkpoints.py)
    adapter/        the LoRA adapter (peft) and tokenizer
    merged/         base + adapter merged, bf16 safetensors and tokenizer: the new model version
    rewards.jsonl   GRPO: the rewards of every group, one line each (see rewards.py)
    result.json     written last; a re-run that finds it trains nothing

Every file and folder here but the checkpoints appears atomically (written beside, then
renamed), and the version is registered in the log only after result.json exists.

On a CPU with bf16 units (AVX512-BF16, AMX) the base weights are loaded in bf16 and the
trainer runs under bf16 autocast (TRL's `bf16=True` with `use_cpu=True`): the frozen
weights need no per-op cast and take half the memory, and peft keeps the LoRA weights (the
only trained ones) and their optimizer state in fp32, so small updates are not rounded
away. A CPU without them emulates bf16 at a quarter of float32's speed, so there the
whole model trains in float32 (`pick_device`). Merging reloads the base in fp32 and rounds
to bf16 once, at the end: the stored version is bf16 either way.
GRPO samples its completions with `generate` under the same settings (no vLLM on CPU;
on a GPU too, so one code path serves both).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from lessons import atomic, faults
from lessons.models.embedded import PACKAGED
from lessons.train.config import DEFAULT_ROOT, TrainConfig, config_dict, fingerprint, lora_config, trl_config, version_name
from lessons.train.checkpoints import resumable_checkpoint
from lessons.train.data import LessonSet, check_method, load_lessons
from lessons.train.lineage import BaseModel, register_version, resolve_base
from lessons.train.results import TrainError, TrainProgress, TrainResult
from lessons.train.rewards import VerifierReward, logged_rewards, trim_reward_log

REWARDS_LOG = "rewards.jsonl"

if TYPE_CHECKING:
    from lessons.store import Store


def train(
    model: str,
    data: str | Path,
    config: TrainConfig = TrainConfig(),
    on_progress: Callable[[TrainProgress], None] | None = None,
    store: "Store | None" = None,
) -> TrainResult:
    """Train `model` (packaged name, registered version, or local dir) on the lessons at
    `data`; with a `store`, registered names resolve and the result is registered there."""
    lessons = load_lessons(data)
    check_method(lessons, config.method)
    registered = store.registered_models() if store is not None else {}
    base = resolve_base(model, registered)
    name = config.name or version_name(base.name, lessons.content_hash, config)
    out = Path(config.output_dir) if config.output_dir else DEFAULT_ROOT / name
    _check_name(name, out, registered)
    manifest = {
        "name": name, "base_model": base.name, "base_source": base.info.source,
        "lesson_set": lessons.describe(), "fingerprint": fingerprint(base.name, lessons.content_hash, config),
        "config": config_dict(config),
    }
    _claim_output_dir(out, manifest)
    result = _finished(out) or _run(base, lessons, config, name, out, on_progress)
    if store is not None:
        outcome = {"steps": result.steps, "train_loss": result.train_loss, "tokens": result.tokens,
                   "adapter_dir": result.adapter_dir, "output_dir": result.output_dir}
        if config.method == "grpo":
            outcome |= {"reward_first": result.reward_first, "reward_last": result.reward_last,
                        "rewards_log": result.rewards_log}
        version_id = register_version(store, name, Path(result.merged_dir), base, lessons, config, outcome)
        result = replace(result, version_id=version_id)
    return result


def _check_name(name: str, out: Path, registered: dict[str, str]) -> None:
    """A new version's name must not shadow a packaged model or another registered version."""
    if name in PACKAGED or name.startswith("openai:"):
        raise TrainError(f"--name {name!r} is taken by a packaged model or endpoint prefix; choose another")
    theirs = registered.get(name)
    if theirs is not None and Path(theirs) != (out / "merged").resolve():
        raise TrainError(f"model version {name!r} is already registered at {theirs}; choose another --name")


def _claim_output_dir(out: Path, manifest: dict[str, Any]) -> None:
    """Write train.json, or check that the one there describes this same run (resume)."""
    path = out / "train.json"
    if path.is_file():
        theirs = json.loads(path.read_text(encoding="utf-8"))
        if theirs.get("fingerprint") != manifest["fingerprint"]:
            raise TrainError(
                f"{out} holds a training run of {theirs.get('base_model')!r} with other lessons or settings; "
                "choose another --name or --out (or delete that directory)"
            )
        return
    atomic.write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def _finished(out: Path) -> TrainResult | None:
    path = out / "result.json"
    if not path.is_file() or not (out / "merged" / "config.json").is_file():
        return None
    return TrainResult(**json.loads(path.read_text(encoding="utf-8")))


def _run(
    base: BaseModel, lessons: LessonSet, config: TrainConfig, name: str, out: Path,
    on_progress: Callable[[TrainProgress], None] | None,
) -> TrainResult:
    checkpoints = out / "checkpoints"
    last = resumable_checkpoint(checkpoints)
    rewards_log = out / REWARDS_LOG if config.method == "grpo" else None
    if rewards_log is not None:  # a killed run's steps after its checkpoint are logged again on resume
        trim_reward_log(rewards_log, int(last.name.rsplit("-", 1)[1]) if last else 0)
    trainer, tokenizer = build_trainer(base.path, lessons, config, checkpoints, rewards_log)
    from lessons.train.progress import ProgressReporter  # imports transformers: only when training

    reporter = ProgressReporter(on_progress)
    trainer.add_callback(reporter)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    seconds = time.perf_counter() - started
    adapter_dir, merged_dir = out / "adapter", out / "merged"
    with atomic.replace_dir(adapter_dir) as staging:
        trainer.model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
    state = trainer.state
    del trainer  # free the training copy before the fp32 merge loads another
    merge_adapter(base.path, adapter_dir, merged_dir)
    faults.point("train-merged")
    tokens_now = state.num_input_tokens_seen - reporter.tokens_at_start
    reward_first, reward_last = logged_rewards(state.log_history)
    result = TrainResult(
        model_name=name, path=str(merged_dir.resolve()), steps=state.global_step,
        train_loss=mean_logged_loss(state.log_history), tokens=int(state.num_input_tokens_seen),
        tokens_per_second=tokens_now / seconds if seconds > 0 else 0.0,
        adapter_dir=str(adapter_dir.resolve()), merged_dir=str(merged_dir.resolve()),
        output_dir=str(out.resolve()), resumed_from_step=reporter.step_at_start, train_seconds=seconds,
        reward_first=reward_first, reward_last=reward_last,
        rewards_log=str(rewards_log.resolve()) if rewards_log else "",
        dense_layers=_dense_layers(out),
    )
    # written last and atomically: its presence (with merged/) is what "finished" means
    atomic.write_text(out / "result.json", json.dumps(asdict(result), indent=2))
    return result


def _dense_layers(out: Path) -> list[int] | None:
    path = out / "error_dense.json"
    return json.loads(path.read_text(encoding="utf-8"))["layers"] if path.is_file() else None


def pick_device(device: str) -> tuple[bool, bool]:
    """(use_cpu, bf16 autocast) for the config's device: bf16 where the hardware has bf16
    arithmetic (`models.hf.compute_dtype`), else float32."""
    import torch

    from lessons.models.hf import compute_dtype

    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return True, compute_dtype("cpu") == "bfloat16"
    if not torch.cuda.is_available():
        raise TrainError("device cuda asked for, but torch sees no GPU")
    return False, compute_dtype("cuda") == "bfloat16"


def build_trainer(model_dir: Path, lessons: LessonSet, config: TrainConfig, checkpoint_dir: Path,
                  rewards_log: Path | None = None):
    """The TRL trainer (SFTTrainer, DPOTrainer or GRPOTrainer) with a fresh LoRA adapter on
    the base; GRPO's reward is `VerifierReward`, logging its groups to `rewards_log`."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback

    use_cpu, bf16 = pick_device(config.device)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if bf16 else torch.float32)
    args = trl_config(config, checkpoint_dir, use_cpu=use_cpu, bf16=bf16)
    dataset = Dataset.from_list(list(lessons.rows))
    peft_config = lora_config(config)
    if config.target_modules == "auto":  # error-dense layers: where the lessons' gradients are largest
        from lessons.train.dense_layers import dense_layers

        if config.method == "grpo":
            raise TrainError("--target-modules auto measures gradients on completions: use it with sft or dpo")
        dense = dense_layers(model, tokenizer, list(lessons.rows), config.max_length)
        atomic.write_text(checkpoint_dir.parent / "error_dense.json", json.dumps(dense.to_json(), indent=2))
        peft_config.target_modules = set(dense.modules)
    extra: dict[str, Any] = {}
    if config.method == "sft":
        from trl import SFTTrainer as Trainer
    elif config.method == "dpo":
        from trl import DPOTrainer as Trainer
    else:
        from trl import GRPOTrainer as Trainer

        extra["reward_funcs"] = [VerifierReward(config.num_generations, config.max_completion_length,
                                                config.format_reward, rewards_log)]
    trainer = Trainer(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config,
        **extra,
    )
    if config.mask_thought:
        from lessons.train.mask_thought import MaskThought

        trainer.data_collator = MaskThought(trainer.data_collator, config.mask_thought, tokenizer.pad_token_id,
                                            config.seed)
    trainer.remove_callback(PrinterCallback)  # it prints every log line to stdout
    _mark_checkpoint_writes(trainer)
    return trainer, tokenizer


def _mark_checkpoint_writes(trainer: Any) -> None:
    """Fault points inside a checkpoint write (weights on disk, optimizer state and trainer
    state not yet) and after it, for the crash tests; see `lessons.faults`."""
    from transformers import TrainerCallback

    save_state = trainer._save_optimizer_and_scheduler

    def save_optimizer_and_scheduler(output_dir: str) -> None:
        faults.point("checkpoint-write")
        save_state(output_dir)

    class Saved(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            faults.point("checkpoint-saved")

    trainer._save_optimizer_and_scheduler = save_optimizer_and_scheduler
    trainer.add_callback(Saved())


def merge_adapter(base_dir: Path, adapter_dir: Path, merged_dir: Path) -> Path:
    """Base (fp32) + adapter, merged and saved in bf16 with the tokenizer. The merge runs in
    fp32 so the LoRA delta is added before the one rounding to bf16."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    with atomic.replace_dir(merged_dir) as staging:  # a crash mid-save leaves no half model
        merged.to(torch.bfloat16).save_pretrained(str(staging), safe_serialization=True)
        AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(str(staging))
    return merged_dir


def mean_logged_loss(log_history: list[dict[str, Any]]) -> float | None:
    losses = [float(e["loss"]) for e in log_history if "loss" in e]
    return sum(losses) / len(losses) if losses else None
