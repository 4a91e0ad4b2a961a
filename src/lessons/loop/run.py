"""`run_loop`: rounds of evaluate (train split) -> diagnose -> build lessons -> train ->
evaluate (held-out), with a control arm trained on untargeted data of the same size.

Every stage is recorded in the mistake log when it finishes (`loop_stages`), so the same
command after a crash skips finished stages and resumes the one it was in: evaluation and
diagnosis resume where their logged batches stop, training from its last checkpoint.

    round 0   topics          with `topics`: the task file's question topics, as labels of its tasks
              heldout-base    the base model on the held-out tasks
    round r   eval-train      model_r on the train split (model_1 = base, then the treatment)
              diagnose        first wrong step, error types, taxonomy
              target          the slices this round aims at, chosen before any lesson exists
              build           treatment mix and control set, same row budget
              train-treatment model_r + treatment lessons -> <name>-r<r>-treatment
              dpo-treatment   with `dpo_steps`: then DPO on the arm's own pairs -> ...-treatment-dpo
              train-control   control_r + control lessons -> <name>-r<r>-control
              dpo-control     the same for the control, on pairs of its own tasks
              heldout-treatment, heldout-control
              heldout-target  base and both arms on the target's further held-out tasks
              diagnose-heldout   the held-out mistakes of every arm, for fixed/new by type
"""

from __future__ import annotations

import dataclasses
import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from lessons import faults
from lessons.deps import Deps  # the loop's parts (models, training, embedder) are made as every stage's are
from lessons.loop.config import LoopConfig, check_suite, suite_verifier
from lessons.loop.stages import (
    Built, Diagnosed, Evaluated, HeldoutDiagnosed, Judged, PairSets, Posed, Probe, StageRecord, Targeted, Topics,
    Trained,
    load_stages, stage_from_json, stage_to_json,
)
from lessons.store import Store, content_id
from lessons.tasks.base import SuiteInfo, Task, TaskList

GENERATORS = ("builtin:arith", "builtin:code")  # endless suites: the target's held-out tasks are drawn up to a number
STAGES = ("eval-train", "diagnose", "target", "build", "train-treatment", "dpo-treatment", "train-control",
          "dpo-control", "heldout-treatment", "heldout-control", "heldout-target", "diagnose-heldout")


class LoopMismatch(ValueError):
    """A loop of this name exists with other settings: resuming it would mix two experiments."""


@dataclass
class Hooks:
    """What the caller sees while the loop runs (all optional)."""

    stage: Callable[[int, str, str], None] | None = None  # (round, stage, what it does) when a stage starts
    skipped: Callable[[int, str], None] | None = None  # a stage finished before (resume)
    eval_progress: Callable[[Any], None] | None = None  # runner.Progress
    train_progress: Callable[[Any], None] | None = None  # train.TrainProgress
    diagnose_progress: Callable[[int, int], None] | None = None


@dataclass
class LoopState:
    config: LoopConfig
    done: dict[tuple[int, str], StageRecord] = field(default_factory=dict)

    def get(self, round: int, stage: str) -> Any:
        """The stage's record (`stages.py` says which record each stage makes)."""
        return self.done[(round, stage)]


def run_loop(store: Store, config: LoopConfig, hooks: Hooks | None = None, deps: Deps | None = None) -> LoopState:
    """Run (or resume) the loop; return every stage's output."""
    hooks, deps = hooks or Hooks(), deps or Deps()
    verifier = suite_verifier(config.suite, config.fields)
    check_suite(config, verifier == "tests")  # before anything runs (load_config checked a file's already)
    # the config's batch size is the loop's: every model it loads generates in batches of it
    # and an endpoint model is reached where the config says (several endpoints: through Ray)
    options = dataclasses.replace(deps.model_options, batch_size=config.batch_size)
    if config.endpoints:
        options = dataclasses.replace(options, endpoints=tuple(config.endpoints), ray=config.ray)
    deps = dataclasses.replace(deps, model_options=options)
    recorded = store.start_loop(config.name, config.identity(), str(config.root.resolve()))
    diff = config.differs(recorded)
    if diff:
        raise LoopMismatch(
            f"loop {config.name!r} was started with other settings ({', '.join(diff)} differ): run it with the "
            f"same config to resume, or choose another --name"
        )
    state = LoopState(config, load_stages(store, config.name))
    runner = _Stages(store, config, hooks, deps, state, verifier)
    if config.topics:
        runner.once(0, "topics", f"{config.topics} topics of the questions of {config.suite}", runner.topics)
    runner.once(0, "heldout-base", "base model on the held-out tasks",
                lambda: runner.evaluate(config.model, "heldout", config.heldout_tasks))
    for r in range(1, config.rounds + 1):
        runner.round(r)
    store.finish_loop(config.name)
    return state


class _Stages:
    def __init__(self, store: Store, config: LoopConfig, hooks: Hooks, deps: Deps, state: LoopState,
                 verifier: str = "math"):
        self.store, self.config, self.hooks, self.deps, self.state = store, config, hooks, deps, state
        self.verifier = verifier  # judges every attempt of the loop: the suite's (`tests` runs programs)
        self._embedder: Any = None
        self._posed: dict[str, int] = {}  # samples asked for in this build, by arm
        self._seen: dict[str, tuple[list[Task], list[Any]]] = {}  # its tasks and attempts, hints aside
        self._backends: dict[str, Any] = {}  # the model loaded in the current stage, by name
        self._prompts: dict[tuple[int, str], Any] = {}  # in-context lessons of a loop without training

    def once(self, round: int, stage: str, description: str, work: Callable[[], StageRecord]) -> Any:
        if (round, stage) in self.state.done:
            if self.hooks.skipped:
                self.hooks.skipped(round, stage)
            return self.state.get(round, stage)
        if self.hooks.stage:
            self.hooks.stage(round, stage, description)
        started = time.perf_counter()
        try:
            output = work()
        finally:
            self._backends.clear()  # a stage's models go with it: training needs the memory
            self._prompts.clear()
            gc.collect()
        wall = time.perf_counter() - started
        logged = stage_to_json(stage, output)
        self.store.save_stage(self.config.name, round, stage, logged, wall)
        faults.point("loop-stage")
        # read back from what was logged, so later stages see what they would see on a resume
        self.state.done[(round, stage)] = stage_from_json(stage, logged | {"wall_s": wall})
        return self.state.done[(round, stage)]

    # -- one round -----------------------------------------------------------------------

    def round(self, r: int) -> None:
        from lessons.loop.measure import arm_model

        c, name = self.config, self.config.name
        model = c.model if r == 1 else arm_model(self.state.done, r - 1, "treatment")
        control_base = c.model if r == 1 else arm_model(self.state.done, r - 1, "control")
        # each seed draws its own train tasks (seed 0 the split's first); the held-out ones stay
        evaluated = self.once(r, "eval-train", f"{model} on {c.train_tasks} train tasks",
                              lambda: self.evaluate(model, "train", c.train_tasks, c.seed * c.train_tasks))
        train_run = evaluated.run
        self.once(r, "diagnose", f"diagnose the mistakes of {train_run}", lambda: self.diagnose(train_run))
        self.once(r, "target", "choose the slices to aim at", lambda: self.choose_target(r, train_run))
        if c.training:
            built = self.once(r, "build", f"lessons: {', '.join(c.mix)} ({c.rows} rows) and the control set",
                              lambda: self.build(r, train_run))
        else:
            built = self.once(r, "build", "prompt lessons (error-aware prompt, error memory); few-shot control",
                              lambda: self.build_prompts(r, train_run))
        if not built.rows:
            raise RuntimeError(f"round {r}: the mix {dict(c.mix)} built no lessons from {train_run}; "
                               "evaluate more train tasks or change the mix")
        arms = ("treatment", "control") if c.control else ("treatment",)
        bases = {"treatment": model, "control": control_base}
        for arm in arms if c.training else ():
            sft = self.once(r, f"train-{arm}",
                            f"LoRA-train {bases[arm]} on {built.rows_of(arm)} {arm} rows, {c.steps} steps",
                            lambda arm=arm: self.train(bases[arm], built.lessons_path(arm), f"{name}-r{r}-{arm}"))
            if built.pairs and built.pairs.size:
                self.once(r, f"dpo-{arm}", f"DPO on {built.pairs.size} pairs of {arm} samples, {c.dpo_steps} steps",
                          lambda arm=arm, sft=sft: self.train(sft.model, built.pairs.paths[arm],
                                                              f"{name}-r{r}-{arm}-dpo", dpo=True))
        for arm in arms:
            trained, prompts = self.arm(r, arm)
            self.once(r, f"heldout-{arm}", f"{_label(trained, prompts)} on the held-out tasks",
                      lambda trained=trained, prompts=prompts: self.evaluate(trained, "heldout", c.heldout_tasks,
                                                                             lessons=prompts))
        runs = [self.state.get(0, "heldout-base").run] + [self.state.get(r, f"heldout-{a}").run for a in arms]
        if self.target(r):
            models = {"base": (c.model, None)} | {a: self.arm(r, a) for a in arms}
            judged = self.once(r, "heldout-target", f"{len(models)} models on the target's held-out tasks",
                               lambda: self.judge_target(r, models))
            runs += list(judged.runs.values())
        self.once(r, "diagnose-heldout", "diagnose the held-out mistakes of every arm",
                  lambda: HeldoutDiagnosed({run: self.diagnose(run, cluster=False) for run in runs}))

    # -- stages --------------------------------------------------------------------------

    def arm(self, r: int, arm: str) -> tuple[str, Any]:
        """The model an arm is judged as in round `r`, and the in-context lessons that
        prompt it: its trained model and none, or (without training) the base model with
        the round's prompt lessons (the treatment) or their few-shot control."""
        from lessons.loop.measure import arm_model

        c = self.config
        if c.training:
            return arm_model(self.state.done, r, arm), None
        if (r, arm) not in self._prompts:  # read once per stage, as a model is loaded
            from lessons.builders.in_context import LessonPrompts, load_in_context

            lessons = load_in_context(self.store, self.state.get(r, "build").treatment_path)
            self._prompts[(r, arm)] = LessonPrompts(lessons, self.embedder(),
                                                    "lessons" if arm == "treatment" else "few-shot", c.seed)
        return c.model, self._prompts[(r, arm)]

    def evaluate(self, model: str, split: str, limit: int, offset: int = 0, lessons: Any = None) -> Evaluated:
        """Evaluate under the runner's default run name (model, suite, settings, in-context
        lessons): loops that share a base model and sizes share its runs, and `lessons
        eval` with the same settings finds them too."""
        from lessons.runner import EvalConfig, evaluate

        c = self.config
        result = evaluate(
            self.store, self.backend(model), c.load_suite(),
            # greedy: the seed changes nothing, so loops of every seed share the base's runs
            EvalConfig(limit=limit, offset=offset, split=split, max_new_tokens=c.max_new_tokens, seed=0,
                       batch_size=c.batch_size, template=c.template, verifier=self.verifier),
            on_progress=self.hooks.eval_progress, lessons=lessons,
        )
        s = result.summary
        return Evaluated(run=s.run_name, run_id=s.run_id, model=_label(model, lessons), tasks=s.tasks,
                         accuracy=s.accuracy, mistakes=s.mistakes, tokens_per_second=result.tokens_per_second)

    def topics(self) -> Topics:
        """The task file's question topics (fitted on its train questions, k-means seed 0
        whatever the loop's seed, so loops of every seed share one suite and its base
        runs), written as the labels file `LoopConfig.load_suite` reads."""
        from lessons.diagnose.topics import write_topics

        c = self.config
        digest, sizes = write_topics(list(c.load_suite(labelled=False).tasks()), self.embedder(), c.topics,
                                     c.labels, {"suite": c.suite})
        return Topics(str(c.labels), digest, sizes)

    def diagnose(self, run_name: str, cluster: bool = True) -> Diagnosed:
        from lessons.diagnose import DiagnoseConfig, diagnose, needs_backend

        run = self.store.get_run(run_name)
        model = run.model_name if needs_backend(self.config.locator) else None  # the model judges itself
        # the loop's one embedder for every diagnosis and build (loading it is slow)
        deps = dataclasses.replace(self.deps, embedder=self.embedder)
        summary = diagnose(self.store, run, self.config.locator, deps, model, config=DiagnoseConfig(cluster=cluster),
                           progress=self.hooks.diagnose_progress)
        return Diagnosed(run=run_name, mistakes=summary.mistakes, typed=summary.typed, located=summary.located,
                         by_type=dict(summary.by_type), clusters=len(summary.clusters))

    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = self.deps.make_embedder()
        return self._embedder

    def resources(self) -> dict[str, Any]:
        """What the mix's builders take besides their options: the loop's embedder (prompt
        lessons), the backend of the teacher the practice options name (as `lessons build`)."""
        c = self.config
        made = {"embedder": self.embedder()} if "prompt" in c.mix else {}
        teacher = self.deps.make_teacher(c.options.get("practice") or {}, self.store) if "practice" in c.mix else None
        return made | ({"teacher": teacher} if teacher is not None else {})

    def choose_target(self, r: int, train_run: str) -> Targeted:
        """The target slices; with `solutions: self`, chosen after probing the best
        candidates' failed train tasks (target.py), the probe a run of its own."""
        from lessons.builders.source import load_source
        from lessons.loop import target

        c = self.config
        if not c.target_slices:
            return Targeted()
        source = load_source(self.store, train_run)
        probed: list[Probe] = []

        def probe(tasks: Sequence[Task]) -> list[Any]:
            posed = self.pose(source.run.model_name, f"probe-r{r}", tasks, c.samples)
            probed[:] = [Probe(posed.run_name, posed.run_id, tasks=len(tasks), samples=c.samples)]
            return self.store.attempts(posed.run_id)

        chosen = target.choose(source, c.target_slices, probe=probe if c.solutions == "self" else None,
                               probed=c.probe)
        return Targeted(tuple(chosen), probed[0] if probed else None)

    def target(self, r: int) -> list[Any]:
        return list(self.state.get(r, "target").slices)

    def target_tasks(self, r: int) -> list[Task]:
        """The target's held-out tasks beyond the random sample the arms are judged on."""
        from lessons.loop.target import heldout_tasks

        c = self.config
        target = self.target(r)
        if not target:
            return []
        suite = c.load_suite()
        sample = self.store.get_run(self.state.get(0, "heldout-base").run).task_ids
        return heldout_tasks(suite, target, sample, c.target_tasks, suite.info.source in GENERATORS)

    def judge_target(self, r: int, models: dict[str, tuple[str, Any]]) -> Judged:
        """Each arm's model (with its in-context lessons, if any) on the target's further
        held-out tasks."""
        tasks = self.target_tasks(r)
        runs = {arm: self.pose(model, f"target-r{r}", tasks, lessons=lessons).run_name
                for arm, (model, lessons) in models.items()}
        return Judged(runs, len(tasks))

    def build(self, r: int, train_run: str) -> Built:
        from lessons.builders.practice import weak_slices
        from lessons.builders.source import HeldOut, load_heldout, load_source
        from lessons.builders.write import LessonSetInfo, write_lesson_set
        from lessons.loop.mix import (
            FORMAT, Mix, Models, control_prompts, control_set, count_by_builder, rl_prompts, treatment_mix,
        )

        c = self.config
        self._posed, self._seen = {}, {}  # this build's own samples only
        source = load_source(self.store, train_run)
        extra = self.target_tasks(r)  # judged later: no lesson may pose them
        heldout = load_heldout(self.store, source.run)
        heldout = HeldOut(heldout.suite_id, heldout.task_ids | {t.id for t in extra},
                          heldout.prompts + tuple(t.prompt for t in extra))
        resources = self.resources()
        model = source.run.model_name
        probe = self.state.get(r, "target").probe
        drawn: dict[str, list[Any]] = {}
        for a in self.store.attempts(probe.run_id) if probe else ():
            drawn.setdefault(a.task_id, []).append(a)
        models = Models(sample=lambda kind, tasks, n: self.sample(model, f"{kind}-r{r}", tasks, n),
                        continue_=lambda chats: self.continue_(model, chats), drawn=drawn, backend=self.backend)
        if c.method == "grpo":  # prompts for RL: the trainer samples, the verifier rewards
            prompts = rl_prompts(source, heldout, c, self.target(r), models, resources)
            mix = Mix(tuple(prompts), count_by_builder(prompts), count_by_builder(prompts))
            control = control_prompts(source, heldout, c.load_suite(), len(prompts), c, r) if c.control else []
        else:
            mix = treatment_mix(source, heldout, c, r, self.target(r), resources, models)
            control = control_set(source, heldout, c.load_suite(), len(mix.lessons), c, r, models) if c.control else []
        form = "prompts" if c.method == "grpo" else FORMAT
        folder = c.root / f"r{r}"
        run_info = {"id": source.run.id, "name": source.run.name, "model": source.run.model_name,
                    "suite_id": source.run.suite_id, "template": source.template.name}
        treatment = write_lesson_set(mix.lessons, folder / "treatment-lessons", LessonSetInfo(
            "loop-mix", form, {"mix": dict(c.mix), "options": c.options, "rows": c.rows}, run_info), heldout)
        out = Built(
            rows=treatment.records, by_builder=count_by_builder(mix.lessons), built=dict(mix.built),
            treatment_path=treatment.path, treatment_hash=treatment.content_hash,
            weak_slices=tuple(weak_slices(source, 5)),
            posed={kind: self._posed.get(kind, 0) for kind in ("practice", "control")},
            probed=probe.tasks * probe.samples if probe else 0,
        )
        if c.control:
            written = write_lesson_set(control, folder / "control-lessons", LessonSetInfo(
                "loop-control", form, {"rows": len(mix.lessons), "draw": "random train tasks"}, run_info), heldout)
            out = dataclasses.replace(out, control_rows=written.records, control_path=written.path,
                                      control_hash=written.content_hash)
        if c.dpo_steps:
            out = dataclasses.replace(out, pairs=self.pairs(source, heldout, folder, run_info, drawn, self.target(r)))
        return out

    def build_prompts(self, r: int, train_run: str) -> Built:
        """Without training: the round's `prompt` lesson set, built from the train run's
        diagnosed mistakes. It prompts the treatment (`LessonPrompts`, arm "lessons") and,
        as plain few-shot of the same length, the control; both arms read the one set."""
        from lessons.builders.pipeline import build_lesson_set
        from lessons.builders.practice import weak_slices
        from lessons.builders.source import load_source

        c = self.config
        built = build_lesson_set(self.store, train_run, "prompt", c.root / f"r{r}" / "prompt-lessons",
                                 dict(c.options.get("prompt") or {}), embedder=self.embedder())
        report = built.report
        return Built(rows=report.records, treatment_path=report.path, treatment_hash=report.content_hash,
                     by_builder={"prompt": report.records}, built={"prompt": report.built},
                     weak_slices=tuple(weak_slices(load_source(self.store, train_run), 5)),
                     control_rows=report.records if c.control else None,
                     control_path=report.path if c.control else None,
                     control_hash=report.content_hash if c.control else None)

    def pairs(self, source: Any, heldout: Any, folder: Path, run_info: dict[str, Any],
              drawn: dict[str, list[Any]], target: Sequence[Any]) -> PairSets:
        """Each arm's preference pairs from the samples its build drew (prefs.py), the
        same number for both: enough for `dpo_steps` batches, or what the scarcer arm has."""
        from lessons.builders.write import LessonSetInfo, select_rows, write_lesson_set
        from lessons.loop.prefs import preference_pairs
        from lessons.train.config import TrainConfig

        c = self.config
        wanted = c.dpo_steps * int(c.train.get("batch_size", TrainConfig.batch_size)) * int(
            c.train.get("grad_accum", TrainConfig.grad_accum))  # one epoch of pairs
        tasks, attempts = self._seen.get("practice", ([], []))
        if c.failures:  # the target's failed train tasks were practised on the probe's samples
            failed = [source.tasks[t] for s in target for t in s.failed if t in drawn]
            tasks, attempts = failed + tasks, [a for t in failed for a in drawn[t.id]] + attempts
        sets = {"treatment": preference_pairs(tasks, attempts, wanted, source, "treatment")}
        if c.control:
            sets["control"] = preference_pairs(*self._seen.get("control", ([], [])), len(sets["treatment"]),
                                               source, "control")
        sets = {arm: select_rows(pairs, "preference", heldout)[0] for arm, pairs in sets.items()}
        size = min(len(p) for p in sets.values())
        paths: dict[str, str] = {}
        hashes: dict[str, str] = {}
        for arm, pairs in sets.items():
            written = write_lesson_set(pairs[:size], folder / f"{arm}-pairs", LessonSetInfo(
                "loop-pairs", "preference", {"arm": arm, "pairs": size}, run_info), heldout)
            paths[arm], hashes[arm] = written.path, written.content_hash
        return PairSets(size, paths, hashes)

    def pose(self, model: str, kind: str, tasks: Sequence[Task], samples: int = 1, lessons: Any = None) -> Posed:
        """Have `model` answer `tasks` in a run of its own (resumable): greedy for one
        sample, at the config's temperature for more, prompted with `lessons` (in-context
        lessons) if given. Returns the run's name and id."""
        from lessons.runner import EvalConfig, evaluate

        c = self.config
        ids = [t.id for t in tasks]
        temperature, seed = (c.temperature, c.seed) if samples > 1 else (0.0, 0)  # greedy needs no seed
        info = SuiteInfo(name=f"{kind}-tasks", version="1", source=f"loop:{c.name}", fingerprint=content_id(ids))
        # Named by what decides the answers, so loops that pose the same tasks share the run.
        decided = (model, ids, [t.prompt for t in tasks], samples, temperature, c.max_new_tokens, c.template, seed)
        if lessons is not None:
            decided += (dataclasses.asdict(lessons.component()),)
        run_name = f"{Path(model).name}-{kind}-{len(ids)}x{samples}-" + content_id(*decided)[:8]
        result = evaluate(
            self.store, self.backend(model), TaskList(info, tasks),
            EvalConfig(split="all", samples=samples, temperature=temperature, max_new_tokens=c.max_new_tokens,
                       seed=seed, batch_size=c.batch_size, template=c.template, run_name=run_name,
                       verifier=self.verifier),
            on_progress=self.hooks.eval_progress, lessons=lessons,
        )
        return Posed(result.summary.run_name, result.summary.run_id)

    def backend(self, model: str) -> Any:
        """`model`, loaded once per stage: a build poses a dozen sampling passes to the
        same model, and each load costs seconds."""
        if model not in self._backends:
            self._backends.clear()  # one model in memory at a time (the target stage judges three)
            gc.collect()
            self._backends[model] = self.deps.make_backend(model, self.store)
        return self._backends[model]

    def sample(self, model: str, kind: str, tasks: Sequence[Task], samples: int) -> list[Any]:
        """Every attempt of `samples` solutions of each task (see `solutions.solve`)."""
        if not tasks:
            return []
        base = kind.split("-")[0]
        self._posed[base] = self._posed.get(base, 0) + len(tasks) * samples
        attempts = self.store.attempts(self.pose(model, kind, tasks, samples).run_id)
        if "-hint" not in kind:  # a hinted prompt is not the prompt a pair would train on
            seen = self._seen.setdefault(base, ([], []))
            seen[0].extend(tasks)
            seen[1].extend(attempts)
        return attempts

    def continue_(self, model: str, chats: Sequence[Any]) -> list[Any]:
        """Greedy continuations of assistant prefixes (repair rows): deterministic, so a
        build that is killed and run again makes the same rows."""
        from lessons.models.base import SamplingParams

        c = self.config
        params = SamplingParams(n=1, temperature=0.0, max_new_tokens=c.max_new_tokens, seed=c.seed)
        backend = self.backend(model)
        out = []
        for i in range(0, len(chats), c.batch_size):
            out += [done[0] for done in backend.generate(list(chats[i:i + c.batch_size]), params)]
        return out

    def train(self, model: str, data: str, name: str, dpo: bool = False) -> Trained:
        from lessons.train import TrainConfig

        c = self.config
        steps = c.dpo_steps if dpo else c.steps
        # a checkpoint every quarter of the budget: a killed loop loses at most that much training
        sft = not dpo and c.method == "sft"
        train = {k: v for k, v in c.train.items() if sft or k != "mask_thought"}  # an SFT-only option
        settings = {"save_steps": max(1, steps // 4)} | train | ({"learning_rate": c.dpo_lr} if dpo else {})
        config = TrainConfig(method="dpo" if dpo else c.method, max_steps=steps, seed=c.seed, name=name,
                             output_dir=str(c.root / "models" / name), **settings)
        result = self.deps.run_train(model, data, config, on_progress=self.hooks.train_progress, store=self.store)
        gc.collect()
        return Trained(model=result.model_name, path=str(result.path), steps=result.steps,
                       train_loss=result.train_loss, tokens_per_second=result.tokens_per_second,
                       resumed_from_step=result.resumed_from_step)


def _label(model: str, lessons: Any) -> str:
    """How an arm is named: its model, and the in-context lessons that prompt it."""
    return model if lessons is None else f"{model} + {lessons.arm}"


def loop_root(store: Store, name: str) -> Path:
    row = store.loop(name)
    if row is None:
        raise ValueError(f"no loop named {name!r} in {store.path}")
    return Path(row.out_dir)
