"""Training on lessons: TRL (SFT, DPO, or GRPO rewarded by the project's verifiers) with a
peft LoRA adapter, resumable, ending in a merged model registered in the mistake log as a
new model version.

    from lessons.train import TrainConfig, train
    result = train("smollm2-135m", "lessons/correction", TrainConfig(method="sft", max_steps=20), store=store)
    result.model_name   # what `lessons eval --model` now accepts
"""

from lessons.train.config import DEFAULT_ROOT, METHODS, TrainConfig, lora_config, trl_config, version_name
from lessons.train.data import LessonDataError, LessonSet, check_method, load_lessons
from lessons.train.lineage import BaseModel, register_version, resolve_base
from lessons.train.results import TrainError, TrainProgress, TrainResult
from lessons.train.trainer import merge_adapter, train

__all__ = [
    "DEFAULT_ROOT", "METHODS", "TrainConfig", "lora_config", "trl_config", "version_name",
    "LessonDataError", "LessonSet", "check_method", "load_lessons",
    "BaseModel", "register_version", "resolve_base",
    "TrainError", "TrainProgress", "TrainResult", "merge_adapter", "train",
]
