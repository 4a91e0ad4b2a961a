"""Sample report data with realistic numbers: a two-round loop on 300 held-out arithmetic
tasks (base 41.3% → treatment 48.7%, control 43.0%), plus hostile variants."""

from __future__ import annotations

import copy
import math

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
# Payloads that would leave a visible trace in the DOM if a browser ever ran them.
SCRIPT_DOM = "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>"
IMG_DOM = "\"><img src=x onerror=\"document.title='PWNED'\">"
HOSTILE = SCRIPT + IMG + SCRIPT_DOM + IMG_DOM


def wilson(correct: int, n: int) -> list[float]:
    z = 1.96
    p = correct / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(mid - half, 4), round(mid + half, 4)]


def _slice(name: str, tasks: int, base: int, treatment: int, control: int, weak: bool = False) -> dict:
    return {"name": name, "weak": weak, "tasks": tasks,
            "base": base / tasks, "treatment": treatment / tasks, "control": control / tasks,
            "base_ci95": wilson(base, tasks), "treatment_ci95": wilson(treatment, tasks),
            "control_ci95": wilson(control, tasks)}


def _attempt(aid: int, answer: str | None, correct: bool, response: str) -> dict:
    return {"attempt_id": aid, "answer": answer, "correct": correct, "response": response}


FRACTION_Q = "A baker uses 3/4 cup of sugar per batch. How many cups of sugar does she need for 6 batches?"
FRACTION_WRONG = ("Step 1: Each batch needs 3/4 cup of sugar.\n"
                  "Step 2: For 6 batches: 6 × 3/4 = 18/8 = 2.25 cups.\n"
                  "Step 3: So she needs 2.25 cups.\nThe answer is 2.25")
FRACTION_RIGHT = ("Step 1: Each batch needs 3/4 cup of sugar.\n"
                  "Step 2: For 6 batches: 6 × 3/4 = 18/4 = 4.5 cups.\n"
                  "Step 3: So she needs 4.5 cups.\nThe answer is 4.5")
PERCENT_Q = "A jacket costs $80. It is on sale for 15% off. What is the sale price?"
PERCENT_WRONG = "15% of 80 is 80 × 0.15 = 12.\nThe sale price is 80 + 12 = 92.\nThe answer is 92"
PERCENT_RIGHT = "15% of 80 is 80 × 0.15 = 12.\nThe sale price is 80 − 12 = 68.\nThe answer is 68"
LONG_STEPS = "\n".join(f"Step {i}: carry the running total forward, {i * 37} + {i * 12} = {i * 49}."
                       for i in range(1, 40))


def sample_report() -> dict:
    base_m, treat_m, ctrl_m = ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b+correction-r2-7c1e",
                               "qwen2.5-coder-0.5b+control-r2-a04b")
    return {
        "title": "lessons loop: qwen2.5-coder-0.5b on arith",
        "subtitle": "2 rounds · correction + practice lessons · 300 held-out tasks",
        "generated_at": "2025-11-25 18:40 UTC",
        "config": {"model": base_m, "suite": "arith", "rounds": 2, "seed": 1234,
                   "train": {"method": "sft", "lora_r": 16, "lr": 2e-4, "max_steps": 120},
                   "builders": ["correction", "practice"], "heldout_tasks": 300},
        "headline": {
            "tasks": 300,
            "base": {"name": base_m, "accuracy": 124 / 300, "ci95": wilson(124, 300)},
            "treatment": {"name": treat_m, "accuracy": 146 / 300, "ci95": wilson(146, 300),
                          "delta": 22 / 300, "delta_ci95": [0.037, 0.110]},
            "control": {"name": ctrl_m, "accuracy": 129 / 300, "ci95": wilson(129, 300),
                        "delta": 5 / 300, "delta_ci95": [-0.013, 0.047]},
            "advantage": {"delta": 17 / 300, "ci95": [0.020, 0.093]},
            "weak_slices": {"tasks": 96, "base": 22 / 96, "treatment": 36 / 96, "control": 24 / 96,
                            "treatment_delta": 14 / 96, "treatment_delta_ci95": [0.073, 0.219],
                            "control_delta": 2 / 96, "control_delta_ci95": [-0.042, 0.083]},
        },
        "rounds": [
            {"round": 1, "train_run": "loop-r1-train", "train_accuracy": 0.402, "mistakes": 598,
             "lessons": {"correction": 412, "practice": 186}, "rows": 598, "steps": 120,
             "treatment_model": "qwen2.5-coder-0.5b+correction-r1-3f2a",
             "control_model": "qwen2.5-coder-0.5b+control-r1-9d10", "wall_s": 1843.2},
            {"round": 2, "train_run": "loop-r2-train", "train_accuracy": 0.461, "mistakes": 539,
             "lessons": {"correction": 371, "practice": 168}, "rows": 539, "steps": 120,
             "treatment_model": treat_m, "control_model": ctrl_m, "wall_s": 1712.9},
        ],
        "slices": [
            _slice("skill=addition", 48, 35, 37, 36),
            _slice("skill=subtraction", 44, 27, 29, 28),
            _slice("skill=multiplication", 40, 17, 20, 18),
            _slice("skill=division", 36, 12, 15, 13),
            _slice("skill=fractions", 34, 7, 13, 8, weak=True),
            _slice("skill=percentages", 32, 6, 11, 6, weak=True),
            _slice("skill=multi-step word problems", 30, 9, 12, 10, weak=True),
            _slice("digits>=4 AND skill=multiplication", 36, 11, 9, 10),
        ],
        "error_types": [
            {"type": "arithmetic", "base": 61, "treatment": 44, "control": 58, "fixed": 21, "new": 4, "persistent": 40},
            {"type": "wrong operation", "base": 19, "treatment": 12, "control": 18, "fixed": 9, "new": 2, "persistent": 10},
            {"type": "misread question", "base": 23, "treatment": 22, "control": 22, "fixed": 4, "new": 3, "persistent": 19},
            {"type": "unit / percent", "base": 14, "treatment": 9, "control": 14, "fixed": 6, "new": 1, "persistent": 8},
            {"type": "dropped step", "base": 11, "treatment": 10, "control": 11, "fixed": 3, "new": 2, "persistent": 8},
            {"type": "answer format", "base": 9, "treatment": 6, "control": 8, "fixed": 4, "new": 1, "persistent": 5},
            {"type": "copy error", "base": 5, "treatment": 4, "control": 6, "fixed": 2, "new": 1, "persistent": 3},
            {"type": "other", "base": 3, "treatment": 2, "control": 3, "fixed": 1, "new": 0, "persistent": 2},
        ],
        "clusters": [
            {"id": 0, "name": "fraction times whole number", "size": 38,
             "terms": ["fraction", "multiply", "denominator", "cups"],
             "examples": [{"attempt_id": 1207, "task_id": "arith-frac-0412", "question": FRACTION_Q,
                           "response": FRACTION_WRONG, "wrong_step": "6 × 3/4 = 18/8 = 2.25 cups.",
                           "error_type": "arithmetic"},
                          {"attempt_id": 1311, "task_id": "arith-frac-0588", "question":
                           "What is 2/3 of 27?", "response": "2/3 × 27 = 54/9 = 6\nThe answer is 6",
                           "wrong_step": "2/3 × 27 = 54/9 = 6", "error_type": "arithmetic"}]},
            {"id": 1, "name": "discount added instead of subtracted", "size": 24,
             "terms": ["sale", "discount", "percent", "price"],
             "examples": [{"attempt_id": 1422, "task_id": "arith-pct-0107", "question": PERCENT_Q,
                           "response": PERCENT_WRONG, "wrong_step": "The sale price is 80 + 12 = 92.",
                           "error_type": "wrong operation"}]},
            {"id": 2, "name": "long carry chains", "size": 31, "terms": ["carry", "total", "sum"],
             "examples": [{"attempt_id": 1530, "task_id": "arith-add-0931", "question":
                           "Add the 39 numbers on the list and report the total.", "response": LONG_STEPS,
                           "wrong_step": "Step 17: carry the running total forward, 629 + 204 = 833.",
                           "error_type": "arithmetic"}]},
            {"id": 3, "name": "question misread", "size": 19, "terms": ["each", "left", "remaining"],
             "examples": [{"attempt_id": 1604, "task_id": "arith-word-0219", "question":
                           "Tom had 45 stickers and gave 3 friends 6 each. How many are left?",
                           "response": "45 - 6 = 39\nThe answer is 39",
                           "error_type": "misread question"}]},
            {"id": 4, "name": "answer format", "size": 9, "terms": ["answer", "format"], "examples": []},
        ],
        "changes": {
            "fixed": [
                {"task_id": "arith-frac-0412", "question": FRACTION_Q, "gold": "4.5", "slice": "skill=fractions",
                 "error_type": "arithmetic", "before": _attempt(1207, "2.25", False, FRACTION_WRONG),
                 "after": _attempt(4811, "4.5", True, FRACTION_RIGHT)},
                {"task_id": "arith-pct-0107", "question": PERCENT_Q, "gold": "68", "slice": "skill=percentages",
                 "error_type": "wrong operation", "before": _attempt(1422, "92", False, PERCENT_WRONG),
                 "after": _attempt(4907, "68", True, PERCENT_RIGHT)},
                {"task_id": "arith-add-0931", "question": "Add the 39 numbers on the list and report the total.",
                 "gold": "36465", "slice": "skill=addition", "error_type": "arithmetic",
                 "before": _attempt(1530, None, False, LONG_STEPS),
                 "after": _attempt(5012, "36465", True, LONG_STEPS + "\nThe answer is 36465")},
            ],
            "new": [
                {"task_id": "arith-mul-0733", "question": "What is 1,204 × 7?", "gold": "8428",
                 "slice": "digits>=4 AND skill=multiplication", "error_type": "arithmetic",
                 "before": _attempt(1688, "8428", True, "1204 × 7 = 8428\nThe answer is 8428"),
                 "after": _attempt(5120, "8438", False, "1204 × 7 = 8400 + 38 = 8438\nThe answer is 8438")},
            ],
            "persistent": 118,
        },
        "lineage": [
            {"name": base_m, "kind": "packaged", "config": {},
             "created_at": "2025-11-20"},
            {"name": "qwen2.5-coder-0.5b+correction-r1-3f2a", "base": base_m, "kind": "trained",
             "lessons": {"builder": "correction+practice", "rows": 598, "content_hash": "3f2a9c0e51b7d44e8a"},
             "config": {"method": "sft", "lora_r": 16, "lr": 2e-4, "max_steps": 120}, "created_at": "2025-11-25 17:12"},
            {"name": "qwen2.5-coder-0.5b+control-r1-9d10", "base": base_m, "kind": "trained",
             "lessons": {"builder": "control", "rows": 598, "content_hash": "9d10e4b2c7a8f301aa"},
             "config": {"method": "sft", "lora_r": 16, "lr": 2e-4, "max_steps": 120}, "created_at": "2025-11-25 17:31"},
            {"name": treat_m, "base": "qwen2.5-coder-0.5b+correction-r1-3f2a", "kind": "trained",
             "lessons": {"builder": "correction+practice", "rows": 539, "content_hash": "7c1e0f66d2a9b8c4e1"},
             "config": {"method": "sft", "lora_r": 16, "lr": 2e-4, "max_steps": 120}, "created_at": "2025-11-25 18:02"},
            {"name": ctrl_m, "base": "qwen2.5-coder-0.5b+control-r1-9d10", "kind": "trained",
             "lessons": {"builder": "control", "rows": 539, "content_hash": "a04b7e19c3d5f2086b"},
             "config": {"method": "sft", "lora_r": 16, "lr": 2e-4, "max_steps": 120}, "created_at": "2025-11-25 18:21"},
        ],
    }


def single_run_report() -> dict:
    """What one evaluated and diagnosed run gives: no treatment, control, rounds, changes."""
    full = sample_report()
    return {
        "title": "Run demo-qwen-arith-50",
        "headline": {"tasks": 300, "base": full["headline"]["base"]},
        "slices": [{k: v for k, v in s.items() if not k.startswith(("treatment", "control"))}
                   for s in full["slices"]],
        "error_types": [{"type": e["type"], "base": e["base"]} for e in full["error_types"]],
        "clusters": full["clusters"],
    }


def hostile_report() -> dict:
    """The sample with attacker-controlled text in every field that model output or
    user data can reach."""
    data = copy.deepcopy(sample_report())
    h = data["headline"]
    h["treatment"]["name"] += HOSTILE
    h["base"]["name"] += HOSTILE
    data["slices"][0]["name"] += HOSTILE
    data["error_types"][0]["type"] += HOSTILE
    data["clusters"][0]["name"] += HOSTILE
    data["clusters"][0]["terms"].append(HOSTILE)
    ex = data["clusters"][0]["examples"][0]
    ex["question"] += HOSTILE
    ex["response"] += HOSTILE
    ex["wrong_step"] = "6 × 3/4" + HOSTILE  # not found in the response: no mark
    data["clusters"][1]["examples"][0]["wrong_step"] = SCRIPT  # found: the mark wraps escaped text
    data["clusters"][1]["examples"][0]["response"] = "before " + SCRIPT + " after"
    change = data["changes"]["fixed"][0]
    change["question"] += HOSTILE
    change["gold"] += HOSTILE
    change["slice"] += HOSTILE
    change["before"]["response"] += HOSTILE
    change["before"]["answer"] = HOSTILE
    change["after"]["response"] += HOSTILE
    data["lineage"][1]["name"] += HOSTILE
    data["lineage"][1]["config"]["note"] = HOSTILE
    data["config"]["prompt"] = HOSTILE
    data["rounds"][0]["treatment_model"] += HOSTILE
    return data
