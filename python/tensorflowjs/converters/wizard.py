"""`tensorflowjs.converters.wizard`, where the public package keeps its wizard: ours is
tensorflowjs.wizard (questionary instead of PyInquirer); its entry points are reachable here."""

from tensorflowjs.wizard.cli import main, pip_main  # noqa: F401
