"""`lessons train` through CliRunner: flags become a TrainConfig, one library call, JSON out.
The library call is replaced here; the slow tests run the real one."""

import json

import pytest

from lessons.train import TrainProgress, TrainResult


@pytest.fixture
def cli(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    return run_cli


@pytest.fixture
def fake_train(monkeypatch):
    calls = []

    def train(model, data, config, on_progress=None, store=None):
        calls.append((model, data, config, store))
        on_progress(TrainProgress(step=1, total=2, loss=1.5, tokens=100, tokens_per_second=50.0, elapsed_s=2.0))
        return TrainResult(
            model_name="m-sft-0123abcd", path="/out/merged", steps=2, train_loss=1.25, tokens=200,
            tokens_per_second=50.0, adapter_dir="/out/adapter", merged_dir="/out/merged", version_id="v",
        )

    monkeypatch.setattr("lessons.cli.train.train", train)
    monkeypatch.setattr("lessons.cli.train._quiet_libraries", lambda: None)  # no HF imports in a unit test
    return calls


def test_train_json_prints_what_the_issue_asks_for(cli, fake_train, sft_file):
    result = cli("train", "--model", "smollm2-135m", "--data", sft_file, "--method", "sft", "--max-steps", 2,
                 "--lora-r", 8, "--epochs", 3, "--name", "mine", "--target-modules", "q_proj,v_proj", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"model", "path", "steps", "train_loss", "tokens_per_second"} <= set(payload)
    assert (payload["model"], payload["steps"], payload["train_loss"]) == ("m-sft-0123abcd", 2, 1.25)
    model, data, config, store = fake_train[0]
    assert (model, data) == ("smollm2-135m", str(sft_file))
    assert (config.method, config.max_steps, config.lora_r, config.epochs, config.name) == ("sft", 2, 8, 3.0, "mine")
    assert config.target_modules == ("q_proj", "v_proj")
    assert store is not None  # registration happens in the library call


def test_train_table_output(cli, fake_train, sft_file):
    result = cli("train", "--model", "m", "--data", sft_file)
    assert result.exit_code == 0
    assert "m-sft-0123abcd" in result.stdout and "lessons eval --model m-sft-0123abcd" in result.stdout


def test_bad_lessons_give_one_red_line_with_file_and_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")  # narrower than the line: it must not wrap
    monkeypatch.setattr("lessons.cli.train._quiet_libraries", lambda: None)  # no HF imports in a unit test
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n{oops\n')
    result = cli("train", "--model", "smollm2-135m", "--data", bad, "--json", ok=False)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {bad}:2: invalid JSON")


def test_wrong_method_is_refused(cli, dpo_file):
    result = cli("train", "--model", "smollm2-135m", "--data", dpo_file, "--method", "sft", ok=False)
    assert result.exit_code == 1 and "use --method dpo" in result.stderr


def test_bad_option_value_is_refused(cli, sft_file):
    result = cli("train", "--model", "m", "--data", sft_file, "--method", "ppo", ok=False)
    assert result.exit_code == 1 and "method 'ppo'" in result.stderr


def test_grpo_flags_reach_the_config_and_json_prints_rewards(cli, monkeypatch, tmp_path, rows):
    calls = []

    def train(model, data, config, on_progress=None, store=None):
        calls.append(config)
        on_progress(TrainProgress(step=1, total=2, loss=0.0, tokens=90, tokens_per_second=30.0, elapsed_s=3.0,
                                  reward=0.25))
        return TrainResult(
            model_name="m-grpo-0123abcd", path="/out/merged", steps=2, train_loss=0.0, tokens=180,
            tokens_per_second=30.0, adapter_dir="/out/adapter", merged_dir="/out/merged", version_id="v",
            reward_first=0.25, reward_last=0.5, rewards_log="/out/rewards.jsonl",
        )

    monkeypatch.setattr("lessons.cli.train.train", train)
    monkeypatch.setattr("lessons.cli.train._quiet_libraries", lambda: None)
    data = rows.write(tmp_path / "p.jsonl", [{"prompt": [{"role": "user", "content": "2+2?"}], "task_id": "t",
                                              "answer": "4", "verifier": "math"}])
    result = cli("train", "--model", "m", "--data", data, "--method", "grpo", "--num-generations", 2,
                 "--max-completion-length", 32, "--format-reward", 0.2, "--temperature", 0.7, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["reward_before"], payload["reward_after"], payload["steps"]) == (0.25, 0.5, 2)
    assert payload["tokens_per_second"] == 30.0 and payload["rewards_log"] == "/out/rewards.jsonl"
    config = calls[0]
    assert (config.method, config.num_generations, config.max_completion_length) == ("grpo", 2, 32)
    assert (config.format_reward, config.temperature) == (0.2, 0.7)


def test_grpo_batch_that_splits_a_group_is_one_line(cli, tmp_path, rows):
    result = cli("train", "--model", "m", "--data", tmp_path / "x.jsonl", "--method", "grpo", "--batch-size", 3,
                 ok=False)
    assert result.exit_code == 1 and "multiple of num_generations" in result.stderr
