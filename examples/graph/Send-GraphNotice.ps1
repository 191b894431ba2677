# Already migrated: sends the maintenance notice through Microsoft Graph with an app-only token.
# The certificate lives in the machine store; no password anywhere.
Import-Module "$PSScriptRoot\..\..\Smtp2Graph\Smtp2Graph.psd1"
Connect-Smtp2Graph -TenantId 'contoso.onmicrosoft.com' -ClientId '00000000-0000-0000-0000-000000000001' -CertificateThumbprint 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678'

Send-GraphMailMessage -From 'maintenance@contoso.com' -To 'all-staff@contoso.com' `
    -Subject 'Planned maintenance on Saturday' -Body 'The ERP system is unavailable from 08:00 to 12:00.'
