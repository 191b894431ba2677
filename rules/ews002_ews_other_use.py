"""EWS002 ews-other-use: a script that uses EWS for more than sending mail (reads, searches, calendar), once per script."""

from __future__ import annotations

from scanner.rules import Example, Rule, Verdict

from scanner.model import Api, Assessment, Confidence, MailCall, Severity
from scanner.extract.ews import OTHER_USE_FORM


def check(call: MailCall, assessment: Assessment | None) -> Verdict | None:

    if call.form != OTHER_USE_FORM:
        return None
    assert assessment is not None
    return Verdict(f"Other EWS use ({call.command}): {assessment.verdict}", Severity.INFO, Confidence.MEDIUM)


RULE = Rule(
    id="EWS002",
    name="ews-other-use",
    severity=Severity.INFO,
    summary="A script that uses EWS for reads, searches or calendar: in Exchange Online it stops working on 1 April 2027 at the latest.",
    what_it_does=(
        "Reports, once per script, every use of Exchange Web Services that is not a send: Managed API operations "
        "(`FindItems`, `Bind`, `Load`, `FindAppointments`, `Update`, `Delete`, `Move`, notifications, rules, "
        "availability), SOAP requests other than a sending `CreateItem` / `SendItem` (`FindItem`, `GetItem`, "
        "`GetUserAvailabilityRequest`, …), a `New-WebServiceProxy` of EWS, or an `ExchangeService` that the file "
        "connects and hands on. The endpoint decides the verdict as for EWS001."
    ),
    why_bad=(
        "The same retirement as for EWS sends: blocked by default in Exchange Online since 1 October 2026 unless the "
        "tenant allow-lists the app, switched off for good on 1 April 2027. smtp2graph migrates mail sends only, so "
        "this is information for whoever owns the script: on-premises Exchange is not affected."
    ),
    example=(
        "$service = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
        "$service.Url = 'https://outlook.office365.com/EWS/Exchange.asmx'\n"
        "$view = New-Object Microsoft.Exchange.WebServices.Data.ItemView(50)\n"
        "$items = $service.FindItems([Microsoft.Exchange.WebServices.Data.WellKnownFolderName]::Inbox, $view)"
    ),
    use_instead=(
        "# Microsoft Graph: GET /users/{id}/mailFolders/inbox/messages?$top=50\n"
        "Get-MgUserMailFolderMessage -UserId 'reports@contoso.com' -MailFolderId 'inbox' -Top 50"
    ),
    fix_safety="No fix: the operations are rewritten by hand against Microsoft Graph (messages, mailFolders, events, mailboxSettings).",
    references=(
        "https://techcommunity.microsoft.com/blog/exchange/retirement-of-exchange-web-services-in-exchange-online/3924440",
        "https://learn.microsoft.com/graph/migrate-exchange-web-services-overview",
    ),
    apis=(Api.EWS,),
    check=check,
    bad=(
        Example(
            "$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
            "$svc.Url = 'https://outlook.office365.com/EWS/Exchange.asmx'\n"
            "$a = $svc.FindItems('Inbox', $view)\n$b = $svc.FindAppointments('Calendar', $cv)\n",
            1,
        ),
        Example(
            "$req = '<soap:Envelope><soap:Body><m:FindItem Traversal=\"Shallow\"/></soap:Body></soap:Envelope>'\n"
            "Invoke-WebRequest -Uri 'https://outlook.office365.com/EWS/Exchange.asmx' -Method Post -Body $req -Headers @{Authorization = \"Bearer $t\"}\n",
            1,
        ),
    ),
    good=(
        Example(
            "$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
            "$m = New-Object Microsoft.Exchange.WebServices.Data.EmailMessage($svc)\n$m.ToRecipients.Add('a@contoso.com')\n$m.Send()\n",
            0,
        ),
        Example("Get-MgUserMessage -UserId 'me@contoso.com' -Top 5\n", 0),
    ),
    tags=("ews", "exchange-online"),
)
