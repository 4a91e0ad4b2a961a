"""Diagnosing a run end to end: a scripted model makes planted mistakes on built-in tasks,
the run is diagnosed, and the log holds a type and a location for each."""

import pytest
from fakes import ScriptedBackend, WordHashEmbedder

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.pipeline import (
    DiagnoseConfig, diagnose_run, find_run_slices, find_run_suspects, taxonomy_view,
)
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite

N_TASKS = 48


def planted(chat, sample):
    """Gold solutions for every third task; the others get a wrong result in their first
    step (carried on), an empty reply, or no answer line."""
    question = chat[-1]["content"]
    task = TASKS[question]
    i = int(task.id[-3:])
    lines = [f"Step {k + 1}: {s.text}" for k, s in enumerate(task.steps)]
    if i % 3 == 0:
        return "\n".join(lines + [f"Answer: {task.answer}"])
    if i % 3 == 1:
        expr, _, value = task.steps[0].text.partition(" = ")
        lines[0] = f"Step 1: {expr} = {value.split()[0]}1"  # a false statement
        return "\n".join(lines[:1] + [f"Answer: {value.split()[0]}1"])
    return "" if i % 2 else "I think it is about a dozen."


SUITE = load_suite("arith")
TASKS = {t.prompt: t for t in SUITE.tasks(N_TASKS)}


@pytest.fixture
def run(tmp_path):
    store = Store.open(tmp_path / "log.db")
    result = evaluate(store, ScriptedBackend(planted), SUITE, EvalConfig(limit=N_TASKS, run_name="planted"))
    return store, store.get_run(result.summary.run_id)


def test_every_mistake_gets_a_type_and_planted_errors_are_located(run):
    store, record = run
    summary = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    assert summary.mistakes == 32 and summary.typed == 32
    diagnoses = {d.attempt_id: d for d in store.diagnoses(record.id)}
    assert len(diagnoses) == 32
    attempts = {a.id: a for a in store.attempts(record.id, mistakes_only=True)}
    for attempt_id, d in diagnoses.items():
        i = int(attempts[attempt_id].task_id[-3:])
        if i % 3 == 1:  # the planted false statement in step 1
            assert d.location.step == 0, (attempts[attempt_id].text, d)
            assert "calculation" in d.error_types
        elif attempts[attempt_id].text == "":
            assert d.error_types[0] == "no_attempt"
        else:
            assert d.error_types[0] == "format"
    assert summary.located == 16
    assert summary.clusters and sum(c.size for c in summary.clusters) == 32
    assert all(c.examples for c in summary.clusters)


def test_rediagnosing_is_idempotent_and_keeps_cluster_ids(run):
    store, record = run
    first = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    again = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    assert again.diagnosed_now == 0 and first.diagnosed_now == 32
    assert [(c.id, c.size) for c in first.clusters] == [(c.id, c.size) for c in again.clusters]
    assert store.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0] == 32
    forced = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(force=True), WordHashEmbedder())
    assert forced.diagnosed_now == 32
    assert store.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0] == 32


class FailingLocator(ArithLocator):
    """Dies on its second batch, like a killed process."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def locate(self, cases):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().locate(cases)


def test_a_killed_diagnosis_resumes_where_it_stopped(run):
    store, record = run
    with pytest.raises(KeyboardInterrupt):
        diagnose_run(store, record, FailingLocator(), DiagnoseConfig(batch_size=10), WordHashEmbedder())
    assert len(store.diagnoses(record.id)) == 10  # the first batch is in the log
    resumed = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(batch_size=10), WordHashEmbedder())
    assert resumed.diagnosed_now == 22 and len(store.diagnoses(record.id)) == 32


def test_taxonomy_view_lists_the_runs_clusters(run):
    store, record = run
    diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    views = taxonomy_view(store, record)
    assert {t for v in views for t in v.error_types} >= {"calculation", "format", "no_attempt"}
    members = store.cluster_members(record.id)
    assert all(set(v.examples) <= {a for a, c in members.items() if c == v.id} for v in views)


def test_slices_are_found_and_stored(run):
    store, record = run
    diagnose_run(store, record, ArithLocator(), DiagnoseConfig(cluster=False))
    views = find_run_slices(store, record)
    assert "mistake" in views
    stored = list(store.slices(record.id))
    assert len(stored) == sum(len(v) for v in views.values())


def test_suspects_need_agreeing_samples(tmp_path):
    store = Store.open(tmp_path / "log.db")
    wrong_always = lambda chat, s: "Step 1: think\nAnswer: 7"  # noqa: E731  (all samples agree on 7)
    result = evaluate(store, ScriptedBackend(wrong_always), SUITE, EvalConfig(limit=4, samples=3, run_name="s"))
    found = find_run_suspects(store, store.get_run(result.summary.run_id))
    assert len(found) == 4 and all(s.agreed_answer == "7" and s.agreement == 1.0 for s in found)


def test_a_second_run_joins_the_existing_clusters(run):
    store, first = run
    a = diagnose_run(store, first, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    result = evaluate(store, ScriptedBackend(planted), SUITE, EvalConfig(limit=N_TASKS, run_name="planted-again"))
    b = diagnose_run(store, store.get_run(result.summary.run_id), ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    assert {c.id for c in b.clusters} == {c.id for c in a.clusters}  # same mistakes, same clusters, none new
    sizes = {c.id: c.size for c in store.clusters()}
    assert sum(sizes.values()) == 64  # both runs' mistakes are members


MALFORMED = [
    "",
    "   \n\n  ",
    "no steps, no numbers, no answer",
    "Step 1: 12 × 3 = 36 " * 2500,  # 50,000 characters
    "第一步：３ × ４ ＝ １３ 🙂\nAnswer: １３",
    r"\[ \frac{3}{4} \times 8 = \frac{24}{4} = 7 \] \boxed{7}",
    "Answer: \\boxed{",
    "1. 5 ÷ 0 = ∞\n2. ((((((((((1+2\nAnswer: x",
]


def test_malformed_responses_never_crash_a_diagnosis_and_each_gets_a_type(tmp_path):
    store = Store.open(tmp_path / "log.db")
    texts = iter(MALFORMED)
    result = evaluate(store, ScriptedBackend(lambda chat, s: next(texts)), SUITE,
                      EvalConfig(limit=len(MALFORMED), run_name="malformed"))
    record = store.get_run(result.summary.run_id)
    summary = diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    assert summary.mistakes == len(MALFORMED) == summary.typed
    for d in store.diagnoses(record.id):
        assert d.error_types and all(0 <= s.start <= s.end for s in d.steps)


def test_one_method_with_other_arguments_keeps_both_diagnoses(run):
    """Rollout with 2 and with 4 samples are two diagnoses of each mistake, each recorded
    with its arguments; re-running either one replaces only its own."""
    from lessons.diagnose.locators import make_locator

    store, record = run
    backend = ScriptedBackend(lambda chat, sample: "Answer: 0")  # every rollout ends wrong
    config = DiagnoseConfig(cluster=False)
    two = diagnose_run(store, record, make_locator("rollout", backend, rollouts=2), config)
    four = diagnose_run(store, record, make_locator("rollout", backend, rollouts=4), config)
    assert two.diagnosed_now == four.diagnosed_now == 32
    rows = store.db.execute("SELECT args FROM diagnoses WHERE method = 'rollout'").fetchall()
    assert len(rows) == 64
    by_args = {a: store.diagnoses(record.id, "rollout", {**make_locator("rollout", backend).args, "rollouts": a})
               for a in (2, 4)}
    assert all(len(ds) == 32 and {d.method_args["rollouts"] for d in ds} == {a} for a, ds in by_args.items())
    again = diagnose_run(store, record, make_locator("rollout", backend, rollouts=2), config)
    assert again.diagnosed_now == 0
    assert store.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0] == 64
