# Weekly licence summary for the finance team. Defaults for every Send-MailMessage in this
# session come from $PSDefaultParameterValues, and the call itself is splatted.
$PSDefaultParameterValues['Send-MailMessage:SmtpServer'] = 'smtp.office365.com'
$PSDefaultParameterValues['Send-MailMessage:Port'] = 587
$PSDefaultParameterValues['Send-MailMessage:UseSsl'] = $true

$summary = Get-Content -Path "$PSScriptRoot\licences.txt" -Raw

$mailParams = @{
    From       = 'licensing@contoso.com'
    To         = 'finance@contoso.com'
    Subject    = 'Weekly Microsoft 365 licence summary'
    Body       = $summary
    Credential = (Get-StoredCredential -Target 'licensing-smtp')
}
if ((Get-Date).Day -le 7) {
    # first week of the month: the CFO gets a copy
    $mailParams['Cc'] = 'cfo@contoso.com'
}

Send-MailMessage @mailParams -Encoding UTF8
