"""The loop's configuration: one YAML file (`lessons loop --config loop.yaml`), every key
also a flag, and two sizes for the embedded default model on a 2-core CPU.

    name: qwen-arith              # the loop's name: the same name resumes it
    model: qwen2.5-coder-0.5b
    suite: arith
    rounds: 1
    train_tasks: 128              # train-split tasks evaluated each round (the mistakes to learn from)
    heldout_tasks: 64             # a random held-out sample every arm is judged on
    target_slices: 1              # slices aimed at, chosen before training (target.py)
    target_tasks: 96              # held-out tasks in the target every arm is judged on
    probe: 3                      # candidates whose failed train tasks are sampled before choosing
    failures: true                # the target's failed train tasks are practice tasks too
    mix: {practice: 0.8, repair: 0.2}  # builder -> share of the rows, e.g. {practice: 0.5, correction: 0.5}
    samples: 4                    # own solutions per posed task, both arms (solutions.py) ...
    retry: 2                      # ... more for the unsolved, `keep` distinct kept, `hint_share` hinted
    rows: 48                      # budget: lesson rows per round, the same for the control arm
    steps: 12                     # budget: optimizer steps per round, both arms
    dpo_steps: 0                  # then DPO steps on pairs of each arm's own samples (0: SFT only)
    options: {correction: {kinds: splice}}  # builder options (as `lessons build -x`)
    fields: {question: Body+Question, answer: gold}  # a task file's field mapping (as --field)
    topics: 0                     # a task file without labels: this many question topics as slices
    method: sft                   # or grpo: both arms by RL on prompts (the target's / random), the verifier's reward
    training: true                # false (default for openai: models): lessons in the prompt, no training
    train: {lora_r: 16, learning_rate: 0.0002, batch_size: 4, max_length: 512, lora_dropout: 0}
    endpoints: [http://127.0.0.1:8000/v1]  # where an openai: model is served (several: with ray)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from lessons.models import DEFAULT_MODEL

DEFAULT_ROOT = Path("lessons-loops")  # a loop's lesson sets, models and report, unless out_dir says otherwise
# builders whose rows the loop trains on (SFT)
SFT_BUILDERS = ("correction", "rejection", "practice", "repair", "feedback", "random", "retry")
# `random` is not a builder: the control's own rows (random train tasks, solved by the same
# procedure), as a share of the treatment, so that it keeps what untargeted practice gives.
# A code suite's mix unless one is given: `repair` corrects a false calculation, which a
# program does not have; `feedback` is its counterpart (the failing test shown, a passing fix).
CODE_MIX = {"practice": 0.8, "feedback": 0.2}

# Sizes for qwen2.5-coder-0.5b on the 2-core CPU (benchmarks/RESULTS.md): `default` judges 64
# random and 96 target held-out tasks (one seed: 35 minutes, base runs included); `quick` is a
# first look.
SIZES: dict[str, dict[str, int]] = {
    "default": {"train_tasks": 128, "heldout_tasks": 64, "target_tasks": 192, "rows": 48, "steps": 12},
    "quick": {"train_tasks": 40, "heldout_tasks": 40, "target_tasks": 32, "rows": 16, "steps": 5},
}


class InvalidSetting(ValueError):
    """A setting out of range; `key` says which, so that `load_config` can name the file
    the value came from."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"loop config: {problem}")
        self.key, self.problem = key, problem


@dataclass(frozen=True)
class LoopConfig:
    name: str = "loop"
    model: str = DEFAULT_MODEL
    suite: str = "arith"
    rounds: int = 1
    train_tasks: int = SIZES["default"]["train_tasks"]
    heldout_tasks: int = SIZES["default"]["heldout_tasks"]
    max_new_tokens: int = 384  # arith solutions need ~150 tokens; at 320 some target answers were cut off
    # Sequences per generate call: on 2 CPU cores 64 generates 2.7x the tokens/s of 16 and 128
    # another 1.2x (qwen, arith; benchmarks/RESULTS.md).
    batch_size: int = 128
    template: str = "step-by-step"
    locator: str = "arith"  # first-wrong-step locator of the diagnose stage
    mix: dict[str, float] = field(default_factory=lambda: {"practice": 0.8, "repair": 0.2})
    options: dict[str, dict[str, Any]] = field(default_factory=lambda: {"correction": {"kinds": "splice"}})
    rows: int = SIZES["default"]["rows"]
    steps: int = SIZES["default"]["steps"]
    # No LoRA dropout: a step is 1.20x faster without it on 2 cores (benchmarks/RESULTS.md),
    # and a dozen steps are too few to overfit.
    train: dict[str, Any] = field(default_factory=lambda: {"batch_size": 4, "max_length": 512, "lora_dropout": 0.0})
    control: bool = True  # train the control arm on untargeted data of the same size
    # The target (target.py): this many slices, chosen before training, get the whole
    # treatment budget and are judged on `target_tasks` held-out tasks (0: the five
    # weakest SliceLine slices share it, and no target figures).
    target_slices: int = 1
    target_tasks: int = SIZES["default"]["target_tasks"]
    # With `solutions: self`: the best `probe` candidates' failed train tasks are sampled and
    # the target is the slice with most mistakes a sample solves (0: by fixable errors alone);
    # with `failures`, the target's failed train tasks are practice tasks too.
    probe: int = 3
    failures: bool = True
    solutions: str = "self"  # completions of practice and control tasks: self (own, verified) or gold
    # How `self` solutions are sampled, for both arms alike (solutions.py).
    samples: int = 4
    temperature: float = 0.7
    retry: int = 2
    keep: int = 3
    hint_share: float = 0.25
    # Preference training after SFT (both arms alike): `dpo_steps` DPO steps on pairs of
    # the arm's own samples, a verified and a wrong solution of one of its tasks (prefs.py),
    # at `dpo_lr` (LoRA wants about ten times full fine-tuning's 5e-6). 0: SFT only.
    dpo_steps: int = 0
    dpo_lr: float = 5e-5
    # How both arms train: sft (the mix's rows, then `dpo_steps` of DPO), or grpo (RL with the
    # suite's verifier as reward: the treatment's `rows` prompts are the target's failed train
    # tasks, those a probe sample solved first, then new practice tasks of the target; the
    # control's as many random train tasks; `steps` GRPO steps each).
    method: str = "sft"
    # False: a model that cannot be trained (an endpoint, say) learns in its prompt instead. The
    # treatment is the `prompt` lesson set (the error-aware system prompt and, per question,
    # its most similar past mistakes beside their answers); the control, solved train
    # problems of the same length (few-shot). One round, no weights changed.
    training: bool = True
    # A task file's field mapping, as `lessons eval --field` takes it: {question: Body+Question,
    # answer: gold, metadata: "level,topic"} (GSM8K and SVAMP files need none).
    fields: dict[str, str] = field(default_factory=dict)
    # Question topics for a task file without labels (`lessons.diagnose.topics`): the file's
    # train questions in this many k-means clusters of their embeddings, every task labelled
    # `topic=` its nearest, a feature the target can be chosen by (0: none).
    topics: int = 0
    seed: int = 0
    out_dir: str | None = None  # default: lessons-loops/<name>
    # Where an `openai:` model is served: one OpenAI-compatible URL, or several shared by
    # Ray (`ray`: a cluster address, or "local" to start one). Not part of what a loop is:
    # a resumed loop may reach its model elsewhere.
    endpoints: list[str] = field(default_factory=list)
    ray: str | None = None

    def __post_init__(self) -> None:
        for key in ("rounds", "train_tasks", "heldout_tasks", "rows", "steps", "max_new_tokens", "batch_size",
                    "samples", "keep", "target_tasks"):
            if getattr(self, key) < 1:
                raise InvalidSetting(key, f"{key} must be at least 1, got {getattr(self, key)}")
        for key in ("target_slices", "retry", "probe", "dpo_steps"):
            if getattr(self, key) < 0:
                raise InvalidSetting(key, f"{key} must be at least 0, got {getattr(self, key)}")
        if self.endpoints and not self.model.startswith("openai:"):
            raise InvalidSetting("endpoints", f"endpoints serve an openai:<model>, and model {self.model!r} is local")
        if self.ray is not None and not self.endpoints:
            raise InvalidSetting("ray", "ray shares an openai: model's requests over its endpoints: give endpoints")
        if len(self.endpoints) > 1 and self.ray is None:
            raise InvalidSetting("endpoints", f"{len(self.endpoints)} endpoints need ray (a cluster address, or "
                                              f"local) to share the work")
        if self.topics < 0 or self.topics == 1:
            raise InvalidSetting("topics", f"topics must be 0 (none) or at least 2, got {self.topics}")
        if not 0 <= self.hint_share <= 1:
            raise InvalidSetting("hint_share", f"hint_share must be between 0 and 1, got {self.hint_share}")
        if self.dpo_lr <= 0:
            raise InvalidSetting("dpo_lr", f"dpo_lr must be above 0, got {self.dpo_lr}")
        if self.temperature <= 0:
            raise InvalidSetting("temperature", f"temperature must be above 0 (solutions are sampled), "
                                                f"got {self.temperature}")
        if self.solutions not in ("self", "gold"):
            raise InvalidSetting("solutions", f"solutions {self.solutions!r}: use self or gold")
        if not self.mix:
            raise InvalidSetting("mix", "mix needs at least one builder, e.g. {practice: 0.5, correction: 0.5}")
        if self.method not in ("sft", "grpo"):
            raise InvalidSetting("method", f"method {self.method!r}: use sft or grpo")
        if self.method == "grpo" and (set(self.mix) != {"practice"} or self.dpo_steps or not self.training):
            raise InvalidSetting("method", "method grpo trains on prompts of the target's tasks: mix: {practice: 1}, "
                                           "dpo_steps: 0, training: true")
        if not self.training:
            if set(self.mix) != {"prompt"}:
                raise InvalidSetting("mix", "a loop without training teaches in the prompt: mix: {prompt: 1}")
            if self.rounds != 1 or self.dpo_steps:
                key = "rounds" if self.rounds != 1 else "dpo_steps"
                raise InvalidSetting(key, f"a loop without training has one round and no DPO step: its model "
                                          f"does not change (got {key} {getattr(self, key)})")
        for kind, share in self.mix.items():
            if kind == "prompt" and self.training:
                raise InvalidSetting("mix", "mix builder 'prompt' teaches at inference time, not by training: "
                                            "set training: false (--no-train)")
            if kind not in SFT_BUILDERS + ("prompt",):
                raise InvalidSetting("mix", f"mix builder {kind!r}: the loop trains with SFT on "
                                            f"{', '.join(SFT_BUILDERS)}")
            if not isinstance(share, (int, float)) or share <= 0:
                raise InvalidSetting("mix", f"mix share of {kind!r} must be a positive number, got {share!r}")
        from lessons.train.config import TrainConfig

        known = {f.name for f in fields(TrainConfig)} - {"method", "max_steps", "epochs", "name", "output_dir", "seed"}
        bad = sorted(set(self.train) - known)
        if bad:
            raise InvalidSetting("train", f"train keys {bad} unknown; known: {', '.join(sorted(known))}")

    @property
    def root(self) -> Path:
        return Path(self.out_dir) if self.out_dir else DEFAULT_ROOT / self.name

    @property
    def labels(self) -> Path | None:
        """The labels file of the suite's tasks the loop writes (with `topics`), else None."""
        return self.root / "topics.json" if self.topics else None

    def load_suite(self, labelled: bool = True) -> Any:
        """The loop's suite (with its field mapping), its tasks labelled by the loop's topics
        once they are fitted (`labelled`)."""
        return _load(self.suite, self.fields, self.labels if labelled else None)

    def sampling(self) -> Any:
        from lessons.loop.solutions import Sampling

        return Sampling(self.samples, self.temperature, self.retry, self.keep, self.hint_share)

    def identity(self) -> dict[str, Any]:
        """What decides the loop's results: a resumed loop must match it (out_dir may move,
        the endpoints serving its model may change)."""
        d = dataclasses.asdict(self)
        for where in ("out_dir", "endpoints", "ray"):
            d.pop(where)
        return d

    @classmethod
    def recorded(cls, identity: Mapping[str, Any]) -> "LoopConfig":
        """The config a loop was started with, from the identity the log holds: a setting
        the config no longer has is left out, one added since takes its default (the loop
        ran without it, as `differs` counts it)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in identity.items() if k in known})

    def differs(self, recorded: Mapping[str, Any]) -> list[str]:
        """The settings in which a loop's recorded identity differs from this config. A key
        added to the config after that loop started counts as its default there: the loop
        ran without the feature, which is what the default means."""
        mine = self.identity()
        defaults = {f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
                    for f in fields(LoopConfig)}
        return sorted(k for k in set(recorded) | set(mine) if recorded.get(k, defaults.get(k)) != mine.get(k))


def load_config(path: str | Path | None, overrides: dict[str, Any], size: str | None = None) -> LoopConfig:
    """The config from a YAML file (if any), then `size`'s numbers (`--quick` is a flag, so
    it beats the file), then the other flags (`overrides`, None values ignored). Unknown
    keys, YAML that does not parse (with its line) and settings out of range are errors naming
    the file, when the value came from it. Without a name, the loop is named after its model
    and suite, and a sized loop gets the size as a suffix, so it never resumes another."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"loop config {path} not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ValueError(_yaml_error(path, e)) from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of loop settings, got {type(data).__name__}")
        known = {f.name for f in fields(LoopConfig)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown loop settings {unknown}; known: {', '.join(sorted(known))}")
    flags = {k: v for k, v in overrides.items() if v is not None}
    from_file = set(data) - set(flags)  # a size's numbers are always in range
    if size is not None:
        if size not in SIZES:
            raise ValueError(f"size {size!r}: use {', '.join(SIZES)}")
        data |= SIZES[size]
        from_file -= set(SIZES[size])
    data |= flags
    if "training" not in data and str(data.get("model", "")).startswith("openai:"):
        data["training"] = False  # an endpoint's weights are not ours to train
    if data.get("training") is False and "mix" not in data:
        data["mix"] = {"prompt": 1.0}
    if data.get("method") == "grpo" and "mix" not in data:
        data["mix"] = {"practice": 1.0}
    data |= {k: v for k, v in suite_settings(data.get("suite", "arith"), data.get("fields")).items()
             if k not in data}
    if "name" not in overrides or overrides["name"] is None:
        stem = data.get("name") or default_name(data.get("model", DEFAULT_MODEL), data.get("suite", "arith"))
        data["name"] = f"{stem}-{size}" if size and size != "default" else stem
    try:
        config = LoopConfig(**data)
        check_suite(config, judges_programs(config.suite, config.fields))
        return config
    except InvalidSetting as e:
        if e.key in from_file:
            raise ValueError(f"{path}: {e.problem}") from None
        raise
    except TypeError as e:
        raise ValueError(f"{path or 'loop config'}: {e}") from None


def _load(suite: str, fields: dict[str, str] | None = None, labels: Path | None = None) -> Any:
    from lessons.tasks import FieldMap, load_suite

    return load_suite(suite, FieldMap.from_mapping(fields) if fields else None, labels)


def suite_verifier(suite: str, fields: dict[str, str] | None = None) -> str:
    """The verifier that judges the suite's attempts, as `lessons eval` picks it: the suite's
    own (`tests` for code suites), else `math`."""
    from lessons.tasks import suite_defaults

    return suite_defaults(_load(suite, fields)).verifier or "math"


def judges_programs(suite: str, fields: dict[str, str] | None = None) -> bool:
    return suite_verifier(suite, fields) == "tests"


def suite_settings(suite: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings a suite changes when the file and flags leave them out: a code suite's
    template (the whole function in one code block), mix (`CODE_MIX`) and locator (`trace`:
    the first line whose values part from the reference's; `arith` finds no calculation in
    a program)."""
    from lessons.tasks import suite_defaults

    template = suite_defaults(_load(suite, fields)).template
    programs = judges_programs(suite, fields)
    return ({"template": template} if template else {}) | (
        {"mix": dict(CODE_MIX), "locator": "trace"} if programs else {})


def check_suite(config: LoopConfig, programs: bool) -> None:
    """Settings that cannot work on the suite, refused before anything runs: topics of a
    built-in suite, `repair` on programs, `feedback` on anything else."""
    if config.topics and not Path(config.suite).is_file():
        raise InvalidSetting("topics", f"topics label the questions of a task file, and suite {config.suite!r} is "
                                       f"built in, with labels of its own: set topics: 0")
    if programs and config.method == "grpo":
        raise InvalidSetting("method", f"method grpo in the loop rewards math answers, and suite {config.suite!r} is "
                                       f"judged by running programs: use method: sft")
    if programs and "repair" in config.mix:
        raise InvalidSetting("mix", f"mix builder 'repair' corrects a worked solution's first false calculation, "
                                    f"and suite {config.suite!r} is judged by running programs: use feedback, "
                                    f"e.g. mix: {{practice: 0.8, feedback: 0.2}}")
    if not programs and "feedback" in config.mix:
        raise InvalidSetting("mix", f"mix builder 'feedback' learns from running a program's tests, and suite "
                                    f"{config.suite!r} is not judged by running programs: use repair")


def _yaml_error(path: Path, error: Exception) -> str:
    """`loop.yaml:3: not valid YAML (what the parser expected)`, on one line: the file and
    line first, as for the other files the CLI reads."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)  # marks count lines from 0
    parts = [getattr(error, "context", None), getattr(error, "problem", None)]
    what = ": ".join(p for p in parts if p) or str(error)
    return f"{where}: not valid YAML ({' '.join(what.split())})"


def default_name(model: str, suite: str) -> str:
    """`qwen2.5-coder-0.5b-arith`: the model's last path part and the suite's file stem."""
    import re

    model_stem = Path(model.rstrip("/").removeprefix("openai:")).name
    suite_stem = Path(suite.partition(":")[0]).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model_stem}-{suite_stem}").strip("-.")
