"""Numbers and arithmetic statements in model and gold text, read exactly (no `eval`).

One place for both concepts, importable from verify/, diagnose/ and builders/ alike: it
imports nothing from them.

- numbers: `parse_number` (a text that is one number), `numeric_core`, `numbers_in` and
  `values_in` (the numbers written in running text), `leading_number`, `written_decimals`,
  `mask_numbers`, `format_number`, `Number`, `div`.
- statements: one reader finds every `expression = value` of a step (`computations`, the
  maximal readable expression left of each `=`, with its items' spans), and one rule judges
  it (`check_step`, the `arith` locator's engine: a `Claim` true or false under rounding,
  with the stated result's span on request). `find_statements` keeps the plain statements
  the reader finds, with their spans in the text as written, for builders that edit
  solutions; `parse_step` sorts a step's numbers into operands, results and loose ones
  from the same links (`read_links`), each `Equation.holds` by the same rule. Values come
  from one evaluator (`statements.exact_value`).
- grounding: `free_constants`, the numbers a solution may use that neither the question
  nor an earlier step gave.
"""

from lessons.arith._equations import Equation, StepNumbers, parse_step
from lessons.arith.grounding import (
    CORE_CONSTANTS, DIMENSION_CONSTANTS, UNIT_CONSTANTS, UNIT_SKILLS, free_constants, units_named,
)
from lessons.arith.edits import Statement, evaluate, find_statements, operand_spans
from lessons.arith.numbers import (
    LONE_NUMBER, NUMBER, VALUE, Number, div, format_number, is_terminating, leading_number, mask_numbers, number,
    numbers_in, numeric_core, parse_number, plain_text, values_in, written_decimals,
)
from lessons.arith.statements import Claim, check_step, show

__all__ = [
    "CORE_CONSTANTS", "Claim", "DIMENSION_CONSTANTS", "Equation", "LONE_NUMBER", "NUMBER", "Number",
    "Statement", "StepNumbers", "UNIT_CONSTANTS", "UNIT_SKILLS", "VALUE", "check_step", "div",
    "evaluate", "find_statements", "format_number", "free_constants", "is_terminating", "leading_number",
    "mask_numbers", "number", "numbers_in", "numeric_core", "operand_spans", "parse_number", "parse_step",
    "plain_text", "show", "units_named", "values_in", "written_decimals",
]
