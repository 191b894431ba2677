# Alerts the on-call mailbox when a monitored Windows service stops.
# Uses System.Net.Mail directly because it predates Send-MailMessage in this team.
param(
    [string[]]$ServiceName = @('Spooler', 'W3SVC')
)

$stopped = Get-Service -Name $ServiceName | Where-Object Status -ne 'Running'
if (-not $stopped) { return }

$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)
$smtp.EnableSsl = $true
$smtp.Credentials = New-Object System.Net.NetworkCredential('monitoring@contoso.com', $env:MONITORING_SMTP_PASSWORD)

$message = New-Object System.Net.Mail.MailMessage
$message.From = New-Object System.Net.Mail.MailAddress('monitoring@contoso.com', 'Contoso Monitoring')
$message.To.Add('oncall@contoso.com')
$message.CC.Add('it-ops@contoso.com')
$message.Subject = "Service alert on $env:COMPUTERNAME"
$message.Body = ($stopped | Format-Table Name, Status -AutoSize | Out-String)
$message.Priority = [System.Net.Mail.MailPriority]::High
$message.Headers.Add('X-Contoso-Alert', 'service-stopped')

try {
    $smtp.Send($message)
}
finally {
    $message.Dispose()
    $smtp.Dispose()
}
