<#
.SYNOPSIS
    Mails the nightly disk report through MailKit (replaced Send-MailMessage in 2021).
#>
param(
    [string]$ReportPath = 'C:\Reports\disk-usage.csv',
    [string]$CredentialPath = 'C:\Secure\smtp-report.xml'
)

Add-Type -Path 'C:\Program Files\PackageManagement\NuGet\Packages\MimeKit.4.3.0\lib\net48\MimeKit.dll'
Add-Type -Path 'C:\Program Files\PackageManagement\NuGet\Packages\MailKit.4.3.0\lib\net48\MailKit.dll'

$credential = Import-Clixml -Path $CredentialPath

$message = New-Object MimeKit.MimeMessage
$message.From.Add([MimeKit.MailboxAddress]::new('Disk report', 'reports@contoso.com'))
$message.To.Add([MimeKit.MailboxAddress]::new('Server team', 'servers@contoso.com'))
$message.Subject = 'Nightly disk usage'

$builder = New-Object MimeKit.BodyBuilder
$builder.TextBody = 'The disk usage report is attached.'
$null = $builder.Attachments.Add($ReportPath)
$message.Body = $builder.ToMessageBody()

$client = New-Object MailKit.Net.Smtp.SmtpClient
try {
    $client.Connect('smtp.office365.com', 587, [MailKit.Security.SecureSocketOptions]::StartTls)
    $client.Authenticate($credential.UserName, $credential.GetNetworkCredential().Password)
    $client.Send($message)
}
finally {
    $client.Disconnect($true)
    $client.Dispose()
}
