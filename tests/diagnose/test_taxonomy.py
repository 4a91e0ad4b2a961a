import numpy as np
import pytest
from fakes import WordHashEmbedder

from lessons.diagnose.base import Cluster, Step
from lessons.diagnose.taxonomy import (
    CachingEmbedder,
    MiniLMEmbedder,
    TaxonomyConfig,
    TaxonomyItem,
    build_taxonomy,
    describe_mistake,
    mistake_step_text,
    update_taxonomy,
)


def items_of(kind, n, start=0):
    """Three families of mistakes that read alike within a family."""
    texts = {
        "mul": ("calculation",), "sub": ("copied_value",), "unit": ("unit",),
    }
    steps = {
        "mul": "Step {i}: Multiply the numbers: {a} × {b} = {c} apples",
        "sub": "Step {i}: Subtract what she spent: {a} - {b} = {c} dollars left",
        "unit": "Step {i}: Convert hours to minutes: {a} hours × {b} = {c} minutes",
    }
    skill = {"mul": "multiplication", "sub": "word_problem", "unit": "unit_conversion"}[kind]
    return [
        TaxonomyItem(f"{kind}-{start + j}", steps[kind].format(i=j % 4 + 1, a=j + 3, b=j * 7 + 2, c=j * 13),
                     texts[kind], skill)
        for j in range(n)
    ]


def test_description_masks_numbers_and_labels():
    a = describe_mistake("Step 2: 7 × 8 = 54", ("calculation",), "multiplication")
    b = describe_mistake("Step 11: 6 × 9 = 52", ("calculation",), "multiplication")
    assert a == b == "calculation | multiplication | N × N = N"
    assert "1,234.5" not in describe_mistake("pay $1,234.50 now", (), None)
    assert describe_mistake("", (), None) == "unknown | unknown skill | "
    assert len(describe_mistake("x" * 50_000, ("reasoning",), "s")) < 400


def test_mistake_step_text_picks_located_or_last_step():
    steps = (Step(0, "a", 0, 1), Step(1, "b", 2, 3))
    assert mistake_step_text(steps, 0) == "a"
    assert mistake_step_text(steps, None) == mistake_step_text(steps, 7) == "b"
    assert mistake_step_text((), None) == ""


def test_families_form_clusters_with_names_and_examples():
    items = items_of("mul", 40) + items_of("sub", 30) + items_of("unit", 20)
    embedder = WordHashEmbedder()
    result = build_taxonomy(items, embedder, TaxonomyConfig())
    assert embedder.texts == result.unique_descriptions < len(items)  # masked: duplicates embedded once
    by_family = {}
    for key, cid in result.assignments.items():
        by_family.setdefault(key.split("-")[0], set()).add(cid)
    assert all(len(ids) == 1 for ids in by_family.values()), by_family
    assert len({next(iter(ids)) for ids in by_family.values()}) == 3
    clusters = {c.id: c for c in result.clusters}
    assert sum(c.size for c in result.clusters) == len(items)
    unit = clusters[next(iter(by_family["unit"]))]
    assert "unit" in unit.terms or "minutes" in unit.terms or "hours" in unit.terms, unit.terms
    assert unit.name and 3 <= len(unit.terms) <= 4 and unit.examples[0].startswith("unit-")
    assert unit.centroid.dtype == np.float32 and abs(float(np.linalg.norm(unit.centroid)) - 1) < 1e-5


def test_stability_old_ids_and_assignments_kept_rerun_identical():
    embedder = CachingEmbedder(WordHashEmbedder())
    config = TaxonomyConfig()
    first_items = items_of("mul", 40) + items_of("sub", 30)
    first = build_taxonomy(first_items, embedder, config)

    more = first_items + items_of("mul", 10, start=100) + items_of("unit", 25)
    second = update_taxonomy(first.clusters, more, embedder, config)
    for key, cid in first.assignments.items():
        assert second.assignments[key] == cid  # old items never move
    old_ids = {c.id for c in first.clusters}
    assert {c.id for c in second.clusters} >= old_ids
    assert all(second.assignments[f"mul-{100 + j}"] in old_ids for j in range(10))  # joins the old family
    unit_ids = {second.assignments[f"unit-{j}"] for j in range(25)}
    assert unit_ids <= set(second.new_cluster_ids) and min(unit_ids) > max(old_ids)
    for c_old in first.clusters:  # centroids and names of old clusters are fixed
        c_new = next(c for c in second.clusters if c.id == c_old.id)
        assert np.array_equal(c_old.centroid, c_new.centroid) and c_old.name == c_new.name

    again = update_taxonomy(second.clusters, more, embedder, config)
    assert again.assignments == second.assignments and again.new_cluster_ids == ()
    assert [(c.id, c.name, c.size, c.examples) for c in again.clusters] == [
        (c.id, c.name, c.size, c.examples) for c in second.clusters
    ]
    # A fresh build on the same items is deterministic too.
    assert build_taxonomy(first_items, WordHashEmbedder(), config).assignments == first.assignments


def test_caching_embedder_embeds_each_text_once():
    inner = WordHashEmbedder()
    cached = CachingEmbedder(inner)
    a = cached.embed(["x y", "x y", "z"])
    b = cached.embed(["z", "x y"])
    assert inner.texts == 2 and np.array_equal(a[2], b[0])
    assert cached.embed([]).shape == (0, 64)


def test_small_and_odd_inputs():
    embedder = WordHashEmbedder()
    empty = build_taxonomy([], embedder)
    assert empty.clusters == () and empty.assignments == {}
    one = build_taxonomy([TaxonomyItem("a", "", (), None)], embedder)
    assert [c.size for c in one.clusters] == [1] and one.assignments == {"a": 0}
    odd = [TaxonomyItem(str(i), t, ("reasoning",), "s") for i, t in enumerate(
        ["", "∑ ∫ 🍎 中文", "\\frac{1}{2} = 0.5", "1 2 3 4", "x" * 50_000, "?"])]
    result = build_taxonomy(odd, embedder)
    assert set(result.assignments) == {str(i) for i in range(6)}
    with pytest.raises(ValueError, match="embedder"):
        update_taxonomy(result.clusters, odd, WordHashEmbedder(dim=32))


def test_namer_labels_new_clusters():
    seen = []

    def namer(terms, examples):
        seen.append((tuple(terms), tuple(examples)))
        return "LLM: " + terms[0]

    result = build_taxonomy(items_of("mul", 20) + items_of("unit", 20), WordHashEmbedder(), namer=namer)
    assert all(c.name.startswith("LLM: ") for c in result.clusters)
    assert len(seen) == len(result.clusters) and all(" | " in e for _, ex in seen for e in ex)


def test_real_minilm_groups_similar_mistakes():
    texts = [
        ("Step 1: 7 × 8 = 54", ("calculation",), "multiplication"),
        ("Step 2: 12 × 9 = 106", ("calculation",), "multiplication"),
        ("Step 1: 6 × 7 = 43", ("calculation",), "multiplication"),
        ("Step 1: 23 × 4 = 91", ("calculation",), "multiplication"),
        ("Step 1: 5 hours = 5 × 100 = 500 minutes", ("unit",), "unit_conversion"),
        ("Step 1: 3 km = 3 × 100 = 300 meters", ("unit",), "unit_conversion"),
        ("Step 1: 2 kg = 2 × 100 = 200 grams", ("unit",), "unit_conversion"),
        ("Step 1: 4 hours = 4 × 100 = 400 minutes", ("unit",), "unit_conversion"),
        ("I'm sorry, but I can't help with that.", ("no_attempt",), None),
        ("I cannot solve this problem.", ("no_attempt",), None),
        ("I don't know.", ("no_attempt",), None),
        ("Sorry, I am unable to answer.", ("no_attempt",), None),
    ]
    items = [TaxonomyItem(f"{i}", t, ty, s) for i, (t, ty, s) in enumerate(texts)]
    result = build_taxonomy(items, MiniLMEmbedder(), TaxonomyConfig(max_new_clusters=3))
    groups = [{result.assignments[str(i)] for i in range(g, g + 4)} for g in (0, 4, 8)]
    assert all(len(g) == 1 for g in groups), groups
    assert len(set().union(*groups)) == 3
    vectors = MiniLMEmbedder().embed(["a", "b"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_embedding_budget_stands_rare_descriptions_in_for_similar_ones():
    items = []
    for j in range(60):  # many distinct wordings (numbers would be masked: letters), two families
        word = chr(97 + j % 26) + chr(97 + j // 26)
        items.append(TaxonomyItem(f"m{j}", f"Multiply the apples {word} now", ("calculation",), "multiplication"))
        items.append(TaxonomyItem(f"u{j}", f"Convert hours to minutes {word}", ("unit",), "unit_conversion"))
    embedder = WordHashEmbedder()
    config = TaxonomyConfig(max_embedded=10)
    result = build_taxonomy(items, embedder, config)
    assert result.unique_descriptions == 120 and result.embedded == embedder.texts == 10
    assert len({result.assignments[f"m{j}"] for j in range(60)}) == 1  # same types and skill: same stand-ins
    assert {result.assignments[f"m{j}"] for j in range(60)} != {result.assignments[f"u{j}"] for j in range(60)}
    assert sum(c.size for c in result.clusters) == 120
    assert build_taxonomy(items, WordHashEmbedder(), config).assignments == result.assignments
