"""The EWS oracle (issue 24, item 3) and the EWS fake it runs the originals against.

Each SOAP send shape of tests/oracle/ews.py runs twice in pwsh: as written, against the local EWS
fake (which records the CreateItem), and as scanner.migrate.ews_fix patches it, against the Graph
fake; the messages and the control flow compare in the success mode and with both sides refusing (403).
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

import pytest

from fakes.ews import FakeEws, parse_create_item
from oracle.ews import envelope, patch, render, run_ews_oracle, shapes


def _post(ews: FakeEws, body: bytes, auth: bool = True) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(ews.ca_path))
    headers = {"Content-Type": "text/xml"} | ({"Authorization": "Bearer t"} if auth else {})
    request = urllib.request.Request(ews.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_fake_records_what_a_create_item_sends() -> None:
    soap = envelope(subject="Hi &amp; bye", body="x", ToRecipients=["A@Contoso.com"], BccRecipients=["b@contoso.com"]).encode()
    (message,) = parse_create_item(soap)
    assert (message["subject"], message["to"], message["bcc"], message["disposition"]) == ("Hi & bye", ["a@contoso.com"], ["b@contoso.com"], "SendAndSaveCopy")
    with FakeEws() as ews:
        status, body = _post(ews, soap)
        assert status == 200 and b'ResponseClass="Success"' in body and b"NoError" in body
        assert len(ews.sent) == 1
        assert _post(ews, soap, auth=False)[0] == 401
        status, body = _post(ews, b"<not-soap/>")
        assert status == 500 and b"ErrorSchemaValidation" in body
        draft = soap.replace(b'MessageDisposition="SendAndSaveCopy"', b'MessageDisposition="SaveOnly"')
        assert _post(ews, draft)[0] == 200 and len(ews.sent) == 1  # a draft is not a send
    with FakeEws(mode="blocked") as ews:
        assert _post(ews, soap)[0] == 403 and not ews.sent


def test_every_shape_is_patched_by_the_ews_fix() -> None:
    for shape in shapes():
        result = patch(shape.script, f"{shape.name}.ps1")
        assert result.applied == 1, (shape.name, result.reason)
        assert "Send-GraphMailMessage" in result.text and result.text.startswith("Import-Module Smtp2Graph\n")


@pytest.mark.pwsh
def test_ews_oracle_original_against_ews_patched_against_graph() -> None:
    outcomes = run_ews_oracle()
    table = render(outcomes)
    assert len(outcomes) == len(shapes()) and all(o.patched for o in outcomes), table
    assert all(o.original_messages == 1 and o.graph_messages == 1 for o in outcomes), table
    assert all(not o.differences and not o.reason for o in outcomes), table
