"""`lessons topics FILE -o labels.json`, then `--labels` on `lessons tasks` and `lessons eval`."""

import json

from loop_fakes import gsm8k_file


def test_topics_label_a_task_file_that_eval_and_tasks_then_read(run_cli, fake_embedder, tmp_path):
    suite = gsm8k_file(tmp_path / "mini_gsm8k.jsonl", 300)
    labels = tmp_path / "labels.json"
    shown = run_cli("topics", suite, "-k", 4, "-o", labels)
    assert "wrote" in shown.output and f"--labels {labels}" in shown.output
    written = json.loads(run_cli("topics", suite, "-k", 4, "-o", labels, "--json").output)
    assert len(written["topics"]) == 4 and sum(written["topics"].values()) == 300
    listed = json.loads(run_cli("tasks", suite, "--labels", labels, "--json", "--show", 5).output)
    assert all(e["metadata"]["topic"] in written["topics"] for e in listed["examples"])
    plain = json.loads(run_cli("tasks", suite, "--json").output)
    assert plain["suite"] != listed["suite"]  # labelled tasks are another suite


def test_topics_of_a_built_in_suite_or_too_few_questions_are_one_line_errors(run_cli, fake_embedder, tmp_path):
    refused = run_cli("topics", "arith", "-o", tmp_path / "x.json", ok=False)
    assert "built in and labels its own tasks" in refused.output and len(refused.output.strip().splitlines()) == 1
    small = gsm8k_file(tmp_path / "small.jsonl", 6)
    refused = run_cli("topics", small, "-k", 8, "-o", tmp_path / "x.json", ok=False)
    assert "cannot make 8 topics" in refused.output and not (tmp_path / "x.json").exists()
