# Copy to Smtp2Graph.config.psd1 beside Smtp2Graph.psm1 and fill in. SMTP2GRAPH_* environment variables
# override these values. Never put a secret here: use a certificate, a managed identity, or a secret
# stored with Microsoft.PowerShell.SecretManagement (ClientSecretName) instead.
@{
    TenantId              = 'contoso.onmicrosoft.com'
    ClientId              = '00000000-0000-0000-0000-000000000000'
    # One of: Auto, Certificate, ManagedIdentity, ClientSecret, MgGraph
    AuthMethod            = 'Auto'
    # Certificate in Cert:\CurrentUser\My or Cert:\LocalMachine\My (the private key must be readable by the account)
    CertificateThumbprint = ''
    # Or a PFX file; its password comes from the SecretManagement secret named here
    CertificatePath       = ''
    CertificatePasswordName = ''
    # Client secret kept in SecretManagement (Get-Secret -Name ... -Vault ...)
    ClientSecretName      = ''
    SecretVault           = ''
    # User-assigned managed identity (leave empty for the system-assigned one)
    ManagedIdentityClientId = ''
    # Send-MailMessage never kept a copy in Sent Items; set to $true to keep one.
    SaveToSentItems       = $false
}
