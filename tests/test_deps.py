"""`lessons.deps.Deps`: each part made from a registered name or a given factory, and the
stage entry points that take it."""

import pytest
from fakes import ListSuite, ScriptedBackend, WordHashEmbedder, solve, sum_tasks

from lessons.builders import build
from lessons.deps import Deps
from lessons.diagnose import DiagnoseConfig, diagnose
from lessons.models import ModelOptions, models, resolve_model
from lessons.registry import UnknownName
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "log.db")
    evaluate(s, ScriptedBackend(solve), ListSuite(sum_tasks(30)), EvalConfig(run_name="sums"))
    yield s
    s.close()


def test_a_registered_model_name_gets_the_options_and_is_gone_after_the_test(register_model, store):
    seen = []
    register_model("scripted-judge", lambda name, options: seen.append(options) or ScriptedBackend(solve, name=name))
    options = ModelOptions(base_url="http://127.0.0.1:9/v1", batch_size=3)
    backend = Deps(model_options=options).make_backend("scripted-judge", store)
    assert backend.info.name == "scripted-judge" and seen == [options]
    assert "scripted-judge" in models and "scripted-judge" in str(pytest.raises(UnknownName, resolve_model, "x").value)


def test_a_name_unregistered_is_unknown_again():
    from lessons.registry import Registry

    things = Registry("thing")
    things.register("a", 1)
    assert "a" in things and things.get("a") == 1
    things.unregister("a")
    things.unregister("a")  # twice: no error
    assert "a" not in things and things.names() == []


def test_a_backend_factory_comes_before_every_name(store):
    made = []
    deps = Deps(backend=lambda name, s, options: made.append((name, options.batch_size)) or ScriptedBackend(solve))
    deps.make_backend("qwen2.5-coder-0.5b", store)
    assert made == [("qwen2.5-coder-0.5b", ModelOptions().batch_size)]


def test_the_embedder_is_a_factory_or_a_registered_name(fake_embedder):
    assert isinstance(Deps(embedder=WordHashEmbedder).make_embedder(), WordHashEmbedder)
    assert isinstance(Deps(embedder=fake_embedder).make_embedder(), WordHashEmbedder)
    with pytest.raises(UnknownName, match="minilm"):
        Deps(embedder="no-such-embedder").make_embedder()


@pytest.mark.parametrize("kind, options, wanted", [
    ("correction", {}, set()),  # takes nothing: nothing is made
    ("prompt", {}, {"embedder"}),
    ("practice", {}, {"teacher"}),  # no teacher named: None, which the builder reads as none
    ("practice", {"teacher": "scripted-teacher"}, {"teacher"}),
])
def test_a_builder_gets_only_the_resources_it_takes(register_model, store, kind, options, wanted):
    register_model("scripted-teacher", lambda name, o: ScriptedBackend(solve, name=name))
    made = Deps(embedder=WordHashEmbedder).builder_resources(kind, options, store)
    assert set(made) == wanted
    if kind == "practice":
        assert (made["teacher"] is not None) == bool(options)


def test_diagnose_makes_the_critic_from_its_model_name_and_names_clusters_with_it(register_model, store):
    def critic(chat, sample):
        prompt = chat[-1]["content"]
        return "Paragraph 0 is wrong. \\boxed{0}" if "[Solution]" in prompt else "Sums off by one"

    register_model("scripted-critic", lambda name, options: ScriptedBackend(critic, name=name))
    summary = diagnose(store, "sums", "critic", Deps(embedder=WordHashEmbedder), model="scripted-critic")
    assert summary.method == "critic" and summary.mistakes == summary.located > 0
    assert summary.clusters and {c.name for c in summary.clusters} == {"Sums off by one"}
    with pytest.raises(ValueError, match="needs a model backend"):
        diagnose(store, "sums", "critic", Deps(embedder=WordHashEmbedder), config=DiagnoseConfig(force=True))
    with pytest.raises(UnknownName, match="unknown locator 'guess'"):
        diagnose(store, "sums", "guess")


def test_build_makes_the_prompt_builders_embedder(store, tmp_path):
    diagnose(store, "sums", "arith", Deps(embedder=WordHashEmbedder))
    embedder = WordHashEmbedder()
    summary = build(store, "sums", "prompt", tmp_path / "prompt", deps=Deps(embedder=lambda: embedder))
    assert summary.report.records > 0 and embedder.calls > 0
