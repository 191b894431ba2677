"""The wrapper pass skips a file when every occurrence of a wrapper name in it is that wrapper's own
`function NAME` definition (scanner.estate.wrappers._only_definitions). Three ways of looking (a few
names found with str.find, many names narrowed by the file's words, many names in the file walked word
by word) must agree with the rule stated on words: a maximal run of name characters, equal to a
wrapper's name as written or as `Module\\Name`."""

import random
import re

import pytest

from scanner.estate import wrappers
from scanner.estate.wrappers import _only_definitions

_DEFINITION = re.compile(r"(?:function|filter|workflow)\s+$")


def _by_the_rule(text: str, names: set[str]) -> bool:
    low = text.lower()
    for m in re.finditer(wrappers._NAME_CHAR + "+", low):
        word = m.group()
        if (word in names or word.rsplit("\\", 1)[-1] in names) and not _DEFINITION.search(low[max(0, m.start() - 24) : m.start()]):
            return False
    return True


@pytest.mark.parametrize(
    "text, expected",
    [
        ("function Send-Alert { param($To) }\n", True),  # only its definition
        ("function Send-Alert { }\nSend-Alert -To a@b.c\n", False),  # a call
        ("function Send-Alert { }\nMyModule\\Send-Alert -To x\n", False),  # a module-qualified call
        ("function Send-Alert { }\nSend-AlertNow -To x\n$x = 'Send-Alerts'\n", True),  # longer words only
        ("filter Send-Alert { $_ }\n$Send-Alert\n", False),  # `$` is no name character: the word after it counts
        ("workflow  Send-Alert { }\n(Send-Alert)\n", False),
        ("# Send-Alert is called by the nightly job\n", False),  # a comment counts (the lexer decides later)
        ("", True),
    ],
)
def test_a_file_with_only_definitions_is_skipped(text: str, expected: bool) -> None:
    few = {"send-alert": ()}
    many = {f"unused-name{i}": () for i in range(40)} | few
    assert _by_the_rule(text, set(few)) is expected
    assert _only_definitions(text, few) is expected  # str.find per name
    assert _only_definitions(text, many) is expected  # narrowed by the file's words


def test_the_three_ways_agree_on_random_files() -> None:
    rng = random.Random(7)
    vocabulary = [f"do-thing{i}" for i in range(60)] + ["mod\\do-thing3", "do-thing3x", "xdo-thing3"]
    separators = [" ", "\n", "(", ")", "{", "}", "; ", " | ", "$", "'", "\\", "function ", "filter ", "-", "."]
    for _ in range(400):
        parts = [rng.choice(vocabulary) + rng.choice(separators) for _ in range(rng.randint(0, 60))]
        text = "".join(parts)
        for count in (1, 5, 16, 17, 40, 60):
            names = {f"do-thing{i}": () for i in rng.sample(range(60), count)}
            assert _only_definitions(text, names) is _by_the_rule(text, set(names)), (text, sorted(names))


def test_thousands_of_nested_definitions_stay_linear() -> None:
    # Every name is in the file: the word-by-word walk, not a search per name (names x occurrences).
    names = {f"f{i}": () for i in range(20000)}
    text = "\n".join(f"function f{i} {{" for i in range(20000)) + "\n" + "}" * 20000 + "\n"
    assert _only_definitions(text, names) is True
    assert _only_definitions(text + "f19999\n", names) is False
