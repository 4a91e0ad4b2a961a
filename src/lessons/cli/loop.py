"""`lessons loop` (the whole loop, resumable) and `lessons report` (its HTML report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lessons.cli.app import (
    CliError, DbOption, EndpointOption, JsonOption, RayOption, bar_on_stderr, command, emit_json, err, open_store, out,
)
from lessons.formatting import ci_pct, ci_pts, pct, pts
from lessons.report.data import Figures, Headline, ReportData


def _mix(text: Optional[str]) -> Optional[dict[str, float]]:
    """`practice=0.5,correction=0.5` -> {"practice": 0.5, "correction": 0.5}."""
    if text is None:
        return None
    mix = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, share = item.partition("=")
        try:
            mix[kind.strip()] = float(share) if sep else 1.0
        except ValueError:
            raise CliError(f"--mix {text!r}: expected BUILDER=SHARE[,BUILDER=SHARE]") from None
    return mix


class _Bars:
    """One bar per stage: tasks for evaluation, steps for training, mistakes for diagnosis."""

    def __init__(self, progress: Progress):
        self.progress, self.task = progress, None

    def stage(self, round: int, stage: str, what: str) -> None:
        label = f"r{round} {stage}" if round else stage
        self.task = self.progress.add_task(f"{label}: {escape(what)}", total=None, info="")

    def skipped(self, round: int, stage: str) -> None:
        label = f"r{round} {stage}" if round else stage
        err.print(f"[dim]{label}: done before, skipped[/dim]")

    def eval_progress(self, p: Any) -> None:
        rate = f"{p.completion_tokens / p.elapsed_s:.0f} tok/s" if p.elapsed_s > 0 and p.completion_tokens else ""
        self.progress.update(self.task, completed=p.tasks_done, total=p.tasks_total, info=rate)

    def train_progress(self, p: Any) -> None:
        loss = "" if p.loss is None else f"loss {p.loss:.3f}"
        self.progress.update(self.task, completed=p.step, total=p.total, info=loss)

    def diagnose_progress(self, n: int, tokens: int) -> None:
        self.progress.advance(self.task, n)


@command("loop")
def loop_command(
    config: Optional[str] = typer.Option(None, "--config", "-c", help="YAML file of loop settings (flags override)."),
    name: Optional[str] = typer.Option(None, "--name", help="Loop name; the same name resumes the loop."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Base model (default: qwen2.5-coder-0.5b)."),
    suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Built-in suite or task file (default: arith)."),
    rounds: Optional[int] = typer.Option(None, "--rounds", min=1),
    train_tasks: Optional[int] = typer.Option(None, "--train-tasks", min=1, help="Train-split tasks per round."),
    heldout_tasks: Optional[int] = typer.Option(None, "--heldout-tasks", min=1, help="Held-out tasks judged."),
    mix: Optional[str] = typer.Option(None, "--mix", help="Lesson mix, e.g. practice=0.5,correction=0.5."),
    rows: Optional[int] = typer.Option(None, "--rows", min=1, help="Budget: lesson rows per round (both arms)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Budget: training steps per round (both arms)."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Prompts per generate call."),
    control: Optional[bool] = typer.Option(None, "--control/--no-control", help="Train the control arm (default: yes)."),
    solutions: Optional[str] = typer.Option(None, "--solutions", help="Practice/control completions: self (own, verified) or gold."),
    target_slices: Optional[int] = typer.Option(None, "--target-slices", min=0, help="Slices the round aims at (0: the five weakest share the budget)."),
    target_tasks: Optional[int] = typer.Option(None, "--target-tasks", min=1, help="Held-out tasks the target is judged on."),
    probe: Optional[int] = typer.Option(None, "--probe", min=0, help="Candidates whose failed train tasks are sampled before the target is chosen (0: by error rate alone)."),
    failures: Optional[bool] = typer.Option(None, "--failures/--no-failures", help="The target's failed train tasks are practice tasks too (default: yes)."),
    samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Solutions sampled per posed task (solutions: self)."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature of those solutions."),
    retry: Optional[int] = typer.Option(None, "--retry", min=0, help="More samples for each task none solved."),
    keep: Optional[int] = typer.Option(None, "--keep", min=1, help="Distinct verified solutions kept per task."),
    hint_share: Optional[float] = typer.Option(None, "--hint-share", help="Most rows from answer-hinted solves (0..1)."),
    dpo_steps: Optional[int] = typer.Option(None, "--dpo-steps", min=0, help="After SFT, DPO steps on pairs of each arm's own samples (0: SFT only)."),
    dpo_lr: Optional[float] = typer.Option(None, "--dpo-lr", help="Learning rate of those DPO steps."),
    method: Optional[str] = typer.Option(None, "--method", help="How both arms train: sft (default) or grpo (RL on prompts, the verifier's reward)."),
    training: Optional[bool] = typer.Option(None, "--train/--no-train", help="Train the arms (default), or teach in the prompt: error-aware prompt and error memory against same-length few-shot (default for openai: models)."),
    field: list[str] = typer.Option([], "--field", help="A task file's field mapping, as for lessons eval: question=Body+Question."),
    topics: Optional[int] = typer.Option(None, "--topics", min=0, help="A task file without labels: this many question topics as slice features (0: none)."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    endpoint: list[str] = EndpointOption,
    ray: Optional[str] = RayOption,
    out_dir: Optional[str] = typer.Option(None, "--out", help="Folder for lessons, models, report. Default: lessons-loops/<name>."),
    quick: bool = typer.Option(False, "--quick", help="A first look in under 10 minutes (smaller sizes)."),
    report: Optional[str] = typer.Option(None, "--report", help="Report path. Default: <out>/report.html."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Evaluate, diagnose, build lessons, train, and judge on held-out tasks against a control; resumable."""
    from lessons.loop import load_config, loop_report_data, run_loop
    from lessons.loop.run import Hooks
    from lessons.report import write_report
    from lessons.cli.train import _quiet_libraries

    overrides = {"name": name, "model": model, "suite": suite, "rounds": rounds, "train_tasks": train_tasks,
                 "heldout_tasks": heldout_tasks, "mix": _mix(mix), "rows": rows, "steps": steps,
                 "max_new_tokens": max_new_tokens, "batch_size": batch_size, "control": control, "solutions": solutions, "seed": seed,
                 "target_slices": target_slices, "target_tasks": target_tasks, "probe": probe, "failures": failures,
                 "samples": samples,
                 "temperature": temperature, "retry": retry, "keep": keep, "hint_share": hint_share,
                 "dpo_steps": dpo_steps, "dpo_lr": dpo_lr, "topics": topics, "training": training, "method": method,
                 "endpoints": list(endpoint) or None, "ray": ray,
                 "fields": _fields(field),
                 "out_dir": out_dir}
    cfg = load_config(config, overrides, "quick" if quick else None)
    store = open_store(db)
    _quiet_libraries()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
               TimeElapsedColumn()]
    err.print(f"[bold]loop {escape(cfg.name)}[/bold]: {escape(cfg.model)} on {escape(cfg.suite)}, "
              f"{cfg.rounds} round(s), {cfg.rows} rows / {cfg.steps} steps per arm -> {escape(str(cfg.root))}")
    with bar_on_stderr(*columns) as progress:
        bars = _Bars(progress)
        hooks = Hooks(stage=bars.stage, skipped=bars.skipped, eval_progress=bars.eval_progress,
                      train_progress=bars.train_progress, diagnose_progress=bars.diagnose_progress)
        run_loop(store, cfg, hooks)
    data = loop_report_data(store, cfg.name)
    path = Path(report) if report else cfg.root / "report.html"
    write_report(data, path)
    _render_headline(data, str(path.resolve()), as_json)


def _fields(items: list[str]) -> dict[str, str] | None:
    """`--field key=expression` pairs as the config's `fields` (checked when the suite loads)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CliError(f"--field {item!r}: expected KEY=FIELD, e.g. question=Body+Question")
        out[key.strip()] = value.strip()
    return out or None


def _render_headline(data: ReportData, path: str, as_json: bool) -> None:
    h = data.headline or Headline()
    if as_json:
        emit_json({**{k: None for k in ("target", "base", "treatment", "control", "advantage", "weak_slices", "tasks")},
                   **h.to_json(), "rounds": [r.to_json() for r in data.rounds or ()], "wall_s": data.wall_s, "report": path})
        return
    target = h.target
    if target:
        out.print(_arms_table(target, f"target {'; '.join(target.slices or [])}: {target.tasks} held-out tasks"))
        line = f"target: fixed {target.fixed}, new {target.new}"
        if target.advantage:
            line += f"; treatment - control {pts(target.advantage.delta)} {ci_pts(target.advantage.ci95)}"
        out.print(escape(line))
    out.print(_arms_table(h, f"held-out: {h.tasks or 0} tasks (a random sample)"))
    weak = h.weak_slices
    if weak:
        line = (f"weak slices ({weak.tasks} held-out tasks: {escape('; '.join(weak.slices or []))}): treatment "
                f"{pts(weak.treatment_delta)} {ci_pts(weak.treatment_delta_ci95)}")
        if weak.control_delta is not None:
            line += f", control {pts(weak.control_delta)} {ci_pts(weak.control_delta_ci95)}"
        out.print(line)
    if h.advantage:
        out.print(f"treatment - control: {pts(h.advantage.delta)} {ci_pts(h.advantage.ci95)}")
    out.print(f"report: [bold]{escape(path)}[/bold]")


def _arms_table(figures: Figures, title: str) -> Table:
    table = Table("arm", "model", "accuracy", "95% interval", "change", "95% interval", title=escape(title))
    for key, arm in figures.arms.items():
        change = "" if key == "base" else pts(arm.delta)
        ci = "" if key == "base" else ci_pts(arm.delta_ci95)
        table.add_row(key, escape(arm.name or ""), pct(arm.accuracy), ci_pct(arm.ci95), change, ci)
    return table


@command("report")
def report_command(
    target: str = typer.Argument(..., help="Loop name, or run name or id."),
    output: str = typer.Option("report.html", "--output", "-o", help="HTML file to write."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a self-contained HTML report of a loop or a run."""
    from lessons.loop import loop_report_data
    from lessons.report import write_report
    from lessons.report.run import run_report_data

    store = open_store(db)
    if store.loop(target) is not None:
        data = loop_report_data(store, target)
    elif store.find_run(target) is not None:
        data = run_report_data(store, target)
    else:
        raise CliError(f"no loop or run named {target!r} in {store.path}")
    write_report(data, output)
    if as_json:
        emit_json({"report": output, "title": data.title, "headline": data.headline.to_json() if data.headline else None})
        return
    out.print(f"report: [bold]{escape(output)}[/bold]")
