"""tensorflowjs_wizard: asks about the model, explaining each choice, then converts it.

    tensorflowjs_wizard            # asks, prints the tensorflowjs_converter command, runs it
    tensorflowjs_wizard --dryrun   # asks and prints the command only (for scripts)

The conversion is converters.converter.main() called with exactly the printed command's
arguments, so the printed command reproduces the wizard's run.
"""

import argparse
import os
import sys
from typing import List, Optional

from tensorflowjs import extras
from tensorflowjs.errors import ConversionError

PROG = "tensorflowjs_wizard"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Walks you through converting one model with tensorflowjs_converter, explaining each choice.",
    )
    parser.add_argument("--dryrun", action="store_true", help="Only print the tensorflowjs_converter command; convert nothing.")
    return parser


def _converse(dry_run: bool) -> int:
    from tensorflowjs.converters import converter, pairs
    from tensorflowjs.wizard import command, flow

    print(f"TensorFlow.js converter wizard{' (dry run: prints the command, converts nothing)' if dry_run else ''}.")
    print("Ctrl-C quits at any time; nothing is written before the last step.")
    plan = flow.Wizard().plan()
    if plan is None:
        return 1
    try:
        argv = command.converter_argv(plan)
    except ValueError as e:
        raise ConversionError(str(e)) from None
    print("\nThe equivalent command:\n")
    print("  " + command.shell_command(argv))
    print()
    if dry_run:
        if (plan.input_format, plan.output_format) not in pairs.HANDLERS:
            print(f"Note: this build cannot run {plan.input_format} -> {plan.output_format} yet; the command is for a converter that can.")
        return 0
    if not flow.confirm("Convert now?", default=True):
        print("Nothing was written.")
        return 0
    before = flow.snapshot(plan.output_path) if os.path.exists(plan.output_path) else {}
    status = converter.main(argv)
    if status != 0:  # the converter has said why, in one line, and left nothing behind
        return status
    flow.report_written(before, plan.output_path)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the wizard; returns 0 when done, 1 on an error or end of input, 130 on Ctrl-C."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else 1
    if not sys.stdin.isatty():
        print(f"{PROG}: error: the wizard needs an interactive terminal; in scripts, use tensorflowjs_converter", file=sys.stderr)
        return 1
    try:
        extras.require("questionary", "the wizard")
    except ConversionError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    # Under `bazel run`, paths the user types are relative to where they ran it.
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])
    try:
        return _converse(args.dryrun)
    except KeyboardInterrupt:
        print("\nCancelled: nothing was written.", file=sys.stderr)
        return 130
    except EOFError:
        print("\nEnd of input: nothing was written.", file=sys.stderr)
        return 1
    except ConversionError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1


def pip_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
