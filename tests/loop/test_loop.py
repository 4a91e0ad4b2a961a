"""The loop with scripted models: stages, budget, control, resume, measurement."""

from __future__ import annotations

import json

import pytest

from lessons.loop import LoopMismatch, load_config, loop_report_data, run_loop
from lessons.loop.mix import allocate
from lessons.loop.run import STAGES, Hooks
from lessons.store import Store

from loop_fakes import WEAK, skill_of


def _lesson_rows(path):
    return [json.loads(line) for line in open(f"{path}/lessons.jsonl", encoding="utf-8")]


def test_loop_trains_both_arms_on_the_same_budget_and_judges_them_on_the_same_heldout_tasks(world, deps, config):
    store = Store.open(":memory:")
    state = run_loop(store, config, deps=deps)
    build = state.get(1, "build")
    # the scripted model solves a third of the weak skill's new tasks: the 3 x 24 posed give
    # about 24; the hints go first to the target's failed train tasks, which it answers the
    # same way hinted or not
    assert config.rows - 7 <= build.rows == build.control_rows <= config.rows
    treatment, control = _lesson_rows(build.treatment_path), _lesson_rows(build.control_path)
    assert len(treatment) == len(control) == build.rows
    # targeted: the practice rows aim at the weak skill; the control rows are random train tasks
    weak_t = sum(skill_of(r["prompt"][-1]["content"]) == WEAK for r in treatment)
    weak_c = sum(skill_of(r["prompt"][-1]["content"]) == WEAK for r in control)
    assert weak_t >= len(treatment) / 4 > weak_c  # the fake trainer learns a skill from a quarter of the rows
    assert world.train_calls == ["t-r1-treatment", "t-r1-control"]
    base = store.get_run(state.get(0, "heldout-base").run)
    heldout_runs = [store.get_run(state.get(1, f"heldout-{arm}").run) for arm in ("treatment", "control")]
    assert [r.model_name for r in heldout_runs] == ["t-r1-treatment", "t-r1-control"]
    assert all(r.task_ids == base.task_ids for r in heldout_runs)
    assert all(t.split == "heldout" for t in store.tasks(base.suite_id, base.task_ids))
    assert not set(base.task_ids) & set(store.get_run(state.get(1, "eval-train").run).task_ids)


def test_a_second_loop_with_the_same_base_and_sizes_reuses_the_base_runs(world, deps, config, tmp_path):
    store = Store.open(":memory:")
    first = run_loop(store, config, deps=deps)
    sent: list[str] = []

    def counting(name, s, c):
        backend = world.backend(name, s, c)
        generate = backend.generate
        backend.generate = lambda prompts, params: sent.extend(p[-1]["content"] for p in prompts) or generate(
            prompts, params)
        return backend if name == "base-model" else world.backend(name, s, c)

    other = type(config)(**{**config.__dict__, "name": "u", "mix": {"practice": 1, "correction": 1},
                            "out_dir": str(tmp_path / "u")})
    second = run_loop(store, other, deps=type(deps)(backend=counting, train=deps.train, embedder=deps.embedder))
    for stage in ((0, "heldout-base"), (1, "eval-train")):
        assert second.get(*stage).run == first.get(*stage).run
        run = store.get_run(first.get(*stage).run)
        assert len(store.attempts(run.id)) == len(run.task_ids)
        # the base model answered none of these questions again
        assert not {a.prompt for a in store.attempts(run.id)} & {q for q in sent}


def test_measurement_shows_the_treatment_fixing_the_weak_slice_and_names_the_attempts(world, deps, config):
    store = Store.open(":memory:")
    run_loop(store, config, deps=deps)
    data = loop_report_data(store, "t")
    h = data.headline
    assert h.tasks == config.heldout_tasks
    weak = h.weak_slices
    assert any(WEAK in s for s in weak.slices)
    assert weak.treatment_delta_ci95[0] > 0  # the interval excludes zero
    assert weak.control_delta < weak.treatment_delta
    skill = next(s for s in data.slices if s.name == f"skill={WEAK}")
    assert skill.base < 0.5 and skill.treatment == 1.0  # the treatment learned it
    assert skill.control == skill.base  # the control did not
    assert h.treatment.delta > h.control.delta
    lo, hi = h.treatment.delta_ci95
    assert lo <= h.treatment.delta <= hi
    # every fixed mistake names its attempts before and after, and those attempts exist
    fixed = data.changes.fixed
    assert fixed and data.changes.fixed_total == len(fixed) and data.changes.new_total == 0
    for change in fixed:
        before, after = store.attempt(change.before.attempt_id), store.attempt(change.after.attempt_id)
        assert before.task_id == after.task_id == change.task_id
        assert not before.correct and after.correct
    types = {row.type: row for row in data.error_types}
    assert sum(r.fixed for r in types.values()) == len(fixed)
    assert skill.fixed == round(skill.tasks * (1 - skill.base)) and skill.new == 0
    assert [m.name for m in data.lineage] == ["base-model", "t-r1-treatment", "t-r1-control"]
    assert data.lineage[1].base == "base-model" and data.lineage[1].lessons.rows == data.rounds[0].rows


def test_killed_during_training_the_same_command_resumes_at_the_training_stage(world, deps, config):
    store = Store.open(":memory:")
    world.crash_on = "t-r1-treatment"
    started: list[tuple[int, str]] = []
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, config, Hooks(stage=lambda r, s, what: started.append((r, s))), deps)
    assert started[-1] == (1, "train-treatment")
    attempts_before = {r.name: len(store.attempts(r.id)) for r in store.runs()}
    resumed: list[tuple[int, str]] = []
    skipped: list[tuple[int, str]] = []
    run_loop(store, config, Hooks(stage=lambda r, s, what: resumed.append((r, s)),
                                  skipped=lambda r, s: skipped.append((r, s))), deps)
    assert skipped == [(0, "heldout-base"), (1, "eval-train"), (1, "diagnose"), (1, "target"), (1, "build")]
    assert resumed[0] == (1, "train-treatment")
    assert [s for _, s in resumed] == [s for s in STAGES if s not in ("eval-train", "diagnose", "target", "build")
                                       and not s.startswith("dpo-")]  # dpo_steps: 0
    # nothing evaluated before the crash was evaluated again
    for name, n in attempts_before.items():
        assert len(store.attempts(store.get_run(name).id)) == n
    # a finished loop run again does nothing
    again: list = []
    run_loop(store, config, Hooks(stage=lambda r, s, what: again.append(s)), deps)
    assert again == []


def test_a_loop_resumed_with_other_settings_is_refused(deps, config):
    store = Store.open(":memory:")
    store.start_loop(config.name, config.identity(), "x")
    changed = type(config)(**{**config.__dict__, "rows": config.rows + 1})
    with pytest.raises(LoopMismatch, match="rows"):
        run_loop(store, changed, deps=deps)


def test_a_loop_started_before_a_setting_existed_resumes_when_the_setting_is_at_its_default(deps, config):
    store = Store.open(":memory:")
    recorded = {k: v for k, v in config.identity().items() if k != "dpo_steps"}  # an older loop's record
    store.start_loop(config.name, recorded, "x")
    run_loop(store, config, deps=deps)
    assert store.stages(config.name)
    other = Store.open(":memory:")
    other.start_loop(config.name, recorded, "x")
    with pytest.raises(LoopMismatch, match="dpo_steps"):
        run_loop(other, type(config)(**{**config.__dict__, "dpo_steps": 2}), deps=deps)


def test_a_loops_record_gives_back_its_config_typed(config):
    store = Store.open(":memory:")
    recorded = {k: v for k, v in config.identity().items() if k != "dpo_steps"} | {"gone": 1}  # older, and newer
    store.start_loop(config.name, recorded, "out")
    loop = store.loop(config.name)
    assert (loop.name, loop.out_dir, loop.finished_at) == (config.name, "out", None)
    assert [r.name for r in store.loops()] == [config.name]
    again = type(config).recorded(loop.config)
    assert again.identity() == {**config.identity(), "dpo_steps": type(config)().dpo_steps}
    assert store.loop("other") is None


def test_allocate_splits_the_budget_by_share_and_hands_unfilled_rows_on():
    assert allocate({"a": 0.5, "b": 0.5}, {"a": 100, "b": 100}, 10) == {"a": 5, "b": 5}
    assert allocate({"a": 2, "b": 1}, {"a": 100, "b": 100}, 10) == {"a": 7, "b": 3}
    assert allocate({"a": 0.5, "b": 0.5}, {"a": 2, "b": 100}, 10) == {"a": 2, "b": 8}
    assert allocate({"a": 0.5, "b": 0.5}, {"a": 2, "b": 3}, 10) == {"a": 2, "b": 3}


def test_config_file_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: x\nrowz: 3\n")
    with pytest.raises(ValueError, match=r"loop.yaml: unknown loop settings \['rowz'\]"):
        load_config(path, {})
    path.write_text("name: x\nmix: {pairs: 1}\n")
    with pytest.raises(ValueError, match=r"loop.yaml: mix builder 'pairs'"):
        load_config(path, {})
    path.write_text("name: x\nsteps: 5\nmodel: m\n")
    config = load_config(path, {"rows": 7, "seed": None}, "quick")
    assert (config.steps, config.rows, config.seed, config.name) == (5, 7, 0, "x-quick")  # size > file; flag > size
    assert load_config(path, {"name": "y"}, "quick").name == "y"
    path.write_text("steps: 5\nmodel: ./models/My Model/\n")
    assert load_config(path, {}).name == "My-Model-arith"


@pytest.mark.parametrize(("text", "overrides", "message"), [
    # The file and line first, then what the parser expected, on one line.
    ("name: x\nrounds: [1,\n", {}, "{p}:3: not valid YAML (while parsing a flow node: "
                                    "expected the node content, but found '<stream end>')"),
    ("name: x\nrows: 3: 4\n", {}, "{p}:2: not valid YAML (mapping values are not allowed here)"),
    # A value out of range names the file it came from...
    ("name: x\nrounds: 0\n", {}, "{p}: rounds must be at least 1, got 0"),
    ("name: x\nsolutions: own\n", {}, "{p}: solutions 'own': use self or gold"),
    ("name: x\ntrain: {lora: 8}\n", {}, "{p}: train keys ['lora'] unknown; known: "),
    # ...and not the file when a flag gave it.
    ("name: x\nmix: {practice: 1}\n", {"mix": {"pairs": 1.0}}, "loop config: mix builder 'pairs'"),
])
def test_config_errors_are_one_line_naming_file_and_line(tmp_path, text, overrides, message):
    path = tmp_path / "loop.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_config(path, overrides)
    assert str(info.value).startswith(message.format(p=path))
    assert "\n" not in str(info.value)


def test_a_flag_mends_a_file_value_out_of_range(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: x\nrows: 0\n")
    assert load_config(path, {"rows": 3}).rows == 3
    assert load_config(path, {}, "quick").rows == 16  # a size's numbers beat the file


def write_problem(chat, sample):
    """A scripted teacher: a new problem with as many steps as the lead example, every number
    of its question used and the steps true (so it passes the builder's checks), new numbers
    for each problem and sample. "product of" makes it a lesson of the weak skill."""
    import re

    lead = chat[-1]["content"].split("Example 2:")[0]
    steps = len(re.findall(r"^Step \d+:", lead, re.M))
    i = int(re.search(r"This is problem (\d+) of", chat[-1]["content"]).group(1))
    a, b = 31 + 2 * i + 97 * sample, 3 + i % 7
    adds = [11 + 5 * k + i for k in range(steps - 1)]
    lines, value = [f"Step 1: {a} * {b} = {a * b}"], a * b
    for k, c in enumerate(adds, 2):
        lines.append(f"Step {k}: {value} + {c} = {value + c}")
        value += c
    question = f"Take the product of {a} and {b}" + "".join(f", then add {c}" for c in adds) + ". What is the result?"
    return "\n".join([f"Question: {question}", *lines, f"Answer: {value}"])


def test_a_practice_teacher_named_in_the_options_writes_the_treatments_new_tasks(world, deps, config):
    """`options.practice.teacher` names a model: the loop makes it through its Deps, as it
    makes every model, and the practice builder has it write the new tasks."""
    from dataclasses import replace

    from fakes import ScriptedBackend

    teacher = ScriptedBackend(write_problem, name="teacher-model")

    def backend(name, store, options):
        return teacher if name == "teacher-model" else world.backend(name, store, options)

    config = replace(config, options={"practice": {"teacher": "teacher-model"}})
    state = run_loop(Store.open(":memory:"), config, deps=replace(deps, backend=backend))
    assert teacher.calls  # asked once per target slice
    build = state.get(1, "build")
    provenance = [json.loads(line) for line in open(f"{build.treatment_path}/provenance.jsonl", encoding="utf-8")]
    by_teacher = [p for p in provenance if p["builder"] == "practice" and p["detail"].get("source") == "teacher"]
    assert by_teacher and all(p["detail"]["teacher"] == "teacher-model" for p in by_teacher)
    rows = {r["prompt"][-1]["content"]: r for r in _lesson_rows(build.treatment_path)}
    assert sum("Take the product of" in prompt for prompt in rows) == len(by_teacher)  # the teacher's own questions


def test_a_random_share_gives_the_treatment_rows_drawn_as_the_controls_are(world, deps, config, tmp_path):
    store = Store.open(":memory:")
    mixed = type(config)(**{**config.__dict__, "name": "r", "mix": {"practice": 0.5, "random": 0.5},
                            "out_dir": str(tmp_path / "r")})
    build = run_loop(store, mixed, deps=deps).get(1, "build")
    treatment, control = _lesson_rows(build.treatment_path), _lesson_rows(build.control_path)
    assert build.by_builder.get("random", 0) >= build.rows // 2 - 2 and build.by_builder.get("practice", 0) > 0
    prompts = {json.dumps(r["prompt"]) for r in control}
    # the random rows are among the control's own tasks (the same draw and procedure)
    assert sum(json.dumps(r["prompt"]) in prompts for r in treatment) >= build.by_builder["random"]
    assert len(treatment) == len(control)
