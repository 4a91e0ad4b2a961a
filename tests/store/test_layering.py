"""Imports flow one way: the store sees no stage above it, and no package reaches into
another's private modules (`lessons.x._y` from outside `x`)."""

import ast
from pathlib import Path

import lessons

SRC = Path(lessons.__file__).parent


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module] + [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]


def test_the_store_imports_no_stage_above_it():
    above = ("lessons.diagnose", "lessons.builders", "lessons.loop", "lessons.train")
    bad = [(p.name, m) for p in (SRC / "store").glob("*.py") for m in _imports(p) if m.startswith(above)]
    assert bad == []


def test_no_package_imports_another_packages_private_module():
    bad = []
    for path in SRC.rglob("*.py"):
        package = path.relative_to(SRC).parts[0]
        for module in _imports(path):
            parts = module.split(".")
            if (len(parts) >= 3 and parts[0] == "lessons" and parts[1] != package and parts[2].startswith("_")):
                bad.append((str(path.relative_to(SRC)), module))
    assert bad == []


def test_no_package_imports_another_packages_private_names():
    """`from lessons.x.y import _z` from outside `x` leans on what `x` may change at will."""
    bad = []
    for path in SRC.rglob("*.py"):
        package = path.relative_to(SRC).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lessons."):
                owner = node.module.split(".")[1]
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if owner != package and private:
                    bad.append((str(path.relative_to(SRC)), node.module, private))
    assert bad == []


def test_diagnose_has_a_public_face():
    import lessons.diagnose as diagnose

    assert {"Diagnosis", "Location", "diagnose_run", "make_locator"} <= set(diagnose.__all__)
    assert diagnose.make_locator("arith").args == {"confidence": 0.9}


def test_the_report_imports_nothing_from_the_loop():
    """The loop builds a report's data; the report renders any run's, so it sees no loop."""
    bad = [(p.name, m) for p in (SRC / "report").glob("*.py") for m in _imports(p) if m.startswith("lessons.loop")]
    assert bad == []
