# Nightly disk-space report: collects free space from the file servers, writes CSV files,
# and mails every CSV produced tonight to the storage team.
$ErrorActionPreference = 'Stop'
$servers   = 'FS01', 'FS02', 'FS03'
$reportDir = Join-Path $env:TEMP 'disk-report'
New-Item -ItemType Directory -Path $reportDir -Force | Out-Null

foreach ($server in $servers) {
    Get-CimInstance -ClassName Win32_LogicalDisk -ComputerName $server -Filter 'DriveType = 3' |
        Select-Object SystemName, DeviceID,
            @{ Name = 'FreeGB'; Expression = { [math]::Round($_.FreeSpace / 1GB, 1) } },
            @{ Name = 'SizeGB'; Expression = { [math]::Round($_.Size / 1GB, 1) } } |
        Export-Csv -Path (Join-Path $reportDir "$server.csv") -NoTypeInformation
}

$smtpCredential = Import-Clixml -Path 'C:\Secure\svc-reports.xml'
$PSEmailServer = 'smtp.office365.com'

Get-ChildItem -Path $reportDir -Filter *.csv |
    Send-MailMessage -To 'storage-team@contoso.com', 'it-ops@contoso.com' `
        -From 'reports@contoso.com' -Subject "Disk report $(Get-Date -Format yyyy-MM-dd)" `
        -Body 'Tonight''s disk report is attached.' -Port 587 -UseSsl -Credential $smtpCredential `
        -Priority Low
