<#
.SYNOPSIS
    Weekly status mail, run by hand on the team lead's PC.
#>
$outlook = New-Object -ComObject Outlook.Application
$mail = $outlook.CreateItem(0)
$mail.To = 'team@contoso.com'
$mail.CC = 'manager@contoso.com'
$mail.Subject = 'Weekly status'
$mail.HTMLBody = Get-Content -Path "$env:USERPROFILE\Documents\status.html" -Raw
$null = $mail.Attachments.Add("$env:USERPROFILE\Documents\status.xlsx")
$mail.Send()
