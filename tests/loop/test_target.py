"""The target (chosen before training, by the lower bound of fixable errors), the sampled
own solutions both arms are built from, and repair rows (fix-and-continue)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from lessons.builders.source import LessonSource
from lessons.diagnose.base import Diagnosis, Location
from lessons.diagnose.steps import split_steps
from lessons.loop import loop_report_data, run_loop
from lessons.loop.repair import corrected_prefix, repairs
from lessons.loop.run import Hooks
from lessons.loop.solutions import HINT, Sampling, next_wave, solve
from lessons.loop.prefs import preference_pairs
from lessons.loop.target import choose, heldout_tasks, rank
from lessons.models.base import Completion
from lessons.prompts import templates
from lessons.records import RunComponents
from lessons.store import Store
from lessons.store.db import AttemptRow
from lessons.tasks import load_suite
from lessons.tasks.base import GoldStep, Task

from loop_fakes import WEAK, logged_task, skill_of, task_of


RUN = SimpleNamespace(id="run", components=RunComponents())  # what a source reads of its run
ARITH = LessonSource(RUN, templates.get("step-by-step"), {}, (), {})  # type: ignore[arg-type]  # judged as arith runs are


def _task(i: int, skill: str, answer: str = "12", steps=()) -> Task:
    return Task(f"t-{i}", f"Question {i} about {skill}?", answer, tuple(steps), {"skill": skill, "difficulty": 1})


def _attempt(n: int, task: Task, correct: bool, text: str = "Answer: 12", finish: str = "stop") -> AttemptRow:
    return AttemptRow(n, "run", task.id, 0, text, None, "ok", None, correct, "math", "", 10, 10, finish, None, 0.0,
                      "", task.prompt, task.answer, task.skill, "train", dict(task.metadata))


def _source(groups: dict[str, tuple[int, int, str]]) -> LessonSource:
    """skill -> (tasks, failed, error type of the failures): one attempt per task."""
    tasks, attempts, diagnoses = {}, [], {}
    for skill, (n, failed, error_type) in groups.items():
        for k in range(n):
            task = _task(len(tasks), skill)
            tasks[task.id] = task
            a = _attempt(len(attempts) + 1, task, correct=k >= failed)
            attempts.append(a)
            if not a.correct:
                diagnoses[a.id] = Diagnosis(a.id, (), Location(None, "arith", 0.5), (error_type,))
    return LessonSource(RUN, templates.get("step-by-step"), tasks, tuple(attempts), diagnoses)  # type: ignore[arg-type]


def test_the_target_counts_only_mistakes_training_can_fix():
    source = _source({"fractions": (20, 18, "truncated"), "division": (20, 12, "calculation"),
                      "addition": (20, 2, "calculation")})
    ranked = rank(source, min_tasks=8)
    assert ranked[0].predicates == {"skill": "division"} and ranked[0].fixable == 12
    assert all(s.predicates != {"skill": "fractions"} for s in ranked)  # its 18 mistakes were cut off
    assert choose(source)[0].predicates == {"skill": "division"}


def test_a_small_slice_that_always_fails_ranks_below_a_large_one_that_nearly_always_does():
    source = _source({"fractions": (4, 4, "calculation"), "division": (20, 18, "reasoning"),
                      "addition": (40, 4, "calculation")})
    ranked = rank(source, min_tasks=4)
    assert [s.predicates["skill"] for s in ranked[:2]] == ["division", "fractions"]
    assert ranked[1].error_rate == 1.0 > ranked[0].error_rate and ranked[0].lower > ranked[1].lower
    assert all(s.tasks >= 8 for s in rank(source, min_tasks=8))


def test_two_target_slices_do_not_overlap():
    source = _source({"fractions": (20, 18, "calculation"), "division": (20, 12, "calculation"),
                      "addition": (20, 2, "calculation")})
    chosen = choose(source, slices=2)
    assert [s.predicates for s in chosen] == [{"skill": "fractions"}, {"skill": "division"}]


def test_with_a_probe_the_target_is_the_slice_with_most_mistakes_the_model_can_already_avoid_sometimes():
    # fractions fail more often, but no sample ever solves them; division's are half reachable
    source = _source({"fractions": (20, 18, "calculation"), "division": (20, 14, "calculation"),
                      "addition": (20, 2, "calculation")})
    assert choose(source)[0].predicates == {"skill": "fractions"}  # by the error rate alone
    asked: list[list[str]] = []

    def probe(tasks):
        asked.append([t.id for t in tasks])
        return [_attempt(100 + i, t, t.metadata["skill"] == "division" and i % 2 == 0) for i, t in enumerate(tasks)]

    chosen = choose(source, probe=probe)
    failed = {s.predicates["skill"]: s.failed for s in rank(source, 8)}
    assert len(asked) == 1 and set(asked[0]) == set(failed["fractions"]) | set(failed["division"]) | set(
        failed["addition"])  # the failed train tasks of the best candidates, each once
    assert chosen[0].predicates == {"skill": "division"} and 0 < chosen[0].reached < chosen[0].fixable
    assert chosen[0].reach_lower < chosen[0].reached / chosen[0].attempts
    again = type(chosen[0]).from_json(chosen[0].to_json())
    assert again == chosen[0]  # recorded with the stage, read back by the build


def test_the_targets_heldout_tasks_are_heldout_in_the_slice_and_beyond_the_random_sample():
    suite = load_suite("arith")
    source = _source({"fractions": (20, 18, "calculation"), "division": (20, 2, "calculation")})
    target = choose(source)
    sample = [t.id for t in suite.tasks(400) if t.split == "heldout"][:64]
    in_sample = [t for t in suite.tasks(400) if t.id in set(sample) and t.skill == "fractions"]
    extra = heldout_tasks(suite, target, sample, 50, generator=True)
    assert len(extra) == 50 - len(in_sample) and in_sample
    assert all(t.split == "heldout" and t.skill == "fractions" and t.id not in sample for t in extra)
    assert len({t.id for t in extra}) == len(extra)


# -- sampled own solutions ------------------------------------------------------------------


def _sums(n: int) -> list[Task]:
    return [Task(f"s-{i}", f"What is {i} + {i}?", str(2 * i), (GoldStep(f"{i} + {i} = {2 * i}", str(2 * i)),))
            for i in range(1, n + 1)]


def test_solutions_retry_the_unsolved_hint_the_rest_and_keep_distinct_verified_ones_round_robin():
    a, b, c, d = _sums(4)
    calls: list[tuple[str, list[str], int]] = []

    def sample(name, tasks, n):
        calls.append((name, [t.id for t in tasks], n))
        out = []
        for t in tasks:
            i = int(t.id.split("-")[1])
            for k in range(n):
                right = f"Step 1: {i} + {i} = {2 * i}\nAnswer: {2 * i}" + " " * (k % 3)  # 3 layouts: one text
                if t.id == a.id:  # solved, in several distinct words, with one lucky false step and one cut off
                    texts = [right, f"{i} plus {i} is {2 * i}.\nAnswer: {2 * i}",
                             f"Step 1: {i} + {i} = {2 * i + 1}\nAnswer: {2 * i}", right + " more"]
                    text, finish = texts[k % 4], "length" if k % 4 == 3 else "stop"
                elif t.id == b.id:  # solved only when retried
                    text, finish = (right if "retry" in name else "Answer: 0"), "stop"
                elif t.id == c.id:  # solved only with the hint
                    text, finish = (right if HINT.split("{")[0] in t.prompt else "Answer: 0"), "stop"
                else:
                    text, finish = "Answer: 0", "stop"
                correct = text.strip().endswith(f"Answer: {2 * i}") or text.endswith(f"{2 * i} more")
                out.append(_attempt(len(out) + 100 * len(calls), t, correct, text, finish))
        return out

    got = solve(ARITH, [a, b, c, d], sample, Sampling(samples=4, retry=4, keep=2, hint_share=0.25), budget=8, kind="p",
                wave=4)
    assert [n for n, _, _ in calls] == ["p-w1", "p-retry", "p-hint"]
    assert calls[1][1] == [b.id, c.id, d.id] and calls[2][1] == [c.id, d.id]
    assert [(s.task.id, s.origin) for s in got] == [(a.id, "sampled"), (b.id, "retry"), (c.id, "hinted"),
                                                    (a.id, "sampled")]
    assert got[0].text != got[3].text  # distinct wording; the false step and the cut-off one were dropped
    assert all("Hint" not in s.task.prompt for s in got)  # rows train on the question as posed


def test_solutions_stop_posing_waves_once_the_budget_is_met():
    tasks = _sums(12)
    calls: list[str] = []

    def sample(name, posed, n):
        calls.append(name)
        return [_attempt(i, t, True, f"Step 1: {t.steps[0].text}\nAnswer: {t.answer}" + " " * k)
                for i, t in enumerate(posed) for k in range(n)]

    got = solve(ARITH, tasks, sample, Sampling(samples=2, retry=2, keep=1, hint_share=0.0), budget=4, kind="c", wave=4)
    assert calls == ["c-w1"] and len(got) == 4
    got = solve(ARITH, tasks, sample, Sampling(samples=2, retry=2, keep=1, hint_share=0.0), budget=10, kind="c", wave=4)
    assert calls[1:] == ["c-w1", "c-w2", "c-w3"] and len(got) == 10


def test_a_later_wave_is_sized_by_the_yield_so_far_for_what_is_missing():
    tasks = _sums(40)
    calls: list[tuple[str, int]] = []

    def sample(name, posed, n):  # every other task solved, once
        calls.append((name, len(posed)))
        return [_attempt(100 * len(calls) + i, t, int(t.id.split("-")[1]) % 2 == 0,
                         f"Step 1: {t.steps[0].text}\nAnswer: {t.answer}") for i, t in enumerate(posed)]

    got = solve(ARITH, tasks, sample, Sampling(samples=1, retry=0, keep=1, hint_share=0.0), budget=10, kind="c", wave=16)
    # 16 tasks gave 8 rows (half of them): 2 missing need 4 tasks, a quarter more to spare: 5,
    # but a pass of 5 costs nearly what one of 16 does: half a wave, 8
    assert calls == [("c-w1", 16), ("c-w2", 8)] and len(got) == 10
    assert next_wave(16, 10, 0, 16) == 16  # nothing solved yet: a whole wave
    assert next_wave(16, 30, 2, 16) == 16  # never more than a wave
    assert next_wave(16, 30, 24, 16) == 16 and next_wave(16, 9, 24, 16) == 8  # 1.25 * 9 * 16 / 24 = 7.5 -> 8
    assert next_wave(40, 9, 24, 16) == 20  # never less than half a wave


def test_the_shortest_verified_solutions_of_a_task_are_kept_first():
    (a,) = _sums(1)
    texts = ["Step 1: 1 + 1 = 2\nSo the sum of one and one is 2.\nAnswer: 2", "Step 1: 1 + 1 = 2\nAnswer: 2",
             "Step 1: 1 + 1 = 2\nThe sum is 2.\nAnswer: 2"]

    def sample(name, posed, n):
        return [_attempt(i, a, True, text) for i, text in enumerate(texts)]

    got = solve(ARITH, [a], sample, Sampling(samples=3, retry=0, keep=2, hint_share=0.0), budget=2, kind="p", wave=1)
    assert [s.text for s in got] == [texts[1], texts[2]]


def test_tasks_sampled_before_are_not_sampled_again_only_retried_with_the_rest_and_come_first():
    tasks = _sums(6)
    early, late = tasks[:2], tasks[2:]
    right = {t.id: f"Step 1: {t.steps[0].text}\nAnswer: {t.answer}" for t in tasks}
    drawn = {early[0].id: [_attempt(1, early[0], True, right[early[0].id])],  # solved by the probe
             early[1].id: [_attempt(2, early[1], False, "Answer: 0")]}  # not: it is retried
    calls: list[tuple[str, list[str]]] = []

    def sample(name, posed, n):
        calls.append((name, [t.id for t in posed]))
        return [_attempt(10 + i, t, True, right[t.id]) for i, t in enumerate(posed)]

    got = solve(ARITH, tasks, sample, Sampling(samples=2, retry=1, keep=1, hint_share=0.0), budget=4, kind="p", wave=2,
                drawn=drawn)
    # early[0] and late[0:2] give 3 rows of 4: a second wave; then the one retry pass, for early[1]
    assert calls == [("p-w1", [late[0].id, late[1].id]), ("p-w2", [late[2].id, late[3].id]),
                     ("p-retry", [early[1].id])]
    assert [s.task.id for s in got] == [t.id for t in tasks[:4]] and got[0].attempt_id == 1


def test_pairs_set_a_verified_own_solution_against_a_wrong_one_task_by_task():
    a, b, c, d = _sums(4)
    right = {t.id: f"Step 1: {t.steps[0].text}\nAnswer: {t.answer}" for t in (a, b, c, d)}
    attempts = [
        _attempt(1, a, True, right[a.id]), _attempt(2, a, False, "Step 1: ...\nAnswer: 0", "length"),
        _attempt(3, a, False, "Answer: 1"), _attempt(4, a, True, right[a.id] + " "),  # the same text, once
        _attempt(5, b, True, right[b.id]), _attempt(6, b, False, "Answer: 5"),
        _attempt(7, c, True, "Step 1: 1 + 1 = 3\nAnswer: " + c.answer), _attempt(8, c, False, "Answer: 9"),
        _attempt(9, d, True, right[d.id]), _attempt(10, d, True, right[d.id] + "\nDone."),  # never wrong
    ]
    pairs = preference_pairs([a, b, c, d], attempts, 10, ARITH, "treatment")
    # c's only "correct" sample states a false step: nothing verifies; d has nothing to reject
    assert [(p.provenance.task_id, p.provenance.attempt_ids) for p in pairs] == [(a.id, (1, 3)), (b.id, (5, 6)),
                                                                                (a.id, (1, 2))]
    assert pairs[0].row["prompt"] == ARITH.render(a) and pairs[0].row["chosen"][0]["content"] == right[a.id]
    assert pairs[2].provenance.detail["rejected"] == "length"  # the cut-off wrong answer after the finished one
    assert len(preference_pairs([a, b, c, d], attempts, 2, ARITH, "control")) == 2


def test_sft_then_dpo_trains_each_arm_on_pairs_of_its_own_samples_equal_in_number(world, deps, config):
    import dataclasses
    import json

    world.samples_solve = True  # samples of a weak task are right and wrong in turn: pairs for both arms
    store = Store.open(":memory:")
    state = run_loop(store, dataclasses.replace(config, dpo_steps=2), deps=deps)
    build = state.get(1, "build")
    assert build.pairs.size > 0
    rows = {arm: [json.loads(line) for line in open(f"{build.pairs.paths[arm]}/lessons.jsonl")]
            for arm in ("treatment", "control")}
    assert len(rows["treatment"]) == len(rows["control"]) == build.pairs.size
    assert all(skill_of(r["prompt"][-1]["content"]) == WEAK for r in rows["treatment"])  # the target's tasks
    for r in rows["treatment"] + rows["control"]:  # a right answer against a wrong one, same task
        content = r["prompt"][-1]["content"]
        task = task_of(content) or logged_task(store, content)
        assert r["chosen"][0]["content"].endswith(f"Answer: {task.answer}")
        assert not r["rejected"][0]["content"].endswith(f"Answer: {task.answer}")
    # DPO starts from the arm's SFT model, and the arm is judged as that DPO model
    assert world.train_calls == ["t-r1-treatment", "t-r1-treatment-dpo", "t-r1-control", "t-r1-control-dpo"]
    assert state.get(1, "dpo-treatment").model == "t-r1-treatment-dpo"
    assert store.get_run(state.get(1, "heldout-control").run).model_name == "t-r1-control-dpo"
    data = loop_report_data(store, "t")
    assert data.rounds[0].treatment_model == "t-r1-treatment-dpo" and data.rounds[0].pairs > 0


# -- repair: fix the first false step, let the model continue --------------------------------


def _mistake(text: str, task: Task) -> tuple[AttemptRow, Diagnosis]:
    from lessons.diagnose.arith_check import ArithLocator
    from lessons.diagnose.base import Case

    attempt = _attempt(1, task, False, text)
    steps = split_steps(text)
    where = ArithLocator().locate_one(Case(task.prompt, steps, task.answer, task.steps, response=text))
    return attempt, Diagnosis(1, steps, where, ("calculation",))


def test_repair_keeps_the_prefix_corrects_the_false_result_and_keeps_only_verified_continuations():
    task = Task("m-1", "What is 23 × 14?", "322", (GoldStep("23 * 10 = 230", "230"), GoldStep("23 * 4 = 92", "92"),
                                                    GoldStep("230 + 92 = 322", "322")), {"skill": "multiplication"})
    wrong = "Step 1: 23 * 10 = 230\nStep 2: 23 * 4 = 93\nStep 3: 230 + 93 = 323\nAnswer: 323"
    attempt, diagnosis = _mistake(wrong, task)
    prefix, claim = corrected_prefix(attempt, diagnosis)
    assert prefix == "Step 1: 23 * 10 = 230\nStep 2: 23 * 4 = 92" and claim.stated == "93"
    source = LessonSource(RUN, templates.get("step-by-step"), {task.id: task}, (attempt,),  # type: ignore[arg-type]
                          {attempt.id: diagnosis})
    seen = []

    def continuing(good):
        def go(chats):
            seen.extend(chats)
            text = "\nStep 3: 230 + 92 = 322\nAnswer: 322" if good else "\nStep 3: 230 + 92 = 312\nAnswer: 312"
            return [Completion(text, 1, 1, "stop")]
        return go

    rows = repairs(source, [task.id], continuing(True))
    assert seen[0][-1] == {"role": "assistant", "content": prefix}  # the model continues its own prefix
    assert len(rows) == 1 and rows[0].row["completion"][0]["content"] == prefix + "\nStep 3: 230 + 92 = 322\nAnswer: 322"
    assert rows[0].provenance.builder == "repair" and rows[0].provenance.attempt_ids == (attempt.id,)
    assert rows[0].row["prompt"] == source.render(task)
    assert repairs(source, [task.id], continuing(False)) == []  # a continuation that does not verify
    assert repairs(source, ["other"], continuing(True)) == []  # not a target task


def test_repair_cuts_at_the_false_statements_own_result_not_an_earlier_equal_number():
    task = Task("m-3", "What is 23 × 4?", "92", (GoldStep("23 * 4 = 92", "92"),), {"skill": "multiplication"})
    attempt, diagnosis = _mistake("Step 1: 100 - 7 = 93, and \\(23 \\times 4 = 93\\)\nAnswer: 93", task)
    prefix, claim = corrected_prefix(attempt, diagnosis)
    assert prefix == "Step 1: 100 - 7 = 93, and \\(23 \\times 4 = 92" and claim.stated == "93"


def test_a_mistake_without_a_false_statement_is_not_repaired():
    task = Task("m-2", "What is 23 × 14?", "322", (), {"skill": "multiplication"})
    attempt, diagnosis = _mistake("Step 1: 23 + 14 = 37\nAnswer: 37", task)
    assert corrected_prefix(attempt, diagnosis) is None


# -- the loop: target recorded before any lesson, judged with its own held-out tasks ---------


def test_the_loop_records_its_target_before_building_and_spends_the_practice_budget_there(world, deps, config):
    store = Store.open(":memory:")
    started: list[str] = []
    state = run_loop(store, config, Hooks(stage=lambda r, s, what: started.append(s)), deps)
    assert started.index("target") < started.index("build")
    target = state.get(1, "target").slices
    assert len(target) == 1 and target[0].lower > 0
    assert "skill=multiplication" in target[0].name or "n_steps=3" in target[0].name
    rows = state.get(1, "build")
    treatment = [line for line in open(f"{rows.treatment_path}/lessons.jsonl", encoding="utf-8")]
    assert treatment
    skills = Counter(skill_of(__import__("json").loads(r)["prompt"][-1]["content"]) for r in treatment)
    assert skills[WEAK] == len(treatment)  # the whole budget on the target


def test_the_probe_reaches_the_targets_failures_and_its_solutions_are_the_first_practice_rows(world, deps, config):
    import json

    world.samples_solve = True  # greedy answers stay wrong; a second sample of a weak task is right
    store = Store.open(":memory:")
    state = run_loop(store, config, deps=deps)
    chosen = state.get(1, "target")
    target, probe = chosen.slices[0], chosen.probe
    assert target.reached == target.fixable == len(target.failed) > 0  # every failure reached
    probed = store.get_run(probe.run_name)
    assert set(target.failed) <= set(probed.task_ids) and probe.samples == config.samples
    build = state.get(1, "build")
    provenance = [json.loads(line) for line in open(f"{build.treatment_path}/provenance.jsonl", encoding="utf-8")]
    failures = [p for p in provenance if p["detail"].get("task") == "train failure"]
    assert {p["task_id"] for p in failures} == set(target.failed)  # the model's own mistakes, solved
    probe_attempts = {a.id for a in store.attempts(probed.id)}
    assert all(p["detail"]["solution_attempt"] in probe_attempts for p in failures)  # not sampled again
    assert build.probed == probe.tasks * config.samples


def test_without_probe_or_failures_the_target_is_chosen_by_errors_and_practice_is_new_tasks_only(world, deps, config):
    import dataclasses
    import json

    world.samples_solve = True
    store = Store.open(":memory:")
    state = run_loop(store, dataclasses.replace(config, probe=0, failures=False), deps=deps)
    chosen = state.get(1, "target")
    assert chosen.probe is None and chosen.slices[0].reached is None
    build = state.get(1, "build")
    provenance = [json.loads(line) for line in open(f"{build.treatment_path}/provenance.jsonl", encoding="utf-8")]
    assert provenance and not any(p["detail"].get("task") == "train failure" for p in provenance)
    assert build.probed == 0


def test_the_report_puts_the_target_first_with_intervals_and_fixed_and_new_mistakes(world, deps, config):
    store = Store.open(":memory:")
    state = run_loop(store, config, deps=deps)
    data = loop_report_data(store, "t")
    t = data.headline.target
    judged = state.get(1, "heldout-target")
    assert t.tasks == config.target_tasks == judged.tasks + t.from_sample
    assert t.treatment.delta > t.control.delta and t.treatment.delta_ci95[0] > 0
    lo, hi = t.advantage.ci95
    assert lo <= t.advantage.delta <= hi and lo > 0
    assert t.fixed > 0 and t.new == 0
    from lessons.report import render_report

    html = render_report(data)
    assert html.index("On the target") < html.index("(a random sample)")  # the target comes first
    assert f"{t.tasks} held-out tasks" in html and t.slices[0] in html
    slices = [s.spec for s in state.get(1, "target").slices]
    heldout = store.get_run(judged.runs["base"])
    for task in store.tasks(heldout.suite_id, heldout.task_ids):
        assert task.split == "heldout" and any(p.matches(task.metadata) for p in slices)


def test_seeds_draw_their_own_train_tasks_share_the_heldout_runs_and_pool(world, deps, config, tmp_path):
    from lessons.loop.measure import pooled_figures

    store = Store.open(":memory:")
    first = run_loop(store, config, deps=deps)
    other = type(config)(**{**config.__dict__, "name": "t1", "seed": 1, "out_dir": str(tmp_path / "t1")})
    second = run_loop(store, other, deps=deps)
    train = [set(store.get_run(s.get(1, "eval-train").run).task_ids) for s in (first, second)]
    assert len(train[0]) == len(train[1]) == config.train_tasks and not train[0] & train[1]
    assert first.get(0, "heldout-base").run == second.get(0, "heldout-base").run
    pooled = pooled_figures(store, ["t", "t1"])
    one = [loop_report_data(store, n).headline for n in ("t", "t1")]
    assert pooled["overall"].tasks == sum(h.tasks for h in one)
    assert pooled["target"].tasks == sum(h.target.tasks for h in one)
    mean = sum(h.target.advantage.delta * h.target.tasks for h in one) / pooled["target"].tasks
    assert abs(pooled["target"].advantage.delta - mean) < 1e-9
    lo, hi = pooled["target"].advantage.ci95
    assert 0 < lo <= pooled["target"].advantage.delta <= hi
