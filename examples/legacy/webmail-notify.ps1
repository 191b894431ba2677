<#
.SYNOPSIS
    Account expiry notice. Windows PowerShell 5.1 only (System.Web.Mail).
#>
Add-Type -AssemblyName System.Web

$mail = New-Object System.Web.Mail.MailMessage
$mail.From = 'identity@contoso.com'
$mail.To = 'helpdesk@contoso.com'
$mail.Subject = 'Accounts expiring this week'
$mail.BodyFormat = [System.Web.Mail.MailFormat]::Html
$mail.Body = (Get-ADUser -Filter 'Enabled -eq $true' -Properties AccountExpirationDate | ConvertTo-Html -Fragment | Out-String)
$mail.Fields.Add('http://schemas.microsoft.com/cdo/configuration/smtpauthenticate', 2)

[System.Web.Mail.SmtpMail]::SmtpServer = 'mail.contoso.local'
[System.Web.Mail.SmtpMail]::Send($mail)
