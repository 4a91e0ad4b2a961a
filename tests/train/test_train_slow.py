"""Real training runs on a tiny random Llama: SFT and DPO change the weights, the merged
model loads and is found by name, a killed run resumes from its last checkpoint, and the
CLI loop train -> eval works end to end."""

import json

import pytest

from lessons.models import ModelOptions, SamplingParams, resolve_model
from lessons.store import Store
from lessons.train import TrainConfig, TrainError, train

pytestmark = pytest.mark.slow
FAST = dict(learning_rate=1e-2, batch_size=4, max_length=128, lora_r=4, lora_alpha=8, device="cpu")


def tensors(directory):
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


def changed_tensors(base_dir, merged_dir):
    base, merged = tensors(base_dir), tensors(merged_dir)
    assert base.keys() == merged.keys()
    return [k for k in base if not base[k].equal(merged[k])]


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "log.db")
    yield s
    s.close()


@pytest.mark.parametrize("method, data", [("sft", "sft_file"), ("dpo", "dpo_file")])
def test_training_changes_weights_and_registers_a_loadable_version(request, tmp_path, tiny_model, store, method, data):
    data_path = request.getfixturevalue(data)
    reports = []
    config = TrainConfig(method=method, max_steps=3, save_steps=2, output_dir=str(tmp_path / "out"), **FAST)
    result = train(str(tiny_model), data_path, config, on_progress=reports.append, store=store)

    assert result.steps == 3 and result.tokens > 0 and result.tokens_per_second > 0
    assert result.train_loss is not None and result.train_loss > 0
    assert [r.step for r in reports] == [1, 2, 3] and {r.total for r in reports} == {3}
    assert all(r.loss is not None for r in reports)
    assert result.model_name.startswith(f"{tiny_model.name}-{method}-")
    changed = changed_tensors(tiny_model, tmp_path / "out" / "merged")
    assert any("proj" in k for k in changed), "LoRA targets every linear layer: their merged weights move"
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert json.loads((tmp_path / "out" / "merged" / "config.json").read_text())["dtype"] == "bfloat16"

    registered = store.registered_models()
    assert registered[result.model_name] == result.path
    backend = resolve_model(result.model_name, ModelOptions(device="cpu", batch_size=2), registered)
    out = backend.generate([[{"role": "user", "content": "What is 2 + 2?"}]], SamplingParams(max_new_tokens=4))
    assert out[0][0].completion_tokens >= 1
    assert store.save_model_version(backend.info) == result.version_id  # eval runs join the registered row


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_model, sft_file):
    class Killed(Exception):
        pass

    def kill_at_step_3(progress):
        if progress.step == 3:  # checkpoint-2 is on disk by now; step 3's is not
            raise Killed

    config = TrainConfig(max_steps=4, save_steps=2, output_dir=str(tmp_path / "out"), **FAST)
    with pytest.raises(Killed):
        train(str(tiny_model), sft_file, config, on_progress=kill_at_step_3)
    assert sorted(p.name for p in (tmp_path / "out" / "checkpoints").glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (tmp_path / "out" / "merged").exists()

    reports = []
    resumed = train(str(tiny_model), sft_file, config, on_progress=reports.append)
    assert resumed.resumed_from_step == 2 and resumed.steps == 4
    assert [r.step for r in reports] == [3, 4]

    straight = train(str(tiny_model), sft_file, TrainConfig(max_steps=4, save_steps=2,
                                                             output_dir=str(tmp_path / "straight"), **FAST))
    assert resumed.train_loss == pytest.approx(straight.train_loss, rel=1e-3)
    assert resumed.tokens == straight.tokens

    # a finished run is not trained again
    again = []
    assert train(str(tiny_model), sft_file, config, on_progress=again.append).steps == 4 and again == []


def test_cli_train_then_eval_by_the_new_name(tmp_path, tiny_model, sft_file, monkeypatch):
    from typer.testing import CliRunner

    from lessons.cli import app

    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    monkeypatch.chdir(tmp_path)  # the default output dir is ./lessons-models/<name>
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--model", str(tiny_model), "--data", str(sft_file), "--max-steps", "2",
                                  "--lr", "1e-2", "--max-length", "128", "--device", "cpu", "--json"])
    assert trained.exit_code == 0, trained.output
    payload = json.loads(trained.stdout)
    assert payload["steps"] == 2 and payload["path"].startswith(str(tmp_path / "lessons-models" / payload["model"]))

    evaluated = runner.invoke(app, ["eval", "--model", payload["model"], "--suite", "arith", "--limit", "2",
                                    "--max-new-tokens", "8", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["attempts"] == 2
    store = Store.open(tmp_path / "log.db")
    run = store.runs()[-1]
    version = next(v for v in store.model_versions() if v.id == run.model_version_id)
    assert version.name == payload["model"] and version.lineage["steps"] == 2
    store.close()

