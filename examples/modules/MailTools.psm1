function Send-ReportMail {
    <#
    .SYNOPSIS
        Team wrapper around Send-MailMessage; every report script calls this.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string[]]$To,
        [Parameter(Mandatory)] [string]$Subject,
        [string]$Body = '',
        [string[]]$Attachments
    )
    $params = @{
        To         = $To
        From       = 'reports@contoso.com'
        Subject    = $Subject
        Body       = $Body
        SmtpServer = 'smtp.office365.com'
        Port       = 587
        UseSsl     = $true
        Credential = (Import-Clixml -Path "$env:ProgramData\Contoso\reports-smtp.xml")
    }
    if ($Attachments) { $params.Attachments = $Attachments }
    Send-MailMessage @params
}

Export-ModuleMember -Function Send-ReportMail
