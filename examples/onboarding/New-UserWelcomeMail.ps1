<#
.SYNOPSIS
    Sends the Office 365 welcome mail to a new starter.
.DESCRIPTION
    Classic onboarding script: HR runs it after the account is created. It sends through
    smtp.office365.com with the helpdesk mailbox's password.
.EXAMPLE
    .\New-UserWelcomeMail.ps1 -UserPrincipalName jane.doe@contoso.com -DisplayName 'Jane Doe'
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string]$UserPrincipalName,

    [Parameter(Mandatory)]
    [string]$DisplayName,

    [string]$Manager = 'it-onboarding@contoso.com'
)

$securePassword = ConvertTo-SecureString 'Welcome-Example-Only-1!' -AsPlainText -Force
$credential = New-Object System.Management.Automation.PSCredential('helpdesk@contoso.com', $securePassword)

$body = @"
<p>Hello $DisplayName,</p>
<p>Welcome to Contoso! Your account <b>$UserPrincipalName</b> is ready.</p>
<p>Your first-day checklist is attached.</p>
"@

Send-MailMessage -To $UserPrincipalName -Cc $Manager -From 'Contoso Helpdesk <helpdesk@contoso.com>' `
    -Subject "Welcome to Contoso, $DisplayName" -Body $body -BodyAsHtml `
    -Attachments "$PSScriptRoot\First-Day-Checklist.pdf" `
    -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $credential

Write-Verbose "Welcome mail sent to $UserPrincipalName"
