"""The built-in `code` suite: deterministic by seed, every skill, and references that pass
their own hidden tests in the sandbox while a wrong program fails them."""

import random
from collections import Counter

import pytest

from lessons.sandbox import Program, run_programs
from lessons.tasks import load_suite
from lessons.tasks.code import FAMILIES, SKILLS, CodeSuite, stub
from lessons.verify.code import task_tests


def test_tasks_are_deterministic_by_seed_and_independent_of_limit():
    a, b = list(CodeSuite(0).tasks(30)), list(CodeSuite(0).tasks(60))[:30]
    assert [(t.id, t.prompt, t.answer, t.metadata) for t in a] == [(t.id, t.prompt, t.answer, t.metadata) for t in b]
    assert [t.prompt for t in CodeSuite(1).tasks(30)] != [t.prompt for t in a]


def test_every_block_holds_every_skill_with_metadata_and_both_splits():
    tasks = list(load_suite("code:seed=2").tasks(14 * len(SKILLS)))
    for block in range(0, len(tasks), len(SKILLS)):
        assert {t.skill for t in tasks[block:block + len(SKILLS)]} == set(SKILLS)
    for t in tasks:
        assert t.metadata["difficulty"] in (1, 2, 3) and t.metadata["entry_point"] in t.prompt
        assert len(t.metadata["tests"]) >= 5 and t.answer.startswith(t.prompt)
        assert ">>> " in t.prompt  # the docstring shows examples
    assert set(Counter(t.split for t in tasks)) == {"train", "heldout"}


def run_all(programs):
    return run_programs(programs, workers=2)


def test_references_pass_their_hidden_tests_and_a_wrong_program_fails():
    tasks = list(CodeSuite(0).tasks(40))
    # and one task of every family, so no family goes unchecked
    specs = [family.make(random.Random(7)) for families in FAMILIES.values() for family in families]
    references = [Program(t.answer, task_tests(t.id, t.metadata)) for t in tasks]
    wrong = [Program(f"def {t.metadata['entry_point']}(*args):\n    return None\n", task_tests(t.id, t.metadata))
             for t in tasks]
    family_refs = [Program(stub(s) + s.body, [_case(s, args) for args in s.inputs]) for s in specs]
    runs = run_all(references + wrong + family_refs)
    failed = [(p.code.splitlines()[0], r.message) for p, r in zip(references + family_refs, runs[:40] + runs[80:])
              if not r.passed]
    assert failed == []
    assert all(r.status == "failed" and r.first_failure == "case 1" for r in runs[40:80])


def _case(spec, args):
    from lessons.sandbox import TestCase

    call = f"{spec.name}({', '.join(map(repr, args))})"
    return TestCase(call, f"assert {call} == {spec.compute(*args)!r}")


def test_a_bad_seed_is_refused():
    with pytest.raises(TypeError, match="code seed must be an integer"):
        CodeSuite("x")


def test_no_held_out_question_is_also_a_train_question():
    tasks = list(load_suite("code").tasks(700))
    train = {t.prompt for t in tasks if t.split == "train"}
    heldout = {t.prompt for t in tasks if t.split == "heldout"}
    assert heldout and train and not train & heldout
