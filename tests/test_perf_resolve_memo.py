"""Issue 16: answers remembered per script or per spec must be the answers for that script or spec.

Each memo here is checked against a second script (or spec) that would get a wrong answer from a
memo keyed too broadly, and against the same question asked again after other questions.
"""

from __future__ import annotations

from scanner.analysis.commands import _name_hits
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites
from scanner.script import Script

_SEND = CommandSpec("Send-It", (ParameterSpec("To", position=0), ParameterSpec("Timeout"), ParameterSpec("Subject")))
_OTHER = CommandSpec("Other", (ParameterSpec("Tag"), ParameterSpec("Subject", ("s",))))


def test_parameter_lookup_is_remembered_per_spec_not_per_spelling() -> None:
    assert _SEND.lookup("To")[0] == ParameterSpec("To", position=0)
    assert _OTHER.lookup("To") == (None, "-To is not a parameter of Other")
    assert _SEND.lookup("T")[0] is None and "ambiguous" in _SEND.lookup("T")[1]
    assert _OTHER.lookup("T")[0] == ParameterSpec("Tag")
    assert _OTHER.lookup("s")[0] == ParameterSpec("Subject", ("s",))
    assert _SEND.lookup("s")[0] == ParameterSpec("Subject")
    # Asked again, in the other order: the same answers.
    assert _OTHER.lookup("To") == (None, "-To is not a parameter of Other")
    assert _SEND.lookup("To")[0] == ParameterSpec("To", position=0)
    assert _SEND.names_parameter("Ti") and not _OTHER.names_parameter("Ti")
    assert not _OTHER.names_parameter("Ti") and _SEND.names_parameter("Ti")


def test_remembered_answers_leave_spec_equality_and_repr_alone() -> None:
    fresh = CommandSpec("Send-It", _SEND.parameters)
    _SEND.lookup("Subject")
    assert fresh == _SEND and hash(fresh) == hash(_SEND) and repr(fresh) == repr(_SEND)
    assert "_answers" not in repr(_SEND)


def test_name_hits_are_remembered_per_script() -> None:
    one = Script("Send-It -To a\nNew-Object X\n")
    two = Script("# Send-It\nWrite-Host 1\nSend-It -To b\n")
    assert _name_hits(one, ["send-it"]) == [(0, 7)]
    assert _name_hits(two, ["send-it"]) == [(23, 30)]
    assert _name_hits(one, ["new-object", "send-it"]) == [(0, 7), (14, 24)]
    assert _name_hits(one, ["send-it"]) == [(0, 7)]
    assert _name_hits(two, ["new-object"]) == []
    sites = find_command_sites(two, {"send-it": "Send-It"}, module="*")
    assert [(s.name_start, s.written) for s in sites] == [(23, "Send-It")]
    assert [(s.name_start, s.written) for s in find_command_sites(one, {"send-it": "Send-It"}, module="*")] == [(0, "Send-It")]


def test_static_values_are_remembered_per_text_and_mode_and_each_caller_gets_its_own_list() -> None:
    from scanner.analysis.literals import static_value

    assert static_value("Get", argument_mode=True) == "Get"
    assert static_value("Get") is None
    assert static_value("Get", argument_mode=True) == "Get"
    first = static_value("'a', 'b'")
    assert first == ["a", "b"]
    assert isinstance(first, list)
    first.append("changed by a caller")
    assert static_value("'a', 'b'") == ["a", "b"]
    assert static_value(" 25 ") == 25 and static_value("25") == 25 and static_value("$TRUE") is True
    long_text = "'" + "x" * 2000 + "'"
    assert static_value(long_text) == "x" * 2000


def test_tracer_assignments_are_read_per_name_and_per_script() -> None:
    from scanner.secrets import _Tracer

    one = _Tracer(Script("$a = 'x'\n$b = 'y'; $A.k = 2\n$a = @(1,\n 2)\n"))
    two = _Tracer(Script("$a = 'z'\n"))
    assert [(m, one.text[s:e]) for m, s, e in one.assignments("b")] == [("", "'y'")]
    assert [(m, one.text[s:e]) for m, s, e in one.assignments("A")] == [("", "'x'"), (".k", "2"), ("", "@(1,\n 2)")]
    assert [(m, two.text[s:e]) for m, s, e in two.assignments("a")] == [("", "'z'")]
    assert one.assignments("a") == one.assignments("A") and one.assignments("nothing") == []
