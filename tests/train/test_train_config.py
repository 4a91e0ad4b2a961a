"""TrainConfig: validation, its mapping onto TRL's SFTConfig / DPOConfig and peft's
LoraConfig, and the name a trained version gets."""

import pytest

from lessons.train import TrainConfig, lora_config, trl_config, version_name
from lessons.train.config import fingerprint, identity


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "ppo"}, "method 'ppo'"),
        ({"lora_r": 0}, "lora_r must be at least 1"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_steps": -1, "epochs": 0}, "max_steps > 0 or epochs > 0"),
        ({"device": "tpu"}, "device 'tpu'"),
    ],
)
def test_bad_configs_are_refused_with_the_field_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_learning_rate_defaults_per_method_and_explicit_wins():
    assert TrainConfig(method="sft").lr == 2e-4
    assert TrainConfig(method="dpo").lr == 5e-6
    assert TrainConfig(method="dpo", learning_rate=1e-3).lr == 1e-3


def test_sft_config_carries_every_setting(tmp_path):
    from trl import SFTConfig

    config = TrainConfig(
        method="sft", learning_rate=3e-4, epochs=2, max_steps=7, batch_size=3, grad_accum=2, max_length=256,
        seed=5, save_steps=4, save_total_limit=3, logging_steps=2, warmup_steps=1,
    )
    args = trl_config(config, tmp_path / "ckpt", use_cpu=True, bf16=True)
    assert isinstance(args, SFTConfig)
    expected = {
        "output_dir": str(tmp_path / "ckpt"), "learning_rate": 3e-4, "num_train_epochs": 2, "max_steps": 7,
        "per_device_train_batch_size": 3, "gradient_accumulation_steps": 2, "max_length": 256, "seed": 5,
        "save_steps": 4, "save_total_limit": 3, "logging_steps": 2, "warmup_steps": 1, "bf16": True,
        "use_cpu": True, "activation_checkpointing": False, "include_num_input_tokens_seen": "non_padding",
        "disable_tqdm": True, "report_to": [],
    }
    assert {k: getattr(args, k) for k in expected} == expected
    assert args.save_strategy == "steps"


def test_dpo_config_gets_beta(tmp_path):
    from trl import DPOConfig

    args = trl_config(TrainConfig(method="dpo", beta=0.25, max_steps=3), tmp_path, use_cpu=True, bf16=True)
    assert isinstance(args, DPOConfig)
    assert (args.beta, args.learning_rate, args.max_steps) == (0.25, 5e-6, 3)


def test_gradient_checkpointing_is_passed_under_its_new_name(tmp_path):
    args = trl_config(TrainConfig(gradient_checkpointing=True), tmp_path, use_cpu=True, bf16=False)
    assert args.activation_checkpointing is True and args.gradient_checkpointing is True
    assert args.bf16 is False


def test_grpo_config_runs_on_cpu_with_small_groups(tmp_path):
    from trl import GRPOConfig

    config = TrainConfig(method="grpo", batch_size=4, num_generations=2, max_completion_length=32, temperature=0.7,
                         max_steps=3)
    args = trl_config(config, tmp_path, use_cpu=True, bf16=True)
    assert isinstance(args, GRPOConfig)
    assert (args.use_cpu, args.bf16, args.use_vllm) == (True, True, False)
    assert (args.num_generations, args.max_completion_length, args.temperature) == (2, 32, 0.7)
    assert (args.learning_rate, args.beta, args.remove_unused_columns) == (2e-5, 0.0, False)
    assert args.gradient_checkpointing is False  # GRPOConfig's own default is True
    assert args.generation_batch_size == 4  # one generation batch per optimizer step: two groups


@pytest.mark.parametrize("targets, expected", [("all-linear", "all-linear"), (("q_proj", "v_proj"), {"q_proj", "v_proj"})])
def test_lora_config(targets, expected):
    lora = lora_config(TrainConfig(lora_r=8, lora_alpha=16, lora_dropout=0.1, target_modules=targets))
    assert (lora.r, lora.lora_alpha, lora.lora_dropout, lora.task_type) == (8, 16, 0.1, "CAUSAL_LM")
    assert lora.target_modules == expected


def test_version_name_is_base_method_and_a_hash_of_data_and_config():
    config = TrainConfig(method="sft", max_steps=20)
    name = version_name("smollm2-135m", "abc", config)
    assert name.startswith("smollm2-135m-sft-") and len(name.rsplit("-", 1)[1]) == 8
    assert version_name("smollm2-135m", "abc", config) == name  # stable
    assert version_name("smollm2-135m", "abd", config) != name  # other lessons
    assert version_name("smollm2-135m", "abc", TrainConfig(method="sft", max_steps=21)) != name
    assert version_name("qwen2.5-coder-0.5b", "abc", config) != name


def test_bookkeeping_fields_do_not_change_the_name():
    a = TrainConfig(max_steps=20)
    b = TrainConfig(max_steps=20, save_steps=3, logging_steps=5, device="cpu", output_dir="/x", name=None)
    assert version_name("m", "h", a) == version_name("m", "h", b)
    assert "save_steps" not in identity(a) and identity(a)["learning_rate"] == 2e-4


def test_explicit_default_learning_rate_is_the_same_version():
    assert fingerprint("m", "h", TrainConfig()) == fingerprint("m", "h", TrainConfig(learning_rate=2e-4))


@pytest.mark.parametrize(
    "base, stem",
    [("/models/My Model/", "My-Model"), ("./ckpt/run1", "run1"), ("smollm2-135m", "smollm2-135m")],
)
def test_version_name_of_a_path_uses_its_last_folder(base, stem):
    assert version_name(base, "h", TrainConfig()).startswith(f"{stem}-sft-")
