"""The analysis layer: what one script's values are, read from its text.

``binding`` binds a command's arguments to its parameters, ``objects`` follows .NET objects
from their construction to their use, ``resolve`` finds the static value of a variable or
expression (with ``configfiles``, the configuration files a script loads), and ``functions``
reads a function's parameters. Recognizers (``scanner.extract``) build on these; nothing here
knows about a mail API.
"""
