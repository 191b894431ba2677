"""Report renderers (mapped into the package as ``scanner.reports``)."""
