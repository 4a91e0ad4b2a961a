"""Prototype pruning: lessons ranked by distance to their k-means prototype."""

import pytest
from fakes import WordHashEmbedder

from lessons.builders.base import Lesson, Provenance
from lessons.builders.prune import prototype_scores, prune, question_of


def lesson(question: str, i: int) -> Lesson:
    return Lesson({"prompt": [{"role": "system", "content": "Solve."}, {"role": "user", "content": question}],
                   "completion": [{"role": "assistant", "content": "Answer: 1"}]},
                  Provenance(builder="rejection", run_id="r", task_id=f"t{i}"))


TYPICAL = [f"A farmer has {n} hens that lay eggs each day. How many eggs in a week?" for n in range(2, 14)]
ODD = ["A wizard trades 3 dragons for a castle moat; what is the moat's depth?"]


def test_unusual_questions_are_far_from_their_prototype():
    lessons = [lesson(q, i) for i, q in enumerate(TYPICAL + ODD)]
    assert question_of(lessons[0]) == TYPICAL[0]
    scores = prototype_scores(lessons, WordHashEmbedder(), clusters=1)
    assert scores.argmax() == len(TYPICAL)  # the odd one out
    assert scores[:-1].max() < 0.05 and len(set(scores[:-1].tolist())) == 1  # alike but for their numbers


def test_prune_keeps_the_hardest_or_the_easiest_in_order():
    lessons = [lesson(q, i) for i, q in enumerate(ODD + TYPICAL[:5] + ["Trains and miles: how far at 3 mph?"])]
    hard = prune(lessons, 2, WordHashEmbedder(), "hard")
    easy = prune(lessons, 2, WordHashEmbedder(), "easy")
    assert {lessons[0], lessons[-1]} == set(hard) and [lessons.index(x) for x in hard] == [0, 6]
    assert all(x in lessons[1:6] for x in easy)
    assert prune(lessons, 10, WordHashEmbedder()) == lessons
    with pytest.raises(ValueError, match="use hard or easy"):
        prune(lessons, 2, WordHashEmbedder(), "middle")
