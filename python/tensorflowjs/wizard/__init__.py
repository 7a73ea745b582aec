"""The conversion wizard (tensorflowjs_wizard): questions in flow.py, model inspection in
model_info.py, the tensorflowjs_converter command in command.py, entry points in cli.py."""

from tensorflowjs.wizard.cli import main, pip_main

__all__ = ["main", "pip_main"]
