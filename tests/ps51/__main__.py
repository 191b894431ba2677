"""`python -m ps51` (from tests/): judge everything smtp2graph ships or writes against Windows PowerShell 5.1."""

import sys

from ps51.judge import main

sys.exit(main())
