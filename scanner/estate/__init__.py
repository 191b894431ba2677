"""The estate analysis: every command is a view of it.

Discovery (gitignore, exclusions), the prefilter, the worker pool, the content cache and stat
index, the cross-file wrapper pass and the judge of the fix plans run here once per command, with
the project's configuration and suppressions, over the checks of ``scanner.check``.
"""
