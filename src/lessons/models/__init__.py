"""Model backends behind one interface, and the names a user can give `--model`.

A model name is one of: a name in `models` (a plugin's, or a test's scripted model), an
embedded packaged model (`qwen2.5-coder-0.5b`, `smollm2-135m`), a local Hugging Face model
directory, `openai:<model>` for an OpenAI-compatible endpoint (with `base_url`), or a model
version registered in the mistake log by `lessons train`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.models.base import Backend, BackendError, Chat, Completion, ModelInfo, SamplingParams
from lessons.models.embedded import PACKAGED, bf16_dir, cache_dir, is_installed
from lessons.registry import Registry, UnknownName

backends: Registry = Registry("backend")
backends.register("transformers", "lessons.models.hf:TransformersBackend")
backends.register("openai", "lessons.models.openai_compat:OpenAIBackend")

# Model names that make their own backend: `factory(name, options) -> Backend`. Empty here;
# plugins add names through the entry-point group `lessons.models`, and tests register a
# scripted model for one test (as simonw/llm's tests register their mock model).
models: Registry = Registry("model")

DEFAULT_MODEL = "qwen2.5-coder-0.5b"


@dataclass(frozen=True)
class ModelOptions:
    base_url: str | None = None  # for openai:<model>
    api_key: str | None = None
    concurrency: int = 8  # in-flight requests to an endpoint
    batch_size: int = 16  # sequences per generate() call for local models
    device: str = "auto"
    endpoints: tuple[str, ...] = ()  # for openai:<model> on Ray: every endpoint serving it
    ray: str | None = None  # Ray cluster address ("local": start one); None: no Ray


def resolve_model(name: str, options: ModelOptions = ModelOptions(), registered: dict[str, str] | None = None) -> Backend:
    """Build the backend for a model name. `registered` maps model-version names from
    the mistake log to their local directories."""
    if name in models:  # first: a registered name stands for exactly what registered it
        return models.get(name)(name, options)
    if name.startswith("openai:"):
        if not options.base_url and not options.endpoints:
            raise ValueError(f"model {name!r} needs an endpoint: pass --base-url (e.g. http://127.0.0.1:8000/v1) or --endpoint URL")
        if options.ray is not None:
            from lessons.models.ray_pool import RayEndpointsBackend

            return RayEndpointsBackend(
                name.removeprefix("openai:"), options.endpoints or (options.base_url,), address=options.ray,
                api_key=options.api_key, concurrency=options.concurrency,
            )
        if len(options.endpoints) > 1:
            raise ValueError(f"model {name!r}: {len(options.endpoints)} endpoints need --ray to share the work")
        cls = backends.get("openai")
        return cls(
            model=name.removeprefix("openai:"), base_url=options.base_url or options.endpoints[0], api_key=options.api_key,
            concurrency=options.concurrency,
        )
    local = find_local_model(name, registered)
    if local is not None:
        cls = backends.get("transformers")
        return cls(local[0], name=name, source=local[1], device=options.device, batch_size=options.batch_size)
    known = [m["name"] for m in available_models(registered)]
    raise UnknownName("model", name, known + ["<local HF model dir>", "openai:<model> --base-url URL"])


def find_local_model(name: str, registered: dict[str, str] | None = None) -> tuple[Path, str] | None:
    """(directory, source) of a packaged model, a version registered by `lessons train`
    or a local Hugging Face directory; None for anything else. The one reading of a local
    model name: evaluation loads it and training registers its lineage under this source."""
    if name in PACKAGED:
        return bf16_dir(name), PACKAGED[name].source
    path = Path(registered[name]) if registered and name in registered else Path(name).expanduser()
    return (path, str(path.resolve())) if (path / "config.json").is_file() else None


def available_models(registered: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What `--model` accepts here, and where each comes from."""
    rows = []
    for m in PACKAGED.values():
        cached = (cache_dir() / "models").glob(f"{m.name}-bf16-*")
        rows.append(
            {
                "name": m.name,
                "kind": "embedded",
                "source": m.source,
                "description": m.description,
                "installed": is_installed(m),
                "cached_bf16": any(cached),
            }
        )
    for name in models.names():
        rows.append({"name": name, "kind": "registered", "source": "lessons.models", "description": "",
                     "installed": True, "cached_bf16": False})
    for name, path in sorted((registered or {}).items()):
        rows.append({"name": name, "kind": "trained", "source": path, "description": "registered by lessons train",
                     "installed": Path(path).is_dir(), "cached_bf16": True})
    return rows


__all__ = [
    "Backend", "BackendError", "Chat", "Completion", "ModelInfo", "SamplingParams", "ModelOptions",
    "DEFAULT_MODEL", "backends", "models", "resolve_model", "find_local_model", "available_models",
]
