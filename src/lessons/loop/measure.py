"""What a loop (or one run) showed, as the plain dict the HTML report renders.

Every figure comes from attempts in the log and names them: accuracies are over the
held-out runs' tasks (a task scores the share of its samples that are correct), intervals
are 95% bootstrap intervals over tasks, paired by task for differences; fixed, new and
persistent mistakes list the attempt ids before and after.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from lessons.diagnose.slices import Predicate, SliceSpec
from lessons.loop.stages import StageRecord, Trained, load_stages
from lessons.metrics import Outcomes, bootstrap_ci, outcomes, paired_bootstrap, task_scores
from lessons.store import Store
from lessons.store.db import AttemptRow

MAX_CHANGES = 40  # fixed and new mistakes shown with their before/after answers
EXAMPLES = 3  # per taxonomy cluster


Stages = Mapping[tuple[int, str], StageRecord]  # (round, stage) -> its record (stages.py)


def arm_model(stages: Stages, r: int, arm: str) -> str:
    """The model an arm ends round `r` with: its DPO version when the loop has one, else
    its SFT version."""
    trained: Trained = stages.get((r, f"dpo-{arm}")) or stages[(r, f"train-{arm}")]  # type: ignore[assignment]
    return trained.model


class Arm:
    """One held-out run: its attempts by task, scores and diagnoses."""

    def __init__(self, store: Store, run_name: str, model: str):
        self.run = store.get_run(run_name)
        self.name, self.model = run_name, model
        self.attempts = store.attempts(self.run.id)
        self.scores = task_scores(self.attempts)
        self.first: dict[str, AttemptRow] = {}  # task -> first sample
        self.first_wrong: dict[str, AttemptRow] = {}  # task -> first wrong sample
        for a in self.attempts:
            self.first.setdefault(a.task_id, a)
            if not a.correct:
                self.first_wrong.setdefault(a.task_id, a)
        self.types = {d.attempt_id: d.error_type for d in store.diagnoses(self.run.id)}

    def joined(self, other: "Arm", tasks: Sequence[str]) -> "Arm":
        """This arm's `tasks` together with all of `other`'s (the same model on the target's
        further held-out tasks): one arm to measure the target on."""
        out = object.__new__(Arm)
        out.run, out.name, out.model = self.run, self.name, self.model
        keep = set(tasks)
        out.attempts = [a for a in self.attempts if a.task_id in keep] + other.attempts
        out.scores = {t: v for t, v in self.scores.items() if t in keep} | other.scores
        out.first = {t: a for t, a in self.first.items() if t in keep} | other.first
        out.first_wrong = {t: a for t, a in self.first_wrong.items() if t in keep} | other.first_wrong
        out.types = self.types | other.types
        return out

    def solved(self, task: str) -> bool:
        return self.scores.get(task, 0.0) >= 0.5

    def error_type(self, task: str) -> str:
        wrong = self.first_wrong.get(task)
        return self.types.get(wrong.id, "undiagnosed") if wrong else "-"


def accuracy_figure(arm: Arm, tasks: Sequence[str], seed: int) -> dict[str, Any]:
    scores = np.array([arm.scores[t] for t in tasks], dtype=float)
    return {"name": arm.model, "run": arm.name, "accuracy": float(scores.mean()) if len(scores) else 0.0,
            "ci95": list(bootstrap_ci(scores, seed=seed))}


def _delta(a: Arm, b: Arm, tasks: Sequence[str], seed: int) -> tuple[float, list[float]]:
    sa = np.array([a.scores[t] for t in tasks], dtype=float)
    sb = np.array([b.scores[t] for t in tasks], dtype=float)
    if not len(tasks):
        return 0.0, [0.0, 0.0]
    return float(sb.mean() - sa.mean()), list(paired_bootstrap(sa, sb, seed=seed))


def loop_report_data(store: Store, name: str) -> dict[str, Any]:
    loop = store.loop(name)
    if loop is None:
        raise ValueError(f"no loop named {name!r} in {store.path}; `lessons runs` lists runs, which also take a report")
    config, stages = loop["config"], load_stages(store, name)
    seed = int(config.get("seed", 0))
    if (0, "heldout-base") not in stages:
        raise ValueError(f"loop {name!r} has not evaluated its base model yet: run `lessons loop` again to go on")
    base = Arm(store, stages[(0, "heldout-base")].run, config["model"])
    rounds = sorted({r for r, s in stages if r > 0 and s == "heldout-treatment"})
    data: dict[str, Any] = {
        "title": f"lessons loop {name}", "subtitle": f"{config['model']} on {config['suite']}",
        "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "config": config, "rounds": [], "runs": {"base": base.name},
        "wall_s": sum(v.wall_s for v in stages.values()),  # every stage, summed over resumes' last runs
    }
    for r in sorted({r for r, _ in stages if r > 0}):
        data["rounds"].append(_round_row(stages, r))
    if (1, "eval-train") in stages and (1, "diagnose") in stages:
        data["clusters"] = clusters(store, stages[(1, "eval-train")].run)
    if not rounds:  # base evaluated, nothing trained yet: what there is
        tasks = sorted(base.scores)
        data["headline"] = {"tasks": len(tasks), "base": accuracy_figure(base, tasks, seed)}
        data["error_types"] = type_rows(base, None, None, tasks)
        data["lineage"] = lineage(store, [config["model"]])
        return data
    last = rounds[-1]
    treat = Arm(store, stages[(last, "heldout-treatment")].run, arm_model(stages, last, "treatment"))
    control = None
    if (last, "heldout-control") in stages:
        control = Arm(store, stages[(last, "heldout-control")].run, arm_model(stages, last, "control"))
    arms = [base, treat] + ([control] if control else [])
    tasks = sorted(set.intersection(*(set(a.scores) for a in arms)))
    weak = list(dict.fromkeys(w.spec for r in rounds for w in stages[(r, "build")].weak_slices))  # once each, in order
    headline = figures({"base": base, "treatment": treat, "control": control}, tasks, seed)
    in_weak = [t for t in tasks if any(p.matches(base.first[t].metadata) for p in weak)]
    if weak:
        headline["weak_slices"] = _slice_gain(base, treat, control, in_weak, seed) | {
            "slices": [str(p) for p in weak]}
    if (last, "heldout-target") in stages:
        data["target"] = target_figures(store, stages, last, {"base": base, "treatment": treat, "control": control},
                                        tasks, seed)
        headline["target"] = {k: v for k, v in data["target"].items() if k not in ("changes", "error_types")}
    data["headline"] = headline
    data["runs"] |= {"treatment": treat.name} | ({"control": control.name} if control else {})
    data["slices"] = slice_rows(base, treat, control, tasks, weak, seed)
    data["error_types"] = type_rows(base, treat, control, tasks)
    data["changes"] = changes(base, treat, tasks, weak)
    data["lineage"] = lineage(store, [config["model"]] + [stages[(r, f"{kind}-{arm}")].model
                                                          for r in rounds for arm in ("treatment", "control")
                                                          for kind in ("train", "dpo") if (r, f"{kind}-{arm}") in stages])
    return data


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


def figures(arms: dict[str, Any], tasks: Sequence[str], seed: int) -> dict[str, Any]:
    """Accuracy of each arm with its interval; change from base and treatment - control,
    paired by task, with theirs. `arms` maps base/treatment/control to anything with
    `scores` (task -> share correct), `name` and `model`."""
    base = arms["base"]
    out: dict[str, Any] = {"tasks": len(tasks), "base": accuracy_figure(base, tasks, seed)}
    for key in ("treatment", "control"):
        if arms.get(key) is not None:
            delta, ci = _delta(base, arms[key], tasks, seed)
            out[key] = accuracy_figure(arms[key], tasks, seed) | {"delta": delta, "delta_ci95": ci}
    if arms.get("treatment") is not None and arms.get("control") is not None:
        delta, ci = _delta(arms["control"], arms["treatment"], tasks, seed)
        out["advantage"] = {"delta": delta, "ci95": ci}
    return out


def target_figures(store: Store, stages: Stages, r: int, arms: dict[str, Arm | None], sample: Sequence[str],
                   seed: int) -> dict[str, Any]:
    """The round's target (`target_arms`), shaped as the overall figures, then the
    target's fixed and new mistakes."""
    joined, tasks = target_arms(store, stages, r, arms, sample)
    inside = len([t for t in sample if t in set(joined["base"].scores)])
    out = {"slices": [s.name for s in stages[(r, "target")].slices], "from_sample": inside}
    out |= figures(joined, tasks, seed)
    out |= _outcomes(joined["base"], joined["treatment"], tasks)
    out["error_types"] = type_rows(joined["base"], joined["treatment"], joined.get("control"), tasks)
    return out


@dataclass
class _Pooled:
    """Scores of one arm over several loops; a task is (loop, task id)."""

    name: str
    model: str
    scores: dict[tuple[str, str], float] = field(default_factory=dict)


def pooled_figures(store: Store, names: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """The target and overall figures over several loops at once (seeds of one config):
    every loop's tasks count as tasks of their own, so the intervals are over all of them."""
    pooled: dict[str, dict[str, _Pooled]] = {"overall": {}, "target": {}}
    for name in names:
        loop = store.loop(name)
        if loop is None:
            raise ValueError(f"no loop named {name!r} in {store.path}")
        stages = load_stages(store, name)
        last = max(r for r, s in stages if s == "heldout-treatment")
        arms = {"base": Arm(store, stages[(0, "heldout-base")].run, loop["config"]["model"])}
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


def _round_row(stages: Stages, r: int) -> dict[str, Any]:
    """What the round did, stage by stage; None (or empty) for a stage it has not run."""
    at: Any = lambda stage: stages.get((r, stage))  # noqa: E731
    evaluated, built, target = at("eval-train"), at("build"), at("target")
    sft = {arm: at(f"train-{arm}") for arm in ("treatment", "control")}
    model = {arm: (at(f"dpo-{arm}") or sft[arm]).model if sft[arm] else None for arm in sft}
    return {
        "round": r, "train_run": evaluated.run if evaluated else None,
        "train_accuracy": evaluated.accuracy if evaluated else None,
        "mistakes": evaluated.mistakes if evaluated else None, "lessons": built.by_builder if built else {},
        "rows": built.rows if built else None, "control_rows": built.control_rows if built else None,
        "steps": sft["treatment"].steps if sft["treatment"] else None,
        "treatment_model": model["treatment"], "control_model": model["control"],
        "pairs": built.pairs.size if built and built.pairs else None,
        "treatment_loss": sft["treatment"].train_loss if sft["treatment"] else None,
        "control_loss": sft["control"].train_loss if sft["control"] else None,
        "wall_s": sum(v.wall_s for (rr, _), v in stages.items() if rr == r),
        "weak_slices": [str(w.spec) for w in built.weak_slices] if built else [],
        "target": [s.name for s in target.slices] if target else [],
        "posed": built.posed if built else {},
    }


def _slice_gain(base: Arm, treat: Arm, control: Arm | None, tasks: Sequence[str], seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"tasks": len(tasks), "base": accuracy_figure(base, tasks, seed)["accuracy"],
                           "treatment": accuracy_figure(treat, tasks, seed)["accuracy"]}
    out["treatment_delta"], out["treatment_delta_ci95"] = _delta(base, treat, tasks, seed)
    if control is not None:
        out["control"] = accuracy_figure(control, tasks, seed)["accuracy"]
        out["control_delta"], out["control_delta_ci95"] = _delta(base, control, tasks, seed)
        out["advantage"], out["advantage_ci95"] = _delta(control, treat, tasks, seed)
    return out


def slice_rows(base: Arm, treat: Arm | None, control: Arm | None, tasks: Sequence[str],
               weak: Iterable[SliceSpec], seed: int) -> list[dict[str, Any]]:
    """The round's weak slices, then every skill: accuracy of each arm with intervals and
    the fixed/new/persistent counts of the treatment."""
    groups: list[tuple[str, bool, list[str]]] = []
    for p in weak:
        groups.append((str(p), True, [t for t in tasks if p.matches(base.first[t].metadata)]))
    skills = sorted({base.first[t].skill for t in tasks if base.first[t].skill})
    named = {name for name, _, _ in groups}
    for skill in skills:  # a skill already listed as a weak slice is not listed twice
        name = str(Predicate.equal("skill", skill))
        if name not in named:
            groups.append((name, False, [t for t in tasks if base.first[t].skill == skill]))
    rows = []
    for name, is_weak, members in groups:
        if not members:
            continue
        row: dict[str, Any] = {"name": name, "weak": is_weak, "tasks": len(members)}
        for key, arm in (("base", base), ("treatment", treat), ("control", control)):
            if arm is not None:
                acc = accuracy_figure(arm, members, seed)
                row[key], row[f"{key}_ci95"] = acc["accuracy"], acc["ci95"]
        if treat is not None:
            row |= _outcomes(base, treat, members)
        rows.append(row)
    return rows


def _split(base: Arm, treat: Arm, tasks: Iterable[str]) -> Outcomes:
    return outcomes(tasks, base.solved, treat.solved)


def _outcomes(base: Arm, treat: Arm, tasks: Iterable[str]) -> dict[str, int]:
    return _split(base, treat, tasks).counts()


def type_rows(base: Arm, treat: Arm | None, control: Arm | None, tasks: Sequence[str]) -> list[dict[str, Any]]:
    """Mistakes per error type in each arm (Pareto order of the base); fixed and persistent
    mistakes counted under the base's type, new ones under the treatment's."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"base": 0, "treatment": 0, "control": 0, "fixed": 0,
                                                           "new": 0, "persistent": 0})
    for key, arm in (("base", base), ("treatment", treat), ("control", control)):
        if arm is None:
            continue
        for t in tasks:
            if not arm.solved(t):
                rows[arm.error_type(t)][key] += 1
    if treat is not None:
        split = _split(base, treat, tasks)
        for kind, members in (("fixed", split.fixed), ("persistent", split.persistent)):
            for t in members:
                rows[base.error_type(t)][kind] += 1
        for t in split.new:
            rows[treat.error_type(t)]["new"] += 1
    out = [{"type": k} | v for k, v in rows.items()]
    out.sort(key=lambda r: (-r["base"], -r["treatment"], r["type"]))
    if treat is None:
        out = [{"type": r["type"], "base": r["base"]} for r in out]
    return out


def changes(base: Arm, treat: Arm, tasks: Sequence[str], weak: Sequence[SliceSpec]) -> dict[str, Any]:
    def side(arm: Arm, t: str) -> dict[str, Any]:
        a = arm.first[t]
        return {"attempt_id": a.id, "answer": a.answer, "correct": a.correct, "response": a.text}

    def entry(t: str, kind: str) -> dict[str, Any]:
        a = base.first[t]
        hit = [str(p) for p in weak if p.matches(base.first[t].metadata)]
        named = hit[0] if hit else str(Predicate("skill", value=str(a.skill)))  # "skill=None" as before
        return {"task_id": t, "question": a.prompt, "gold": a.gold, "slice": named,
                "weak": bool(hit), "error_type": base.error_type(t) if kind == "fixed" else treat.error_type(t),
                "before": side(base, t), "after": side(treat, t)}

    split = _split(base, treat, tasks)
    fixed, new, persistent = split.fixed, split.new, split.persistent
    return {"fixed": [entry(t, "fixed") for t in fixed[:MAX_CHANGES]],
            "new": [entry(t, "new") for t in new[:MAX_CHANGES]],
            "fixed_total": len(fixed), "new_total": len(new), "persistent": len(persistent)}


def clusters(store: Store, run_name: str) -> list[dict[str, Any]]:
    from lessons.diagnose.pipeline import taxonomy_view

    run = store.get_run(run_name)
    out = []
    for view in taxonomy_view(store, run, examples=EXAMPLES):
        examples = []
        for attempt_id in view.examples:
            a = store.attempt(attempt_id)
            d = store.diagnosis_of(attempt_id)
            step = d.location.step if d is not None else None
            wrong = d.steps[step].text if d is not None and step is not None and step < len(d.steps) else None
            examples.append({"attempt_id": a.id, "task_id": a.task_id, "question": a.prompt, "response": a.text,
                             "wrong_step": wrong, "error_type": d.error_type if d else "undiagnosed",
                             "gold": a.gold, "answer": a.answer})
        out.append({"id": view.id, "name": view.name, "size": view.size, "terms": list(view.terms),
                    "error_types": view.error_types, "examples": examples})
    return out


def lineage(store: Store, names: Sequence[str]) -> list[dict[str, Any]]:
    versions: dict[str, dict[str, Any]] = {}
    for v in store.model_versions():  # a name trained here is the version with a lineage
        if v["name"] not in versions or v["lineage"]:
            versions[v["name"]] = v
    out = []
    for name in dict.fromkeys(names):
        v = versions.get(name)
        if v is None:
            out.append({"name": name, "base": None, "kind": "packaged", "lessons": None, "config": {},
                        "created_at": ""})
            continue
        lin = v["lineage"]
        lessons = lin.get("lesson_set") or None
        out.append({
            "name": name, "base": lin.get("base_model"), "kind": "trained" if lin else "packaged",
            "lessons": {"builder": lessons.get("builder"), "rows": lessons.get("rows"),
                        "content_hash": (lessons.get("content_hash") or "")[:12], "path": lessons.get("path")}
            if lessons else None,
            "config": {k: lin.get("train_config", {}).get(k) for k in ("method", "max_steps", "lora_r",
                                                                       "learning_rate", "batch_size")} if lin else {},
            "train_loss": lin.get("train_loss"), "created_at": v.get("created_at", ""),
        })
    return out
