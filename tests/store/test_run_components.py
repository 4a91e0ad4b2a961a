"""A run's components go to and from the log's JSON in one place, and logs written
before the record existed (or by a runner that recorded less) still load."""

import json

from lessons.records import (
    ModelComponent, RunComponents, Selection, SuiteComponent, TemplateComponent, VerifierComponent,
)
from lessons.store import Store

# What every shipped runner has written (runner._components, unchanged since the first schema).
SHIPPED = {
    "model": {"name": "m", "backend": "fake", "source": "here", "args": {"dtype": "bf16"}},
    "suite": {"name": "arith", "id": "arith@1:abc", "source": "builtin:arith", "args": {"seed": 3}},
    "template": {"name": "step-by-step", "id": "t1"},
    "verifier": {"name": "exact", "extract": ["answer_line", "last_number"]},
    "selection": {"split": "train", "limit": 20},
}


def test_the_shipped_json_reads_as_the_record_and_writes_back_unchanged():
    components = RunComponents.from_json(SHIPPED)
    assert components == RunComponents(
        ModelComponent("m", "fake", "here", {"dtype": "bf16"}),
        SuiteComponent("arith", "arith@1:abc", "builtin:arith", {"seed": 3}),
        TemplateComponent("step-by-step", "t1"),
        VerifierComponent("exact", ("answer_line", "last_number")),
        Selection("train", 20),
    )
    assert json.dumps(components.to_json(), sort_keys=True) == json.dumps(SHIPPED, sort_keys=True)


def test_missing_components_and_unknown_keys_read_as_defaults():
    components = RunComponents.from_json({"verifier": {"extract": None}, "suite": {"name": "s", "extra": 1}})
    assert components.verifier == VerifierComponent("math", ())
    assert components.suite == SuiteComponent(name="s")
    assert components.template.name == "" and components.selection == Selection("all", None)


def test_an_evaluated_run_reads_back_the_components_the_runner_recorded(tmp_path):
    from fakes import ListSuite, ScriptedBackend, solve, sum_tasks

    from lessons.runner import EvalConfig, evaluate

    store = Store.open(tmp_path / "log.db")
    config = EvalConfig(verifier="exact", extract=("answer_line",), split="all", limit=4)
    run = store.get_run(evaluate(store, ScriptedBackend(solve), ListSuite(sum_tasks(4)), config).summary.run_id)
    assert run.components.verifier == VerifierComponent("exact", ("answer_line",))
    assert run.components.selection == Selection("all", 4)
    assert run.components.template.id == run.template_id and run.components.suite.id == run.suite_id
    raw = store.db.execute("SELECT components FROM runs WHERE id = ?", (run.id,)).fetchone()[0]
    assert RunComponents.from_json(json.loads(raw)) == run.components
    assert json.loads(raw) == run.components.to_json()
