<#
.SYNOPSIS
    Change notification sent with the Microsoft Graph PowerShell SDK (app-only, certificate).
#>
param(
    [string]$TenantId = 'contoso.onmicrosoft.com',
    [string]$ClientId = '11111111-2222-3333-4444-555555555555',
    [string]$Thumbprint = '0123456789ABCDEF0123456789ABCDEF01234567'
)

Connect-MgGraph -ClientId $ClientId -TenantId $TenantId -CertificateThumbprint $Thumbprint -NoWelcome

$params = @{
    Message         = @{
        Subject      = 'Change CHG0042 approved'
        Body         = @{ ContentType = 'HTML'; Content = '<p>The change was approved.</p>' }
        ToRecipients = @(
            @{ EmailAddress = @{ Address = 'cab@contoso.com' } }
        )
    }
    SaveToSentItems = $true
}
Send-MgUserMail -UserId 'changes@contoso.com' -BodyParameter $params

# The old way this script used to end, kept for the log: /me does not work with an app-only token.
Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/sendMail' -Body ($params | ConvertTo-Json -Depth 10)
