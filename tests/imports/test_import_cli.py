"""`lessons import lm-eval|inspect` through CliRunner, then the stages that read a run: diagnose, slices,
build, compare and report accept an imported one. Bad logs (real ones, spoiled) are one-line errors."""

import json
import shutil

import pytest


def _import(cli, *args) -> list[dict]:
    return json.loads(cli("import", *args, "--json").stdout)["runs"]


def _stages_accept(cli, tmp_path, run: str, mistakes: int) -> None:
    diagnosis = json.loads(cli("diagnose", run, "--no-cluster", "--json").stdout)
    assert diagnosis["mistakes"] == mistakes and diagnosis["typed"] == mistakes
    assert diagnosis["by_type"]  # every mistake has an error type
    assert "slices" in json.loads(cli("slices", run, "--min-support", "2", "--json").stdout)
    report = tmp_path / "report.html"
    assert json.loads(cli("report", run, "--output", report, "--json").stdout)["report"] == str(report)
    assert run in report.read_text()
    built = json.loads(cli("build", "prompt", "--run", run, "--out", tmp_path / "lessons", "--json").stdout)
    assert built["run"] == run and built["records"] >= 0


def test_lm_eval_import_then_diagnose_slices_build_report_compare(cli, lm_eval_logs, tmp_path):
    runs = _import(cli, "lm-eval", lm_eval_logs.sloppy)
    assert sorted(r["task"] for r in runs) == ["tiny_arith", "tiny_arith_k2"]
    sloppy = next(r for r in runs if r["task"] == "tiny_arith")
    assert (sloppy["attempts"], sloppy["new_attempts"]) == (6, 6)
    assert sloppy["agreement"] == pytest.approx(5 / 6)
    _stages_accept(cli, tmp_path, sloppy["run_name"], mistakes=2)
    [careful] = _import(cli, "lm-eval", lm_eval_logs.careful)
    compared = json.loads(cli("compare", sloppy["run_name"], careful["run_name"], "--json").stdout)
    assert (compared["tasks"], compared["fixed"], compared["new"]) == (6, 2, 0)
    table = cli("import", "lm-eval", lm_eval_logs.sloppy).stdout
    assert "tool's score" in table and f"lessons diagnose {runs[0]['run_name']}" in table


def test_inspect_import_then_diagnose_and_report(cli, inspect_logs, tmp_path):
    [run] = _import(cli, "inspect", inspect_logs.eval)
    assert (run["tool"], run["attempts"]) == ("inspect", 6)
    _stages_accept(cli, tmp_path, run["run_name"], mistakes=2)
    assert _import(cli, "inspect", inspect_logs.json, "--run", "mine")[0]["run_name"] == "mine"


def _spoiled_copy(src, tmp_path, line: int, edit):
    """A copy of a real lm-eval output folder whose samples file has line `line` changed by `edit`."""
    folder = tmp_path / "spoiled"
    shutil.copytree(src, folder)
    [samples] = folder.rglob("samples_tiny_arith_2*.jsonl")
    lines = samples.read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    samples.write_text("\n".join(lines) + "\n")
    return folder, samples


def _drop(field):
    def edit(text):
        record = json.loads(text)
        del record[field]
        return json.dumps(record)
    return edit


@pytest.mark.parametrize("line, edit, says", [
    (2, lambda text: text[:40], "not JSON"),
    (3, _drop("resps"), "field 'resps': missing"),
    (4, _drop("target"), "field 'target': missing"),
    (2, lambda text: json.dumps({**json.loads(text), "resps": [[0.5]]}), "field 'resps': responses are not text"),
])
def test_a_bad_samples_line_is_one_line_naming_file_line_and_field(cli, lm_eval_logs, tmp_path, line, edit, says):
    folder, samples = _spoiled_copy(lm_eval_logs.sloppy, tmp_path, line, edit)
    result = cli("import", "lm-eval", folder, "--task", "tiny_arith", ok=False)
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"error: {samples}:{line}: ") and says in message
    assert json.loads(cli("runs", "--json").stdout)["runs"] == []  # nothing half-imported


def test_missing_samples_and_unknown_task_are_clear_errors(cli, lm_eval_logs, tmp_path):
    folder = tmp_path / "no-samples"
    shutil.copytree(lm_eval_logs.careful, folder)
    for samples in folder.rglob("samples_*.jsonl"):
        samples.unlink()
    assert "has no samples_tiny_arith_" in cli("import", "lm-eval", folder, ok=False).stderr
    assert "no task 'nope'" in cli("import", "lm-eval", lm_eval_logs.careful, "--task", "nope", ok=False).stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert f"{empty}: no lm-eval results_*.json" in cli("import", "lm-eval", empty, ok=False).stderr
    assert "a run name fits one" in cli("import", "lm-eval", lm_eval_logs.sloppy, "--run", "x", ok=False).stderr
