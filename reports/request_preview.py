"""Which values of a finding's Graph request preview are PowerShell expressions, not JSON values.

The scan's ``fix.graph_request`` is the sendMail body with constants as themselves and run-time values
as the PowerShell text that computes them (scanner.migrate.mapping): ``"toRecipients": "$EmailTo"``.
Shown as JSON, that text reads as a string the script sends. The page marks each such value as an
expression instead; this module says which ones are, from the request and the call's bound parameters.
"""

from __future__ import annotations

from typing import Optional, Union

from scanner.migrate.mapping import is_literal_text, ps_expression

JsonPath = list[Union[str, int]]

# Graph wants an array or an object here: a string in its place is always PowerShell text.
_STRUCTURED = frozenset({"toRecipients", "ccRecipients", "bccRecipients", "replyTo", "from", "attachments",
                         "internetMessageHeaders"})
# A string value and the Send-MailMessage parameter (canonical for every API) it was written as.
_FROM_PARAMETER = {("subject",): "Subject", ("body", "content"): "Body"}
# Values that take only these constants; anything else is the expression choosing one at run time.
_CLOSED = {("body", "contentType"): frozenset({"text", "html"}), ("importance",): frozenset({"low", "normal", "high"})}


def request_expressions(request: object, params: object) -> list[JsonPath]:
    """The JSON paths (keys and list indexes from the request's root) of the values that are PowerShell
    expressions evaluated when the script runs. A resolved constant is not one: it is what Graph gets."""
    if not isinstance(request, dict):
        return []
    texts = _parameter_texts(params)
    message = request.get("message")
    if isinstance(message, str):
        return [["message"]]  # a MailMessage object built at run time
    if not isinstance(message, dict):
        return []
    paths: list[JsonPath] = []
    for key, value in message.items():
        if key in _STRUCTURED and isinstance(value, str):
            paths.append(["message", key])
        elif key == "attachments" and isinstance(value, list):
            # The file's bytes are read when the script runs, whatever its name.
            paths.extend(["message", key, index, "contentBytes"] for index, item in enumerate(value)
                         if isinstance(item, dict) and isinstance(item.get("contentBytes"), str))
        elif key == "internetMessageHeaders" and isinstance(value, list):
            paths.extend(["message", key, index, "value"] for index, item in enumerate(value)
                         if isinstance(item, dict) and _looks_computed(item.get("value")))
        elif key == "isDeliveryReceiptRequested" and isinstance(value, str):
            paths.append(["message", key])  # the constant is a boolean
        elif key == "body" and isinstance(value, dict):
            paths.extend(["message", "body", part] for part in ("contentType", "content")
                         if _is_expression(("body", part), value.get(part), texts))
        elif _is_expression((key,), value, texts):
            paths.append(["message", key])
    return paths


def _parameter_texts(params: object) -> dict[str, tuple[str, str]]:
    """Each bound parameter's PowerShell text and how it was bound (`literal`, `splat`, `unresolved` …)."""
    if not isinstance(params, dict):
        return {}
    return {str(name): (str(param["text"]), str(param.get("kind"))) for name, param in params.items()
            if isinstance(param, dict) and isinstance(param.get("text"), str)}


def _is_expression(where: tuple[str, ...], value: object, texts: dict[str, tuple[str, str]]) -> bool:
    if not isinstance(value, str):
        return False
    if where in _CLOSED:
        return value.lower() not in _CLOSED[where]
    parameter = _FROM_PARAMETER.get(where)
    if parameter is None:
        return False
    bound = texts.get(parameter)
    if bound is None:
        return _looks_computed(value)
    text, kind = bound
    # The mapping writes a run-time value as the parameter's own text (made an expression); a constant,
    # resolved from a variable or written as a quoted literal, differs from that text. A bare word
    # (`-Subject Hello`) is the one constant written as itself, unless the binder could not resolve it.
    return (kind == "unresolved" or not is_literal_text(text)) and value in _expression_forms(text)


def _expression_forms(text: str) -> set[str]:
    stripped = text.strip()
    forms = {stripped, ps_expression(stripped)}
    if stripped.startswith("{") and stripped.endswith("}"):
        forms.add(ps_expression(f"(& {stripped})"))  # a $PSDefaultParameterValues script block runs
    return forms


def _looks_computed(value: Optional[object]) -> bool:
    """No parameter to compare with: PowerShell text starts with a variable, a sub-expression or a cast."""
    return isinstance(value, str) and value.strip().startswith(("$", "(", "@(", "[")) and len(value.strip()) > 1
