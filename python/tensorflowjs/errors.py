"""The one exception type a user sees: a message that says what, which file, what to do."""


class ConversionError(ValueError):
    """A problem with the user's input or options; the CLI prints it as one line.

    A ValueError, because that is what the public converter raises for bad input and what
    code written for it catches.
    """
