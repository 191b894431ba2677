<#
.SYNOPSIS
    Licence report, already moved to Microsoft Graph (client credentials) - but with the classic bugs.
#>
param(
    [string]$TenantId = 'contoso.onmicrosoft.com',
    [string]$ClientId = '11111111-2222-3333-4444-555555555555',
    [string]$Sender = 'reports@contoso.com',
    [string]$ReportPath = 'C:\Reports\licences.csv'
)

$tokenRequest = @{
    client_id     = $ClientId
    client_secret = 'Example~Secret~Value-0000'
    scope         = 'https://graph.microsoft.com/.default'
    grant_type    = 'client_credentials'
}
$token = Invoke-RestMethod -Method Post -Uri "https://login.microsoftonline.com/$TenantId/oauth2/v2.0/token" -Body $tokenRequest

$attachment = @{
    '@odata.type' = '#microsoft.graph.fileAttachment'
    name          = 'licences.csv'
    contentType   = 'text/csv'
    contentBytes  = [Convert]::ToBase64String([IO.File]::ReadAllBytes($ReportPath))
}
$message = @{
    message         = @{
        subject      = 'Licence report'
        body         = @{ contentType = 'Text'; content = 'The licence report is attached.' }
        toRecipients = @(
            @{ emailAddress = @{ address = 'it-finance@contoso.com' } }
        )
        attachments  = @($attachment)
    }
    saveToSentItems = $false
}
$headers = @{ Authorization = "Bearer $($token.access_token)" }

Invoke-RestMethod -Method Post -Uri "https://graph.microsoft.com/v1.0/users/$Sender/sendMail" -Headers $headers -ContentType 'application\json' -Body ($message | ConvertTo-Json)
