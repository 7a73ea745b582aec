"""The one exception type a user sees: a message that says what, which file, what to do."""


class ConversionError(Exception):
    """A problem with the user's input or options; the CLI prints it as one line."""
