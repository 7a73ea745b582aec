"""The package version, also written into every model.json as `convertedBy`."""

version = "4.23.0"
