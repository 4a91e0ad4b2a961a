"""How the CLI reports a failure: one line on stderr, `error: WHERE: WHAT`, whatever the terminal width.

Rich wraps what it prints at the terminal width (or $COLUMNS), which cut `bad.jsonl:2:` in two on a narrow
terminal or under a long path; so these lines go to sys.stderr directly, never through a Console.
Progress bars and tables may wrap; errors may not.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

import typer
from typer.core import TyperGroup

try:  # recent Typer runs on its own copy of click (typer._click), whose exceptions are not click's
    from typer._click import exceptions as click_errors
except ImportError:  # older Typer runs on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

_COLOURS = {"red": "\x1b[31m", "yellow": "\x1b[33m"}
_RESET = "\x1b[0m"
# click >= 8.2 raises this for no_args_is_help; older click prints the help and exits 0 itself
_NoArgsIsHelp: Any = getattr(click_errors, "NoArgsIsHelpError", ())


def one_line(text: str) -> str:
    """`text` with its line breaks, tabs and other control characters folded into single spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _in_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def print_line(text: str, style: str | None = None) -> None:
    """`text` as one line on stderr; `style` colours its first word when stderr is a terminal."""
    line, stream = one_line(text), sys.stderr
    if style and _in_colour(stream):
        label, sep, rest = line.partition(" ")
        line = f"{_COLOURS[style]}{label}{_RESET}{sep}{rest}"
    stream.write(line + "\n")
    stream.flush()


def print_error(message: str) -> None:
    """`error: MESSAGE` as one line on stderr (MESSAGE should start with its WHERE: file:line, option, run)."""
    print_line(f"error: {message}", style="red")


def usage_error_message(e: click_errors.UsageError) -> str:
    """`--lora-r: 0 is not in the range x>=1 (see: lessons train --help)`: the option first, as for any error."""
    help_hint = f" (see: {e.ctx.command_path} --help)" if e.ctx is not None else ""
    param = getattr(e, "param", None)
    if isinstance(e, click_errors.NoSuchOption):
        what = "no such option" + (f"; did you mean {', '.join(sorted(e.possibilities))}?" if e.possibilities else "")
        return f"{e.option_name}: {what}{help_hint}"
    if isinstance(e, click_errors.MissingParameter) and param is not None:
        return f"{_param_name(param)}: required, not given{help_hint}"
    if isinstance(e, click_errors.BadParameter) and param is not None:
        return f"{_param_name(param)}: {e.message}{help_hint}"
    if isinstance(e, click_errors.BadOptionUsage):  # `--db` given without its value
        return f"{e.option_name}: {e.message}{help_hint}"
    where = e.ctx.command_path if e.ctx is not None else "lessons"
    return f"{where}: {e.format_message()}{help_hint}"


def _param_name(param: Any) -> str:
    """`--model` for an option (its first long name), `RUN` for an argument."""
    if param.param_type_name == "option":
        return next((o for o in param.opts if o.startswith("--")), param.opts[0])
    # click's arguments have `human_readable_name`; Typer's TyperArgument does not
    return getattr(param, "human_readable_name", None) or (param.name or "argument").upper()


class OneLineErrorsGroup(TyperGroup):
    """The root group: click's usage errors (a bad option value, a missing option, an unknown command) print
    as one `error:` line with click's exit code 2, instead of Typer's multi-line Rich box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _NoArgsIsHelp as e:  # `lessons` alone, or a group alone: the help, as before
            if e.format_message():  # with Rich, Typer has printed the help already
                e.show()
            sys.exit(e.exit_code)
        except click_errors.UsageError as e:
            print_error(usage_error_message(e))
            sys.exit(e.exit_code)
        except click_errors.ClickException as e:
            print_error(e.format_message())
            sys.exit(e.exit_code)
        except typer.Abort:  # end of input at a prompt (Ctrl-C is a typer.Exit(130))
            print_error("aborted")
            sys.exit(1)
        # without standalone mode click returns the exit code of a typer.Exit, or the command's own result
        sys.exit(code if type(code) is int else 0)
