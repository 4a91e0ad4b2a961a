"""The training config, its mapping onto TRL's configs, and the name of what it produces.

Defaults are sized for a CPU and a small model (SmolLM2-135M, Qwen2.5-0.5B) trained on a
few hundred lessons; a GPU run mostly wants a larger `batch_size`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

METHODS = ("sft", "dpo", "grpo")
DEFAULT_ROOT = Path("lessons-models")  # where a trained version lands unless `output_dir` says otherwise

# LoRA wants a much larger step than full fine-tuning; DPO a much smaller one than SFT,
# since its loss pushes log-ratios apart without bound and small models collapse fast.
# GRPO's advantages are normalised per group, so its gradients are SFT-sized on few
# tokens: a LoRA step between the two.
DEFAULT_LR = {"sft": 2e-4, "dpo": 5e-6, "grpo": 2e-5}


@dataclass(frozen=True)
class TrainConfig:
    method: str = "sft"  # sft (messages or prompt/completion rows) | dpo (prompt/chosen/rejected rows) | grpo (prompts rows)
    # LoRA adapter. r=16 on every linear layer: ~1-2% of a 0.5B model's weights, which is
    # enough to learn a few hundred corrections; the speed cost over r=8 is small on CPU.
    lora_r: int = 16
    lora_alpha: int = 32  # scale alpha/r = 2, the usual choice
    lora_dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"  # peft's name for every linear layer but the head
    # optimisation
    learning_rate: float | None = None  # None: DEFAULT_LR of the method
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4  # rows per forward pass (per device); GRPO: completions, so batch_size / num_generations prompts
    grad_accum: int = 1  # optimizer step every grad_accum batches
    warmup_steps: float = 0  # steps, or a fraction of all steps if < 1; few steps on CPU: warm-up would eat them
    lr_scheduler: str = "linear"
    max_length: int = 1024  # tokens per row after the chat template; longer rows are cut at the end
    seed: int = 0
    beta: float = 0.1  # DPO: strength of the pull towards the reference (base) model
    # GRPO (TRL's GRPOTrainer, KL coefficient left at TRL's 0: no reference forward pass).
    # Small for a CPU: each optimizer step samples batch_size * grad_accum completions.
    num_generations: int = 4  # completions per prompt: the group whose rewards are compared
    max_completion_length: int = 128  # tokens sampled per completion
    temperature: float = 1.0  # sampling temperature of the completions
    format_reward: float = 0.0  # weight of the answer-line reward added to the verifier's 0/1; 0: off
    # Masked Thought (SFT): share of the completion's tokens hidden in the input, labels kept (0: off)
    mask_thought: float = 0.0
    # Activation checkpointing saves memory at ~25% more compute; a CPU box has the memory.
    gradient_checkpointing: bool = False
    # bookkeeping: none of these change the trained weights, so none enters the version name
    save_steps: int = 50  # checkpoint every N optimizer steps (what a re-run resumes from)
    save_total_limit: int = 2  # checkpoints kept on disk
    logging_steps: int = 1  # loss reported every N steps (a float sync on CPU: free)
    device: str = "auto"  # auto | cpu | cuda
    output_dir: str | None = None  # default: DEFAULT_ROOT / <name>
    name: str | None = None  # default: derived by `version_name`

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r}: use one of {', '.join(METHODS)}")
        for key in ("lora_r", "lora_alpha", "batch_size", "grad_accum", "max_length", "save_steps", "logging_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError("set max_steps > 0 or epochs > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device {self.device!r}: use auto, cpu or cuda")
        if not 0.0 <= self.mask_thought < 1.0:
            raise ValueError(f"mask_thought must be in [0, 1), got {self.mask_thought}")
        if self.mask_thought and self.method != "sft":
            raise ValueError(f"mask_thought masks SFT inputs; method {self.method!r} does not take it")
        if self.method == "grpo":
            self._check_grpo()

    def _check_grpo(self) -> None:
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be at least 2 (a group to compare), got {self.num_generations}")
        if self.max_completion_length < 1:
            raise ValueError(f"max_completion_length must be at least 1, got {self.max_completion_length}")
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size x grad_accum ({self.batch_size * self.grad_accum}) must be a multiple of "
                f"num_generations ({self.num_generations}): each step samples whole groups"
            )

    @property
    def lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR[self.method]


_BOOKKEEPING = {"save_steps", "save_total_limit", "logging_steps", "device", "output_dir", "name"}
# Only GRPO reads these; left out of the other methods' identity, so SFT and DPO versions
# keep the names (and resumable output dirs) they had before GRPO existed.
GRPO_ONLY = {"num_generations", "max_completion_length", "temperature", "format_reward"}


def identity(config: TrainConfig) -> dict[str, Any]:
    """The fields that decide the trained weights (learning rate resolved), as JSON-ready values."""
    ignored = _BOOKKEEPING if config.method == "grpo" else _BOOKKEEPING | GRPO_ONLY
    d = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in ignored}
    if not config.mask_thought:  # off: left out, so versions made before it keep their names
        del d["mask_thought"]
    d["learning_rate"] = config.lr
    d["target_modules"] = d["target_modules"] if isinstance(d["target_modules"], str) else list(d["target_modules"])
    return d


def fingerprint(base: str, data_hash: str, config: TrainConfig) -> str:
    """sha256 over base model, lesson content and config identity: equal inputs, equal version."""
    blob = json.dumps({"base": base, "data": data_hash, "config": identity(config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def version_name(base: str, data_hash: str, config: TrainConfig) -> str:
    """`<base>-<method>-<hash8>`; a local path contributes its last folder name."""
    stem = Path(base.rstrip("/")).name if ("/" in base or base.startswith(".")) else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "model"
    return f"{stem}-{config.method}-{fingerprint(base, data_hash, config)[:8]}"


def trl_config(config: TrainConfig, checkpoint_dir: Path, use_cpu: bool, bf16: bool):
    """The TRL `SFTConfig` / `DPOConfig` / `GRPOConfig` for `config`. Everything the trainer
    would otherwise take from its own defaults that matters here is set explicitly."""
    common: dict[str, Any] = dict(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type=config.lr_scheduler,
        seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        activation_checkpointing=config.gradient_checkpointing,
        bf16=bf16,
        use_cpu=use_cpu,
        # counted into the trainer state, so tokens/s stays right across a resume
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,  # progress goes through our callback, never to stdout
        dataloader_num_workers=0,  # worker processes only add start-up time at these sizes
    )
    if config.method == "sft":
        from trl import SFTConfig

        return SFTConfig(**common, max_length=config.max_length)
    if config.method == "dpo":
        from trl import DPOConfig

        return DPOConfig(**common, max_length=config.max_length, beta=config.beta)
    from trl import GRPOConfig

    # GRPOConfig's own defaults differ from TrainingArguments' (gradient checkpointing on);
    # the prompt is not cut (max_length does not apply), the completion is.
    # GRPO counts prompt and completion tokens into the trainer state itself; the Trainer's
    # own count would look for input_ids in a batch of prompts and warn every step.
    common["include_num_input_tokens_seen"] = False
    return GRPOConfig(
        **common, gradient_checkpointing=config.gradient_checkpointing, num_generations=config.num_generations,
        max_completion_length=config.max_completion_length, temperature=config.temperature,
        remove_unused_columns=False,  # the reward reads answer, verifier and task_id
    )


def lora_config(config: TrainConfig):
    from peft import LoraConfig

    targets = config.target_modules if isinstance(config.target_modules, str) else list(config.target_modules)
    return LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=targets, bias="none", task_type="CAUSAL_LM",
    )


def config_dict(config: TrainConfig) -> dict[str, Any]:
    d = asdict(config)
    d["learning_rate"] = config.lr
    return d
