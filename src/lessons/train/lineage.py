"""Which base model a name means, and how a trained version enters the mistake log.

A trained version is registered under the same identity (backend, source, args) that the
transformers backend gives it when `lessons eval --model <name>` loads it, so the eval
run and the registration share one model-version row, the one holding the lineage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lessons.models import find_local_model
from lessons.models.base import ModelInfo
from lessons.models.embedded import PACKAGED
from lessons.models.hf import transformers_info

if TYPE_CHECKING:
    from lessons.store import Store
    from lessons.train.config import TrainConfig
    from lessons.train.data import LessonSet

@dataclass(frozen=True)
class BaseModel:
    name: str  # as the user gave it
    path: Path  # local HF directory with weights and tokenizer
    info: ModelInfo  # its identity in the mistake log


def resolve_base(name: str, registered: dict[str, str] | None = None) -> BaseModel:
    """A packaged model, a version registered by an earlier `lessons train`, or a local
    Hugging Face directory. Endpoints (`openai:`) cannot be trained here."""
    if name.startswith("openai:"):
        raise ValueError(f"{name!r} is an endpoint; training needs local weights (a packaged model or a directory)")
    local = find_local_model(name, registered)
    if local is None:
        path = Path(registered[name]) if registered and name in registered else Path(name).expanduser()
        known = sorted(PACKAGED) + sorted(registered or {})
        raise ValueError(
            f"model {name!r}: not a packaged model, a registered version or a local model directory "
            f"(no {path / 'config.json'}); known: {', '.join(known)}"
        )
    return BaseModel(name, local[0], transformers_info(name, local[1]))


def trained_info(name: str, merged_dir: Path) -> ModelInfo:
    return transformers_info(name, str(Path(merged_dir).resolve()))


def register_version(
    store: "Store", name: str, merged_dir: Path, base: BaseModel, lessons: "LessonSet",
    config: "TrainConfig", outcome: dict[str, Any],
) -> str:
    """Record the base (if new) and the trained version with its lineage; return the new
    version's id. `outcome` holds steps, train_loss, adapter_dir and the like."""
    from lessons.train.config import config_dict

    base_id = store.save_model_version(base.info)
    lineage = {
        "base_model": base.name,
        "base_version_id": base_id,
        "base_source": base.info.source,
        "lesson_set": lessons.describe(),
        "train_config": config_dict(config),
        **outcome,
    }
    return store.save_model_version(trained_info(name, merged_dir), parent_id=base_id, lineage=lineage)
