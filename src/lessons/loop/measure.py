"""What a loop showed, as the report's data (`ReportData`): its base and last round's
arms measured on the held-out tasks all of them answered, the target's figures, each
round's stages, and figures pooled over several loops. The figures of one arm, and how
they are computed from the log, are `lessons.report.figures`'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from lessons.diagnose.slices import SliceSpec
from lessons.loop.config import LoopConfig
from lessons.loop.stages import StageRecord, Trained, load_stages
from lessons.report.data import Advantage, Figures, Headline, ReportData, RoundRow, TargetFigures, WeakSlices
from lessons.report.figures import (
    Arm, accuracy_figure, changes, clusters, lineage, outcome_counts, paired_delta, slice_rows, type_rows,
)
from lessons.report.run import generated_now
from lessons.store import Store

Stages = Mapping[tuple[int, str], StageRecord]  # (round, stage) -> its record (stages.py)


def arm_model(stages: Stages, r: int, arm: str) -> str:
    """The model an arm ends round `r` with: its DPO version when the loop has one, else
    its SFT version; in a loop without training, the model as its held-out run named it
    (the base model and the in-context lessons that prompted it)."""
    trained: Trained | None = stages.get((r, f"dpo-{arm}")) or stages.get((r, f"train-{arm}"))  # type: ignore[assignment]
    if trained is None:
        return stages[(r, f"heldout-{arm}")].model  # type: ignore[attr-defined]
    return trained.model


def loop_report_data(store: Store, name: str) -> ReportData:
    loop = store.loop(name)
    if loop is None:
        raise ValueError(f"no loop named {name!r} in {store.path}; `lessons runs` lists runs, which also take a report")
    config, stages = LoopConfig.recorded(loop.config), load_stages(store, name)
    if (0, "heldout-base") not in stages:
        raise ValueError(f"loop {name!r} has not evaluated its base model yet: run `lessons loop` again to go on")
    base = Arm(store, stages[(0, "heldout-base")].run, config.model)
    diagnosed = (1, "eval-train") in stages and (1, "diagnose") in stages
    report = ReportData(
        title=f"lessons loop {name}", subtitle=f"{config.model} on {config.suite}",
        generated_at=generated_now(), config=dict(loop.config), runs={"base": base.name},
        wall_s=sum(v.wall_s for v in stages.values()),  # every stage, summed over resumes' last runs
        rounds=[_round_row(stages, r) for r in sorted({r for r, _ in stages if r > 0})],
        clusters=clusters(store, stages[(1, "eval-train")].run) if diagnosed else None,
    )
    seed = config.seed
    rounds = sorted({r for r, s in stages if r > 0 and s == "heldout-treatment"})
    if not rounds:  # base evaluated, nothing trained yet: what there is
        tasks = sorted(base.scores)
        return dataclasses.replace(report, headline=Headline(tasks=len(tasks), base=accuracy_figure(base, tasks, seed)),
                                   error_types=type_rows(base, None, None, tasks),
                                   lineage=lineage(store, [config.model]))
    return _with_arms(report, store, stages, base, rounds, seed)


def _with_arms(report: ReportData, store: Store, stages: Stages, base: Arm, rounds: Sequence[int],
               seed: int) -> ReportData:
    """The report with the last round's arms measured against the base on the tasks all
    of them answered: headline, target, slices, error types, fixed and new mistakes."""
    last = rounds[-1]
    treat = Arm(store, stages[(last, "heldout-treatment")].run, arm_model(stages, last, "treatment"))
    control = None
    if (last, "heldout-control") in stages:
        control = Arm(store, stages[(last, "heldout-control")].run, arm_model(stages, last, "control"))
    arms = [base, treat] + ([control] if control else [])
    tasks = sorted(set.intersection(*(set(a.scores) for a in arms)))
    weak = list(dict.fromkeys(w.spec for r in rounds for w in stages[(r, "build")].weak_slices))  # once each, in order
    overall = figures({"base": base, "treatment": treat, "control": control}, tasks, seed)
    in_weak = [t for t in tasks if any(p.matches(base.first[t].metadata) for p in weak)]
    weak_slices = _slice_gain(base, treat, control, in_weak, weak, seed) if weak else None
    target = None
    if (last, "heldout-target") in stages:
        target = target_figures(store, stages, last, {"base": base, "treatment": treat, "control": control}, tasks, seed)
    headline = Headline(**_fields(overall), weak_slices=weak_slices,
                        target=dataclasses.replace(target, error_types=None) if target else None)
    trained = [stages[(r, f"{kind}-{arm}")].model for r in rounds for arm in ("treatment", "control")
               for kind in ("train", "dpo") if (r, f"{kind}-{arm}") in stages]
    return dataclasses.replace(
        report, headline=headline, target=target,
        runs={**(report.runs or {}), "treatment": treat.name} | ({"control": control.name} if control else {}),
        slices=slice_rows(base, treat, control, tasks, weak, seed), error_types=type_rows(base, treat, control, tasks),
        changes=changes(base, treat, tasks, weak), lineage=lineage(store, [base.model] + trained))


def target_arms(store: Store, stages: Stages, r: int, arms: dict[str, Arm | None],
                sample: Sequence[str]) -> tuple[dict[str, Arm], list[str]]:
    """Each arm on the target: the random sample's target tasks joined with the round's
    further held-out tasks of the target; and the tasks every arm answered."""
    slices = [s.spec for s in stages[(r, "target")].slices]
    runs = stages[(r, "heldout-target")].runs
    base = arms["base"]
    if base is None:
        raise ValueError("the target is measured against the base arm")
    inside = [t for t in sample if any(p.matches(base.first[t].metadata) for p in slices)]
    joined = {k: a.joined(Arm(store, runs[k], a.model), inside) for k, a in arms.items() if a is not None and k in runs}
    return joined, sorted(set.intersection(*(set(a.scores) for a in joined.values())))


def figures(arms: dict[str, Any], tasks: Sequence[str], seed: int) -> Figures:
    """Accuracy of each arm with its interval; change from base and treatment - control,
    paired by task, with theirs. `arms` maps base/treatment/control to anything with
    `scores` (task -> share correct), `name` and `model`."""
    base = arms["base"]
    out: dict[str, Any] = {"tasks": len(tasks), "base": accuracy_figure(base, tasks, seed)}
    for key in ("treatment", "control"):
        if arms.get(key) is not None:
            delta, ci = paired_delta(base, arms[key], tasks, seed)
            out[key] = dataclasses.replace(accuracy_figure(arms[key], tasks, seed), delta=delta, delta_ci95=ci)
    if arms.get("treatment") is not None and arms.get("control") is not None:
        delta, ci = paired_delta(arms["control"], arms["treatment"], tasks, seed)
        out["advantage"] = Advantage(delta=delta, ci95=ci)
    return Figures(**out)


def _fields(figs: Figures) -> dict[str, Any]:
    """The fields of `figs`, to build a record that extends `Figures` from it."""
    return {f.name: getattr(figs, f.name) for f in dataclasses.fields(Figures)}


def target_figures(store: Store, stages: Stages, r: int, arms: dict[str, Arm | None], sample: Sequence[str],
                   seed: int) -> TargetFigures:
    """The round's target (`target_arms`), shaped as the overall figures, then the
    target's fixed and new mistakes and its error types."""
    joined, tasks = target_arms(store, stages, r, arms, sample)
    inside = len([t for t in sample if t in set(joined["base"].scores)])
    return TargetFigures(
        slices=[s.name for s in stages[(r, "target")].slices], from_sample=inside, **_fields(figures(joined, tasks, seed)),
        **outcome_counts(joined["base"], joined["treatment"], tasks),
        error_types=tuple(type_rows(joined["base"], joined["treatment"], joined.get("control"), tasks)))


@dataclass
class _Pooled:
    """Scores of one arm over several loops; a task is (loop, task id)."""

    name: str
    model: str
    scores: dict[tuple[str, str], float] = field(default_factory=dict)


def pooled_figures(store: Store, names: Sequence[str], seed: int = 0) -> dict[str, Figures]:
    """The target and overall figures over several loops at once (seeds of one config):
    every loop's tasks count as tasks of their own, so the intervals are over all of them."""
    pooled: dict[str, dict[str, _Pooled]] = {"overall": {}, "target": {}}
    for name in names:
        loop = store.loop(name)
        if loop is None:
            raise ValueError(f"no loop named {name!r} in {store.path}")
        stages = load_stages(store, name)
        last = max(r for r, s in stages if s == "heldout-treatment")
        arms = {"base": Arm(store, stages[(0, "heldout-base")].run, LoopConfig.recorded(loop.config).model)}
        for arm in ("treatment", "control"):
            if (last, f"heldout-{arm}") in stages:
                arms[arm] = Arm(store, stages[(last, f"heldout-{arm}")].run, arm_model(stages, last, arm))
        sample = sorted(set.intersection(*(set(a.scores) for a in arms.values())))
        views = {"overall": (arms, sample)}
        if (last, "heldout-target") in stages:
            views["target"] = target_arms(store, stages, last, dict(arms), sample)
        for view, (members, tasks) in views.items():
            for key, arm in members.items():
                into = pooled[view].setdefault(key, _Pooled(key, key))
                into.scores.update({(name, t): arm.scores[t] for t in tasks})
    out = {}
    for view, members in pooled.items():
        if members:
            tasks = sorted(set.intersection(*(set(a.scores) for a in members.values())))
            out[view] = figures(members, tasks, seed)
    return out


def _round_row(stages: Stages, r: int) -> RoundRow:
    """What the round did, stage by stage; None (or empty) for a stage it has not run."""
    at: Any = lambda stage: stages.get((r, stage))  # noqa: E731
    evaluated, built, target = at("eval-train"), at("build"), at("target")
    sft = {arm: at(f"train-{arm}") for arm in ("treatment", "control")}
    model = {arm: (at(f"dpo-{arm}") or sft[arm]).model if sft[arm] else None for arm in sft}
    return RoundRow(
        round=r, train_run=evaluated.run if evaluated else None,
        train_accuracy=evaluated.accuracy if evaluated else None,
        mistakes=evaluated.mistakes if evaluated else None, lessons=built.by_builder if built else {},
        rows=built.rows if built else None, control_rows=built.control_rows if built else None,
        steps=sft["treatment"].steps if sft["treatment"] else None,
        treatment_model=model["treatment"], control_model=model["control"],
        pairs=built.pairs.size if built and built.pairs else None,
        treatment_loss=sft["treatment"].train_loss if sft["treatment"] else None,
        control_loss=sft["control"].train_loss if sft["control"] else None,
        wall_s=sum(v.wall_s for (rr, _), v in stages.items() if rr == r),
        weak_slices=[str(w.spec) for w in built.weak_slices] if built else [],
        target=[s.name for s in target.slices] if target else [],
        posed=built.posed if built else {},
    )


def _slice_gain(base: Arm, treat: Arm, control: Arm | None, tasks: Sequence[str], weak: Sequence[SliceSpec],
                seed: int) -> WeakSlices:
    out: dict[str, Any] = {"tasks": len(tasks), "slices": [str(p) for p in weak],
                           "base": accuracy_figure(base, tasks, seed).accuracy,
                           "treatment": accuracy_figure(treat, tasks, seed).accuracy}
    out["treatment_delta"], out["treatment_delta_ci95"] = paired_delta(base, treat, tasks, seed)
    if control is not None:
        out["control"] = accuracy_figure(control, tasks, seed).accuracy
        out["control_delta"], out["control_delta_ci95"] = paired_delta(base, control, tasks, seed)
        out["advantage"], out["advantage_ci95"] = paired_delta(control, treat, tasks, seed)
    return WeakSlices(**out)
