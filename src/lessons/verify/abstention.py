"""Abstaining: the one statement a model is taught to give when it is unsure (R-Tuning's
refusal lessons, `builders/refusal.py`), and how an answer is read as that statement
(`metrics.summarize_run`'s abstention rate and accuracy on answered tasks).

A response abstains when it gives no answer line and says it is not sure; an answer with
a hedge ("I'm not sure, but ... Answer: 12") is an answer, judged as any other.
"""

from __future__ import annotations

import re

UNSURE = "I am not sure I can solve this problem correctly, so I will not give an answer."

_UNSURE = re.compile(r"\b(i am|i'm|i’m) (not sure|unsure|not certain|uncertain)\b", re.IGNORECASE)


def abstained(text: str, extraction_status: str) -> bool:
    """True when the response states it is unsure and gives no answer."""
    return extraction_status != "ok" and bool(_UNSURE.search(text))
