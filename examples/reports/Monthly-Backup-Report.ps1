# Uses the team wrapper from MailTools: this file never names Send-MailMessage itself.
Import-Module "$PSScriptRoot\..\modules\MailTools.psd1"
$failed = Get-Content -Path "$PSScriptRoot\backup-failures.txt"
Send-ReportMail -To 'backup-team@contoso.com' -Subject 'Monthly backup report' -Body ($failed -join "`n")
