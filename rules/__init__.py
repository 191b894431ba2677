"""The rule catalogue (mapped into the package as ``scanner.rules``)."""
