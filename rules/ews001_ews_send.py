"""EWS001 ews-send: mail sent through Exchange Web Services (Managed API, SOAP CreateItem/SendItem, web service proxy)."""

from __future__ import annotations

from scanner.rules import Example, Rule, Verdict

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.extract.ews import OTHER_USE_FORM

_SHAPES = {
    "send": "EmailMessage.Send()",
    "send-and-save-copy": "EmailMessage.SendAndSaveCopy()",
    "reply": "a reply",
    "forward": "a forward",
    "soap-createitem": "a SOAP CreateItem",
    "soap-senditem": "a SOAP SendItem",
    "web-service-proxy": "a New-WebServiceProxy request",
}


def check(call: MailCall, assessment: Assessment | None) -> Verdict | None:

    if call.form == OTHER_USE_FORM or not call.sent:
        return None
    assert assessment is not None
    shape = _SHAPES.get(call.form, call.form)
    return Verdict(f"EWS send ({shape}, {call.command}): {assessment.verdict}", assessment.severity)


RULE = Rule(
    id="EWS001",
    name="ews-send",
    severity=Severity.HIGH,
    summary="Mail sent through Exchange Web Services: in Exchange Online it is blocked by default since 1 October 2026 and switched off on 1 April 2027.",
    what_it_does=(
        "Finds mail sent through Exchange Web Services: an EWS Managed API `ExchangeService` followed to the "
        "`EmailMessage` built on it and its `Send()` / `SendAndSaveCopy()` (also through variables, functions that "
        "receive the message or the service, and `using namespace Microsoft.Exchange.WebServices.Data`); replies "
        "and forwards that send (`Reply(body, $true)`, `Forward(body, $to)`, a `CreateReply()` / `CreateForward()` "
        "response message's `SendAndSaveCopy()`); SOAP `CreateItem` requests with `MessageDisposition=\"SendOnly\"` "
        "or `\"SendAndSaveCopy\"` and `SendItem` requests posted with Invoke-WebRequest, Invoke-RestMethod, "
        "WebClient, HttpClient or WebRequest; and `CreateItem()` / `SendItem()` on a `New-WebServiceProxy`. "
        "The message is read in Send-MailMessage's names (From, To, Cc, Bcc, ReplyTo, Subject, Body, BodyAsHtml, "
        "Attachments, Priority); the endpoint from the service's `Url`, the posted URL or "
        "`AutodiscoverUrl(address)`, and the logon (password, OAuth token, default credentials) is recorded."
    ),
    why_bad=(
        "Exchange Web Services in Exchange Online is being retired: since 1 October 2026 every tenant that had not "
        "set `EWSEnabled` has it set to False, which blocks EWS unless the tenant allows it again with an app allow "
        "list, and on 1 April 2027 EWS in Exchange Online is switched off for good, with no exceptions. A password "
        "or the Windows logon has not worked against Exchange Online EWS since October 2022. The same code against "
        "an on-premises Exchange server keeps working and is reported as not affected."
    ),
    example=(
        "$service = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
        "$service.Url = 'https://outlook.office365.com/EWS/Exchange.asmx'\n"
        "$service.Credentials = New-Object Microsoft.Exchange.WebServices.Data.OAuthCredentials($token)\n"
        "$message = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($service)\n"
        "$message.Subject = 'Nightly export'\n"
        "$message.Body = 'The export finished.'\n"
        "$message.ToRecipients.Add('ops@contoso.com')\n"
        "$message.SendAndSaveCopy()"
    ),
    use_instead=(
        "Import-Module Smtp2Graph\n"
        "Send-GraphMailMessage -From 'reports@contoso.com' -To 'ops@contoso.com' -Subject 'Nightly export' `\n"
        "    -Body 'The export finished.' -BodyAsHtml -SaveToSentItems"
    ),
    fix_safety=(
        "Display-only until the fix writer maps EWS: the finding carries the Graph request and the inline and SDK "
        "snippets built from the bound message. The sender must be known (the message's From, the impersonated "
        "mailbox or the Autodiscover address). A reply or forward, a message read from the mailbox (a draft), a copy "
        "saved to a folder other than Sent Items, extended properties, or an attachment named apart from its file "
        "cannot be expressed by one Send-GraphMailMessage call: they are said in the notes and such a rewrite is "
        "unsafe. EWS reads a plain string body as HTML, so the rewrite keeps -BodyAsHtml unless the body type is Text."
    ),
    references=(
        "https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-send-email-messages-by-using-ews-in-exchange",
        "https://learn.microsoft.com/exchange/client-developer/web-service-reference/createitem-operation-email-message",
        "https://techcommunity.microsoft.com/blog/exchange/retirement-of-exchange-web-services-in-exchange-online/3924440",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.EWS,),
    check=check,
    bad=(
        Example(
            "$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
            "$svc.Url = New-Object Uri('https://outlook.office365.com/EWS/Exchange.asmx')\n"
            "$svc.Credentials = New-Object Microsoft.Exchange.WebServices.Data.WebCredentials('svc@contoso.com', $pw)\n"
            "$m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($svc)\n"
            "$m.Subject = 'x'\n$m.ToRecipients.Add('a@contoso.com')\n$m.Send()\n",
            1,
        ),
        Example(
            "$soap = @'\n<soap:Envelope><soap:Body><m:CreateItem MessageDisposition=\"SendAndSaveCopy\"><m:Items><t:Message>"
            "<t:Subject>Hi</t:Subject></t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>\n'@\n"
            "Invoke-RestMethod -Uri 'https://mail.contoso.local/EWS/Exchange.asmx' -Method Post -Body $soap -UseDefaultCredentials\n",
            1,
        ),
        Example(
            "$item = [Microsoft.Exchange.WebServices.Data.EmailMessage]::Bind($svc, $id)\n$item.Reply('Thanks, done.', $true)\n",
            1,
        ),
    ),
    good=(
        Example("$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n$svc.AutodiscoverUrl('me@contoso.com')\n$found = $svc.FindItems('Inbox', $view)\n", 0),
        Example("# $m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($svc); $m.Send()\n$text = 'MessageDisposition=\"SendOnly\"'\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("ews", "exchange-online"),
)
