# Forwards scanned documents through the on-premises relay: anonymous, internal only.
$files = Get-ChildItem -Path '\\scanner01\outbox' -Filter *.pdf
foreach ($file in $files) {
    Send-MailMessage -To 'records@contoso.com' -From 'scanner01@contoso.com' `
        -Subject "Scanned: $($file.Name)" -Attachments $file.FullName `
        -SmtpServer 'relay.contoso.local' -Port 25
}
