"""`python -m scanner` runs the smtp2graph command line."""

from scanner.cli import main

main()
