"""`lessons build` through CliRunner on a copy of the planted log."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def cli(planted_cli, fake_embedder):
    return planted_cli


@pytest.mark.parametrize("kind, format", [
    ("correction", "prompt_completion"), ("pairs", "preference"), ("rejection", "messages"),
    ("stepwise", "stepwise"), ("prompt", "prompt"), ("practice", "tasks"), ("injected", "preference"),
    ("rl", "prompts"),
])
def test_build_json(cli, tmp_path, kind, format):
    out = tmp_path / kind
    payload = json.loads(cli("build", kind, "--run", "planted", "--out", out, "--json").stdout)
    assert payload["records"] > 0 and payload["format"] == format and payload["path"] == str(out)
    assert set(payload["dropped"]) == {"duplicates", "heldout_overlap", "limit"}
    assert payload["excluded_heldout_attempts"] > 0
    assert len((out / "lessons.jsonl").read_text().splitlines()) == payload["records"]
    assert json.loads((out / "lesson_set.json").read_text())["format"] == format


def test_limit_and_options(cli, tmp_path):
    payload = json.loads(cli("build", "correction", "--run", "planted", "--out", tmp_path / "c", "--limit", 3,
                             "-x", "kinds=splice", "-x", "recheck=false", "--json").stdout)
    assert payload["records"] == 3 and payload["dropped"]["limit"] > 0
    meta = json.loads((tmp_path / "c" / "lesson_set.json").read_text())
    assert meta["args"]["kinds"] == ["splice"] and meta["args"]["recheck"] is False


def test_rl_set_trains_with_grpo_next(cli, tmp_path):
    result = cli("build", "rl", "--run", "planted", "--out", tmp_path / "rl", "-x", "hints=true")
    assert "--method grpo" in result.stdout
    from lessons.train import load_lessons

    lessons = load_lessons(tmp_path / "rl")  # what `lessons train --method grpo` reads
    assert lessons.method == "grpo" and {"answer", "verifier", "extract"} <= set(lessons.rows[0])


def test_table_output_says_what_to_do_next(cli, tmp_path):
    result = cli("build", "pairs", "--run", "planted", "--out", tmp_path / "p")
    assert "records" in result.stdout and "lessons train" in result.stdout and "--method dpo" in result.stdout


def test_show_options(cli):
    payload = json.loads(cli("build", "injected", "--show-options", "--json").stdout)
    assert payload["format"] == "preference"
    assert {o["option"] for o in payload["options"]} == {"per_task", "kinds", "gold_fallback", "seed"}


def test_unknown_kind_lists_the_kinds(cli, tmp_path):
    result = cli("build", "nonsense", "--run", "planted", "--out", tmp_path / "x", ok=False)
    kinds = "correction, feedback, injected, pairs, practice, prompt, refusal, rejection, retry, rl, stepwise"
    assert f"unknown builder 'nonsense'; available: {kinds}" in " ".join(result.output.split())


def test_undiagnosed_run_says_to_diagnose_it(cli, tmp_path, run_maker):
    store, _ = run_maker(tmp_path / "log.db", name="raw", diagnose=False, samples=1)
    store.close()
    for kind in ("correction", "stepwise", "prompt"):
        result = cli("build", kind, "--run", "raw", "--out", tmp_path / kind, ok=False)
        assert "run `lessons diagnose raw` first" in " ".join(result.output.split())  # rich wraps lines
    assert json.loads(cli("build", "rejection", "--run", "raw", "--out", tmp_path / "r", "--json").stdout)["records"]


def test_bad_option_and_missing_run(cli, tmp_path):
    result = cli("build", "pairs", "--run", "planted", "--out", tmp_path / "p", "-x", "per_tasks=2", ok=False)
    assert "no option 'per_tasks'; options: per_task" in " ".join(result.output.split())
    result = cli("build", "pairs", "--run", "nope", "--out", tmp_path / "p", ok=False)
    assert "no run 'nope'" in result.output
    result = cli("build", "pairs", "--out", tmp_path / "p", ok=False)
    assert "--run RUN and --out DIR are required" in result.output


@pytest.mark.parametrize("kind", ["correction", "pairs", "rejection"])
def test_build_and_train_record_one_content_hash(cli, tmp_path, kind):
    """The hash `lessons build` reports and writes in lesson_set.json is the hash training
    computes from the rows (from lessons.jsonl or dataset/ alike) and the lineage of the
    trained version records."""
    from lessons.store import Store
    from lessons.train import TrainConfig, load_lessons, register_version, resolve_base

    out = tmp_path / kind
    built = json.loads(cli("build", kind, "--run", "planted", "--out", out, "--json").stdout)["content_hash"]
    assert json.loads((out / "lesson_set.json").read_text())["content_hash"] == built
    lessons = load_lessons(out)
    assert lessons.content_hash == built and lessons.describe()["declared_hash"] == built
    (out / "lessons.jsonl").unlink()  # what datasets.load_from_disk gives back hashes the same
    assert load_lessons(out).content_hash == built
    model, merged = tmp_path / "base", tmp_path / "v1" / "merged"
    for folder in (model, merged):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    store = Store.open(":memory:")
    try:
        version = register_version(store, "v1", merged, resolve_base(str(model)), lessons, TrainConfig(), {})
        lineage = next(v.lineage for v in store.model_versions() if v.id == version)
    finally:
        store.close()
    assert lineage["lesson_set"]["content_hash"] == lineage["lesson_set"]["declared_hash"] == built
