@{
    RootModule        = 'MailTools.psm1'
    ModuleVersion     = '1.2.0'
    GUID              = '6f1c2b1e-3f7a-4d8e-9c51-2a7d0e4b9f10'
    Author            = 'Contoso IT'
    Description       = 'Mail helpers (Send-MailMessage wrapper) for report scripts.'
    FunctionsToExport = @('Send-ReportMail')
}
