"""A loop over the real `arith` suite with scripted models and a fake trainer.

The scripted base model solves a third of the tasks of a "weak" skill (multiplication) and
four fifths of the others, writing the gold steps with the last value wrong. A model
trained by the fake trainer fixes a mistake when its lessons hold rows of that skill:
the treatment (practice aimed at the weak slice) learns multiplication, the control
(random tasks) mostly does not.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

from fakes import ScriptedBackend, WordHashEmbedder
from lessons.loop import Deps, LoopConfig
from lessons.models.base import ModelInfo
from lessons.tasks import load_suite
from lessons.train.results import TrainResult

WEAK = "multiplication"


def _tasks_by_prompt() -> dict:
    suite = load_suite("arith")
    return {t.prompt: t for t in suite.tasks(3000)}


TASKS = _tasks_by_prompt()


def task_of(content: str):
    """The arith task whose question the rendered prompt holds (practice tasks are new: None)."""
    return next((t for p, t in TASKS.items() if p in content), None)


def logged_task(store, content: str):
    """A task the loop wrote to the log before asking for it (a practice task)."""
    row = store.db.execute("SELECT suite_id, task_id FROM tasks WHERE instr(?, prompt) > 0 ORDER BY length(prompt) DESC",
                           (content,)).fetchone()
    return store.tasks(row["suite_id"], [row["task_id"]])[0]


def skill_of(content: str) -> str:
    """A lesson prompt's skill: its task's, or for a new practice task, read off the question."""
    task = task_of(content)
    if task is not None:
        return task.skill
    return WEAK if re.search(r"×|Multiply|product of", content) else "other"


def solution(task, right: bool) -> str:
    lines = []
    for i, s in enumerate(task.steps, 1):
        value = s.value
        if not right and i == len(task.steps):
            value = str(int(float(s.value)) + 7) if s.value and s.value.lstrip("-").isdigit() else "999"
            text = s.text.rsplit("=", 1)[0] + f"= {value}" if "=" in s.text else f"{s.text} = {value}"
        else:
            text = s.text
        lines.append(f"Step {i}: {text}")
    answer = task.answer if right else (value if task.steps else "999")
    return "\n".join(lines + [f"Answer: {answer}"])


class World:
    """Which skills each model version has learned; shared by the fake backend and trainer."""

    def __init__(self, root: Path):
        self.root = root
        self.learned: dict[str, set[str]] = {}  # model name -> skills fixed
        self.train_calls: list[str] = []
        self.crash_on: str | None = None  # a model name whose training raises KeyboardInterrupt once
        self.decorate = lambda text: text  # e.g. plant markup in every response
        self.samples_solve = False  # when set, every second sample of a weak task is right (a probe reaches it)

    def knows(self, model: str, task) -> bool:
        if task.skill in self.learned.get(model, set()):
            return True
        if task.skill == WEAK:  # a third, so that its own solutions can teach it (solutions: self)
            return zlib.crc32(task.prompt.encode()) % 3 == 0
        return zlib.crc32(task.id.encode()) % 5 != 0

    def backend(self, name: str, store, config) -> ScriptedBackend:
        def respond(chat, sample):
            task = task_of(chat[-1]["content"]) or logged_task(store, chat[-1]["content"])
            lucky = self.samples_solve and task.skill == WEAK and sample % 2 == 1
            return self.decorate(solution(task, lucky or self.knows(name, task)))

        backend = ScriptedBackend(respond, name=name)
        backend.info = ModelInfo(name, "scripted", f"tests/{name}", {})  # one model version per name
        return backend

    def skill(self, prompt) -> str:
        """The skill a lesson row's prompt (a chat) practises."""
        return skill_of(prompt[-1]["content"])

    def train(self, model, data, config, on_progress=None, store=None):
        from lessons.train.data import load_lessons

        if self.crash_on == config.name:
            self.crash_on = None
            raise KeyboardInterrupt
        self.train_calls.append(config.name)
        lessons = load_lessons(data)
        skills = {}
        for row in lessons.rows:
            skill = self.skill(row["prompt"])
            skills[skill] = skills.get(skill, 0) + 1
        # a skill is learned when it fills at least a quarter of the lessons
        learned = {s for s, n in skills.items() if n >= len(lessons.rows) / 4} | self.learned.get(model, set())
        self.learned[config.name] = learned
        out = Path(config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "skills.json").write_text(json.dumps(sorted(learned)))
        info = ModelInfo(config.name, "scripted", str(out), {})
        lineage = {"base_model": model, "lesson_set": lessons.describe(), "train_config": {"method": config.method,
                   "max_steps": config.max_steps}, "train_loss": 0.5}
        base_id = store.save_model_version(ModelInfo(model, "scripted", "base", {}))
        store.save_model_version(info, parent_id=base_id, lineage=lineage)
        return TrainResult(config.name, str(out), config.max_steps, 0.5, 100, 10.0, str(out), str(out), str(out))


WEAK_CODE = "recursion"
RECURSION = ("flatten", "nesting_depth", "count_paths")  # the recursion skill's functions (lessons.tasks.code)
DRAFT = "    return None  # a draft\n"  # the failing program's body: shorter than any reference


def program(task, right: bool) -> str:
    """A response to a code task: its reference, or the stub with a body that fails its tests."""
    return "```python\n" + (task.answer if right else task.prompt + DRAFT) + "```"


class CodeWorld(World):
    """The world over the built-in `code` suite: the base model writes the reference program
    of a third of the recursion tasks and four fifths of the others, else a stub that fails
    every test. Sampled (more than one sample a prompt), every second sample passes and the
    others fail: only running the tests tells them apart, and the failing one is the shorter,
    so the shortest-first rule would pick it if nothing ran. Asked to fix a program after
    feedback, it does the same."""

    def skill(self, prompt) -> str:
        asked = next(m["content"] for m in prompt if m["role"] == "user")
        name = re.search(r"def (\w+)\(", asked)
        return WEAK_CODE if name and name.group(1) in RECURSION else "other"

    def backend(self, name: str, store, config) -> ScriptedBackend:
        def respond(chat, sample):
            task = logged_task(store, next(m["content"] for m in chat if m["role"] == "user"))
            sampled = backend.calls[-1][1].n > 1
            if sampled or any(m["role"] == "assistant" for m in chat):
                return program(task, sample % 2 == 1)
            return program(task, self.knows(name, task))

        backend = ScriptedBackend(respond, name=name)
        backend.info = ModelInfo(name, "scripted", f"tests/{name}", {})
        return backend

    def knows(self, model: str, task) -> bool:
        if task.skill in self.learned.get(model, set()):
            return True
        if task.skill == WEAK_CODE:
            return zlib.crc32(task.prompt.encode()) % 3 == 0
        return zlib.crc32(task.id.encode()) % 5 != 0


def gsm8k_file(path, tasks: int = 900):
    """Arith tasks written as GSM8K writes its problems: steps with calculator annotations,
    then `#### answer`. The scripted world knows them by their questions."""
    lines = []
    for t in load_suite("arith").tasks(tasks):
        steps = []
        for s in t.steps:
            expr, _, value = s.text.rpartition(" = ")
            steps.append(f"{expr} = <<{expr.replace(' ', '')}={value}>>{value}")
        lines.append(json.dumps({"question": t.prompt, "answer": "\n".join(steps) + f"\n#### {t.answer}"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
