"""`lessons train`: LoRA-train a model on a lesson set and register the new model version."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from lessons.cli.app import CliError, DbOption, JsonOption, bar_on_stderr, command, emit_json, open_store, out
from lessons.train import TrainConfig, TrainError, TrainProgress, TrainResult, train


@command("train")
def train_command(
    model: str = typer.Option(..., "--model", "-m", help="Base: packaged model, registered version or local HF dir."),
    data: str = typer.Option(..., "--data", "-d", help="`lessons build` output dir, or a JSONL file of TRL rows."),
    method: str = typer.Option("sft", "--method",
                               help="sft (messages, prompt/completion), dpo (prompt/chosen/rejected) or grpo (prompts)."),
    lora_r: int = typer.Option(16, "--lora-r", min=1, help="LoRA rank."),
    lora_alpha: int = typer.Option(32, "--lora-alpha", min=1),
    lora_dropout: float = typer.Option(0.05, "--lora-dropout", min=0.0, max=1.0),
    target_modules: str = typer.Option("all-linear", "--target-modules", help="all-linear, auto (the error-dense quarter of the layers: largest gradients on the lessons), or names: q_proj,v_proj"),
    learning_rate: Optional[float] = typer.Option(None, "--learning-rate", "--lr", help="Default: 2e-4 SFT, 5e-6 DPO, 2e-5 GRPO."),
    epochs: float = typer.Option(1.0, "--epochs"),
    max_steps: int = typer.Option(-1, "--max-steps", help="Optimizer steps; overrides --epochs when > 0."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Rows per step; GRPO: completions (whole groups)."),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1),
    max_length: int = typer.Option(1024, "--max-length", min=1, help="Tokens per row after the chat template."),
    beta: float = typer.Option(0.1, "--beta", help="DPO beta."),
    num_generations: int = typer.Option(4, "--num-generations", min=2, help="GRPO: completions per prompt (a group)."),
    max_completion_length: int = typer.Option(128, "--max-completion-length", min=1,
                                              help="GRPO: tokens sampled per completion."),
    temperature: float = typer.Option(1.0, "--temperature", min=0.0, help="GRPO: sampling temperature."),
    format_reward: float = typer.Option(0.0, "--format-reward", min=0.0,
                                        help="GRPO: reward for an answer line, added to the verifier's 0/1 (0: off)."),
    mask_thought: float = typer.Option(0.0, "--mask-thought", min=0.0, max=0.99,
                                       help="SFT: share of the completion's input tokens masked, labels kept (Masked Thought; 0: off)."),
    seed: int = typer.Option(0, "--seed"),
    save_steps: int = typer.Option(50, "--save-steps", min=1, help="Checkpoint every N steps (what a re-run resumes from)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    name: Optional[str] = typer.Option(None, "--name", help="New version's name. Default: <base>-<method>-<hash8>."),
    out_dir: Optional[str] = typer.Option(None, "--out", help="Output dir. Default: ./lessons-models/<name>."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a model on lessons (TRL + LoRA); the same command again resumes from the last checkpoint."""
    targets = target_modules if target_modules in ("all-linear", "auto") else tuple(target_modules.split(","))
    config = TrainConfig(
        method=method, lora_r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=targets,
        learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
        grad_accum=grad_accum, max_length=max_length, beta=beta, num_generations=num_generations,
        max_completion_length=max_completion_length, temperature=temperature, format_reward=format_reward,
        mask_thought=mask_thought, seed=seed, save_steps=save_steps, device=device, name=name, output_dir=out_dir,
    )
    store = open_store(db)
    _quiet_libraries()
    # No note before the bar: an error in the lessons file must be the only line on stderr.
    with train_bar(escape(f"train {model} on {data} ({method})")) as update:
        try:
            result = train(model, data, config, on_progress=update, store=store)
        except TrainError as e:
            raise CliError(str(e)) from None
    _render(result, as_json)


@contextmanager
def train_bar(description: str) -> Iterator:
    """A bar over optimizer steps with the latest loss and tokens/s; yields the `on_progress` hook."""
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    ]
    with bar_on_stderr(*columns) as bar:
        handle = bar.add_task(description, total=None, info="")

        def update(p: TrainProgress) -> None:
            loss = "" if p.loss is None else f"loss {p.loss:.4f}  "
            reward = "" if p.reward is None else f"reward {p.reward:.3f}  "
            bar.update(handle, completed=p.step, total=p.total,
                       info=f"{loss}{reward}{p.tokens_per_second:.0f} tok/s")

        yield update


def _quiet_libraries() -> None:
    """HF libraries print their own bars and deprecation notes; ours is the one bar shown
    (LESSONS_DEBUG=1 keeps theirs)."""
    if os.environ.get("LESSONS_DEBUG"):
        return
    import warnings

    import datasets
    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning)
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def _render(result: TrainResult, as_json: bool) -> None:
    payload = {
        "model": result.model_name, "path": result.path, "steps": result.steps, "train_loss": result.train_loss,
        "tokens": result.tokens, "tokens_per_second": result.tokens_per_second, "adapter_dir": result.adapter_dir,
        "resumed_from_step": result.resumed_from_step, "version_id": result.version_id,
    }
    if result.rewards_log:  # GRPO
        payload |= {"reward_before": result.reward_first, "reward_after": result.reward_last,
                    "rewards_log": result.rewards_log}
    if result.dense_layers is not None:  # --target-modules auto
        payload["dense_layers"] = result.dense_layers
    if as_json:
        emit_json(payload)
        return
    table = Table(title=f"model version {result.model_name}", show_header=False)
    table.add_row("steps", f"{result.steps}" + (f" (resumed at {result.resumed_from_step})" if result.resumed_from_step else ""))
    table.add_row("train loss", "-" if result.train_loss is None else f"{result.train_loss:.4f}")
    table.add_row("tokens", f"{result.tokens} at {result.tokens_per_second:.0f} tok/s")
    if result.rewards_log:
        table.add_row("reward", f"{_fmt(result.reward_first)} at the first step, {_fmt(result.reward_last)} at the last")
        table.add_row("rewards log", result.rewards_log)
    if result.dense_layers is not None:
        table.add_row("adapter on layers", ", ".join(map(str, result.dense_layers)) + " (error-dense)")
    table.add_row("merged model", result.path)
    table.add_row("adapter", result.adapter_dir)
    out.print(table)
    out.print(f"next: [bold]lessons eval --model {result.model_name} --suite arith[/bold]")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
