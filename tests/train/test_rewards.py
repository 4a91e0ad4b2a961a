"""The GRPO reward: the run's verifier per completion, the answer-line bonus, groups logged
one line each; the prompts format as training reads it."""

import json
from types import SimpleNamespace

import pytest

from lessons.lesson_set import FormatError, check_row
from lessons.train import LessonDataError, TrainConfig, load_lessons
from lessons.train.rewards import VerifierReward, logged_rewards, read_reward_log, trim_reward_log


def chat(text):
    return [{"role": "assistant", "content": text}]


def columns(n, answer="4", verifier="math"):
    return dict(task_id=[f"t{i // 2}" for i in range(n)], answer=[answer] * n, verifier=[verifier] * n)


def test_verifier_scores_each_completion_and_logs_each_group(tmp_path):
    log = tmp_path / "rewards.jsonl"
    reward = VerifierReward(num_generations=2, max_completion_length=50, format_weight=0.5, log_path=log)
    completions = [chat("2 + 2 = 4\nAnswer: 4"), chat("Answer: 5"), chat("it is 4"), chat("no idea")]
    rewards = reward(prompts=[None] * 4, completions=completions, trainer_state=SimpleNamespace(global_step=2),
                     **columns(4))
    assert rewards == [1.5, 0.5, 1.0, 0.0]  # right+line, line only, right (last number) only, neither
    groups = read_reward_log(log)
    assert [(g.step, g.task_id, g.rewards) for g in groups] == [(3, "t0", (1.5, 0.5)), (3, "t1", (1.0, 0.0))]
    assert groups[0].correct == (True, False) and groups[1].answer_line == (False, False)


def test_the_rows_verifier_and_extraction_are_used():
    reward = VerifierReward(num_generations=2, max_completion_length=50)
    completions = ["Answer: four", "Answer: 4"]
    assert reward([None] * 2, completions, **columns(2, answer="four", verifier="exact")) == [1.0, 0.0]
    only_lines = reward([None] * 2, ["it is 4", "Answer: 4"], extract=[["answer_line"]] * 2, **columns(2))
    assert only_lines == [0.0, 1.0]


def test_a_completion_cut_at_the_length_limit_is_truncated():
    reward = VerifierReward(num_generations=2, max_completion_length=3)
    assert reward([None] * 2, ["so 2 + 2 = 4", "so 2 + 2 = 4"], completion_ids=[[1, 2, 3], [1, 2]],
                  **columns(2)) == [0.0, 1.0]


def test_resume_trims_the_steps_it_will_log_again(tmp_path):
    log = tmp_path / "rewards.jsonl"
    reward = VerifierReward(num_generations=2, max_completion_length=50, log_path=log)
    for step in range(3):
        reward([None] * 2, ["Answer: 4"] * 2, trainer_state=SimpleNamespace(global_step=step), **columns(2))
    trim_reward_log(log, 2)
    assert [g.step for g in read_reward_log(log)] == [1, 2]


def test_reward_before_and_after_come_from_the_first_and_last_logged_steps():
    history = [{"loss": 0.1, "reward": 0.25}, {"loss": 0.2}, {"loss": 0.0, "reward": 0.75}, {"train_loss": 0.1}]
    assert logged_rewards(history) == (0.25, 0.75)
    assert logged_rewards([{"loss": 1.0}]) == (None, None)


def prompts_row(**over):
    row = {"prompt": [{"role": "user", "content": "What is 2 + 2?"}], "task_id": "t1", "answer": "4",
           "verifier": "math"}
    return {**row, **over}


def test_prompts_rows_are_a_lesson_format(tmp_path, rows):
    check_row("prompts", prompts_row(extract=["answer_line"]))
    with pytest.raises(FormatError, match="answer"):
        check_row("prompts", prompts_row(answer=""))
    with pytest.raises(FormatError, match="unknown keys"):
        check_row("prompts", prompts_row(solution="x"))
    lessons = load_lessons(rows.write(tmp_path / "p.jsonl", [prompts_row(), prompts_row(task_id="t2", extra=1)]))
    assert (lessons.format, lessons.method, lessons.conversational) == ("prompts", "grpo", True)
    assert lessons.rows[1] == prompts_row(task_id="t2")  # unknown columns dropped, as for other formats


@pytest.mark.parametrize("row, message", [
    (prompts_row(verifier="nope"), "p.jsonl:2: verifier 'nope' is not one of"),
    (prompts_row(extract=["guess"]), "p.jsonl:2: extract method 'guess'"),
    (prompts_row(answer=3), "p.jsonl:2: answer must be a non-empty string"),
])
def test_bad_prompts_rows_name_file_and_line(tmp_path, rows, row, message):
    path = rows.write(tmp_path / "p.jsonl", [prompts_row(), row])
    with pytest.raises(LessonDataError, match=message.replace("(", r"\(")):
        load_lessons(path)


def test_grpo_config_checks_whole_groups_and_keeps_sft_names():
    with pytest.raises(ValueError, match="multiple of num_generations"):
        TrainConfig(method="grpo", batch_size=3, num_generations=2)
    with pytest.raises(ValueError, match="at least 2"):
        TrainConfig(method="grpo", num_generations=1, batch_size=4)
    from lessons.train.config import identity

    assert "num_generations" not in identity(TrainConfig()) and "num_generations" in identity(
        TrainConfig(method="grpo"))
