# This script used to mail the results:
#   Send-MailMessage -To 'team@contoso.com' -Subject 'Done' -SmtpServer smtp.office365.com -Credential $c
# It now only writes the log; see the wiki page "Why we stopped mailing logs".
<#
    Send-MailMessage -To 'archive@contoso.com' -SmtpServer smtp.office365.com
#>
$log = "Finished at $(Get-Date). Send-MailMessage is no longer used here."
Add-Content -Path "$env:TEMP\archive.log" -Value $log
