<#
.SYNOPSIS
    Backup job alert, ported from the old VBScript. Uses CDO because "it always worked".
#>
$schema = 'http://schemas.microsoft.com/cdo/configuration/'

$msg = New-Object -ComObject CDO.Message
$msg.From = 'backup@contoso.com'
$msg.To = 'ops@contoso.com;dba@contoso.com'
$msg.Subject = 'Backup finished on ' + $env:COMPUTERNAME
$msg.TextBody = Get-Content -Path 'D:\Backup\last-run.log' -Raw

$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/sendusing').Value = 2
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpserver').Value = 'smtp.office365.com'
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpserverport').Value = 587
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpusessl').Value = $true
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpauthenticate').Value = 1
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/sendusername').Value = 'backup@contoso.com'
$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/sendpassword').Value = 'P@ssw0rd-example'
$msg.Configuration.Fields.Update()

$msg.AddAttachment('D:\Backup\last-run.log')
$msg.Send()
