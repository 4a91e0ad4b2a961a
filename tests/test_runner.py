import pytest
from fakes import ListSuite, ScriptedBackend, solve, sum_tasks

from lessons.models.base import BackendError
from lessons.runner import EvalConfig, evaluate, select_tasks
from lessons.store import Store


@pytest.fixture
def store(tmp_path):
    return Store.open(tmp_path / "log.db")


def expected_wrong(tasks):
    return sum(1 for t in tasks if int(t.prompt.split()[2]) % 3 == 0)


def test_evaluate_logs_every_attempt_with_its_verdict(store):
    tasks = sum_tasks(12)
    result = evaluate(store, ScriptedBackend(solve), ListSuite(tasks), EvalConfig(batch_size=5))
    s = result.summary
    assert (s.attempts, s.mistakes) == (12, expected_wrong(tasks))
    assert s.accuracy == pytest.approx((12 - expected_wrong(tasks)) / 12)
    rows = store.attempts(s.run_id, mistakes_only=True)
    assert all(not r.correct and r.answer != r.gold for r in rows)
    assert store.get_run(s.run_name).status == "done"


def test_a_run_killed_halfway_resumes_without_duplicates_or_losses(store):
    tasks = sum_tasks(20)
    suite, config = ListSuite(tasks), EvalConfig(batch_size=4, run_name="r")
    # the third batch fails after finishing 2 of its 4 prompts (an endpoint going down)
    with pytest.raises(BackendError):
        evaluate(store, ScriptedBackend(solve, fail_on_call=2, partial=2), suite, config)
    run = store.get_run("r")
    assert run.status == "failed"
    assert len(store.attempts(run.id)) == 4 + 4 + 2
    again = ScriptedBackend(solve)
    result = evaluate(store, again, suite, config)
    assert sum(len(prompts) for prompts, _ in again.calls) == 20 - 10  # only the missing tasks
    assert result.summary.attempts == 20 and result.new_attempts == 10
    ids = [(r.task_id, r.sample) for r in store.attempts(run.id)]
    assert len(ids) == len(set(ids)) == 20
    # a third identical command is a no-op
    assert evaluate(store, ScriptedBackend(solve), suite, config).new_attempts == 0


def test_same_name_with_other_settings_is_refused(store):
    suite = ListSuite(sum_tasks(4))
    evaluate(store, ScriptedBackend(solve), suite, EvalConfig(run_name="r"))
    with pytest.raises(Exception, match="different"):
        evaluate(store, ScriptedBackend(solve), suite, EvalConfig(run_name="r", max_new_tokens=7))


def test_default_run_name_is_stable_so_the_same_command_resumes(store):
    suite = ListSuite(sum_tasks(4))
    a = evaluate(store, ScriptedBackend(solve), suite, EvalConfig())
    b = evaluate(store, ScriptedBackend(solve), suite, EvalConfig())
    assert a.summary.run_id == b.summary.run_id and b.new_attempts == 0
    c = evaluate(store, ScriptedBackend(solve), suite, EvalConfig(samples=2))
    assert c.summary.run_id != a.summary.run_id


def test_several_samples_give_pass_and_majority(store):
    tasks = sum_tasks(6)
    # sample 0 is wrong on every task, samples 1 and 2 are right: pass@1 = 2/3, maj@3 = 1
    def respond(chat, sample):
        text = solve(chat, wrong_every=1 if sample == 0 else 10**6)
        return text

    result = evaluate(store, ScriptedBackend(respond), ListSuite(tasks), EvalConfig(samples=3))
    s = result.summary
    assert s.attempts == 18
    assert s.pass_at_k["pass@1"] == pytest.approx(2 / 3)
    assert s.pass_at_k["pass@3"] == 1.0
    assert s.maj_at_k == 1.0


def test_extraction_failures_are_mistakes_kept_apart(store):
    texts = ["Step 1: thinking", "Answer: 33", "The answer is"] 
    result = evaluate(store, ScriptedBackend(texts), ListSuite(sum_tasks(3)), EvalConfig())
    s = result.summary
    assert s.mistakes == 2 and s.extraction_failures == 2 and s.correct == 1
    assert s.by_status == {"missing": 2, "ok": 1}


def test_truncated_responses_are_marked(store):
    backend = ScriptedBackend(["Step 1: 10 + 20 is"], finish_reason="length")
    s = evaluate(store, backend, ListSuite(sum_tasks(1)), EvalConfig()).summary
    assert s.by_status == {"truncated": 1}


def test_split_selection_takes_the_first_tasks_of_that_split():
    tasks = sum_tasks(40)
    suite = ListSuite(tasks)
    heldout = select_tasks(suite, "heldout", 3)
    assert [t.id for t in heldout] == [t.id for t in tasks if t.split == "heldout"][:3]
    assert len(select_tasks(suite, "all", 5)) == 5


def test_an_offset_takes_the_next_tasks_of_the_split_and_names_a_run_of_its_own():
    from lessons.runner import default_run_name
    from lessons.tasks import load_suite

    suite = load_suite("arith")
    first, second = select_tasks(suite, "train", 50), select_tasks(suite, "train", 50, offset=50)
    assert [t.id for t in second] == [t.id for t in select_tasks(suite, "train", 100)][50:]
    assert all(t.split == "train" for t in second) and not {t.id for t in first} & {t.id for t in second}
    assert [t.id for t in select_tasks(suite, "all", 5, offset=5)] == [t.id for t in suite.tasks(10)][5:]
    names = {default_run_name("m", "arith", EvalConfig(limit=50, offset=k), 50) for k in (0, 50)}
    assert len(names) == 2
    # runs named before offsets existed keep their names: offset 0 is not part of the name
    from dataclasses import asdict

    from lessons.store import content_id

    before = {k: v for k, v in asdict(EvalConfig(limit=50)).items() if k not in ("run_name", "offset")}
    assert default_run_name("m", "arith", EvalConfig(limit=50), 50) == f"m-arith-50-{content_id('m', 'arith', before)[:6]}"
