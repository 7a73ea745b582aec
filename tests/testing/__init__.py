"""Helpers shared by tests of several packages (//tests/testing, imported as `testing.<module>`)."""
