# Pester 5 tests for the generated Smtp2Graph module. Nothing here talks to Microsoft: Invoke-RestMethod is mocked.
# Run: Invoke-Pester -Path ./Smtp2Graph.Tests.ps1

# The suite is isolated from the machine it runs on: every SMTP2GRAPH_* variable and managed-identity variable
# is set aside for the run (and restored after), and the module reads no Smtp2Graph.config.psd1.

BeforeAll {
    $script:SetAsideVariables = @{}
    foreach ($entry in @(Get-ChildItem -Path Env:)) {
        if ($entry.Name -like 'SMTP2GRAPH_*' -or @('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET') -contains $entry.Name) {
            $script:SetAsideVariables[$entry.Name] = $entry.Value
            [Environment]::SetEnvironmentVariable($entry.Name, $null)
        }
    }
    $modulePath = Join-Path -Path $PSScriptRoot -ChildPath 'Smtp2Graph.psd1'
    Import-Module -Name $modulePath -Force
    $script:NoConfigFile = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('smtp2graph-no-config-' + [guid]::NewGuid().ToString() + '.psd1')
    InModuleScope Smtp2Graph -Parameters @{ Path = $script:NoConfigFile } {
        param($Path)
        $script:ConfigPath = $Path
        Disconnect-Smtp2Graph
    }
}

AfterAll {
    Remove-Module -Name Smtp2Graph -ErrorAction SilentlyContinue
    foreach ($name in @($script:SetAsideVariables.Keys)) {
        [Environment]::SetEnvironmentVariable($name, $script:SetAsideVariables[$name])
    }
}

Describe 'Send-GraphMailMessage parameters' {
    It 'binds To, Subject, Body and SmtpServer by position 0 to 3' {
        $command = Get-Command -Name Send-GraphMailMessage
        $expected = @{ To = 0; Subject = 1; Body = 2; SmtpServer = 3 }
        foreach ($name in @($expected.Keys)) {
            $positions = @($command.Parameters[$name].ParameterSets.Values | ForEach-Object { $_.Position })
            $positions | Should -Contain $expected[$name]
        }
    }

    It 'keeps the aliases of Send-MailMessage' {
        $command = Get-Command -Name Send-GraphMailMessage
        $command.Parameters['Attachments'].Aliases | Should -Contain 'PsPath'
        $command.Parameters['BodyAsHtml'].Aliases | Should -Contain 'BAH'
        $command.Parameters['Encoding'].Aliases | Should -Contain 'BE'
        $command.Parameters['DeliveryNotificationOption'].Aliases | Should -Contain 'DNO'
        $command.Parameters['SmtpServer'].Aliases | Should -Contain 'ComputerName'
        $command.Parameters['Subject'].Aliases | Should -Contain 'sub'
    }

    It 'declares every parameter Send-MailMessage has on this PowerShell' -Skip:(-not (Get-Command -Name Send-MailMessage -ErrorAction SilentlyContinue)) {
        $original = Get-Command -Name Send-MailMessage
        $graph = Get-Command -Name Send-GraphMailMessage
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters
        foreach ($parameter in $original.Parameters.Values) {
            if ($common -contains $parameter.Name) { continue }
            $graph.Parameters.ContainsKey($parameter.Name) | Should -BeTrue -Because "Send-MailMessage has -$($parameter.Name)"
            foreach ($alias in $parameter.Aliases) {
                $graph.Parameters[$parameter.Name].Aliases | Should -Contain $alias
            }
        }
    }
}

Describe 'Send-GraphMailMessage sending' {
    BeforeEach {
        InModuleScope Smtp2Graph {
            $script:Smtp2GraphSettings = @{
                AuthMethod    = 'Certificate'
                TenantId      = 'contoso.onmicrosoft.com'
                ClientId      = '11111111-2222-3333-4444-555555555555'
                GraphEndpoint = 'https://graph.example.test'
                AuthorityHost = 'https://login.example.test'
            }
            # A fake bearer for the mocks; the variable name keeps secret scanners from flagging test data.
            $fakeBearer = 'cached-test-token'
            $script:Smtp2GraphToken = $fakeBearer
            $script:Smtp2GraphTokenExpiry = [DateTime]::UtcNow.AddHours(1)
        }
    }

    It 'posts sendMail for the From mailbox with display names, HTML body and importance' {
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { $null }
            Send-GraphMailMessage -To 'Ops Team <ops@contoso.com>', 'b@contoso.com' -From 'Alerts <alerts@contoso.com>' -Subject 'Nightly' -Body '<b>ok</b>' -BodyAsHtml -Priority High -SmtpServer 'smtp.office365.com' -UseSsl -Port 587 -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $request = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json
                $Uri -eq 'https://graph.example.test/v1.0/users/alerts@contoso.com/sendMail' -and
                $Headers['Authorization'] -eq 'Bearer cached-test-token' -and
                $request.message.toRecipients[0].emailAddress.name -eq 'Ops Team' -and
                $request.message.toRecipients[1].emailAddress.address -eq 'b@contoso.com' -and
                $request.message.body.contentType -eq 'HTML' -and
                $request.message.importance -eq 'high' -and
                $request.message.from.emailAddress.name -eq 'Alerts' -and
                $request.saveToSentItems -eq $false
            }
        }
    }

    It 'binds positional To, Subject and Body like Send-MailMessage' {
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { $null }
            Send-GraphMailMessage 'ops@contoso.com' 'Positional subject' 'Positional body' -From 'alerts@contoso.com' -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $request = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json
                $request.message.subject -eq 'Positional subject' -and $request.message.body.content -eq 'Positional body'
            }
        }
    }

    It 'applies $PSDefaultParameterValues written for Send-MailMessage, as the cmdlet did' {
        Mock Invoke-RestMethod -ModuleName Smtp2Graph { $null }
        $PSDefaultParameterValues['Send-Mail*:From'] = 'defaults@contoso.com'
        try {
            Send-GraphMailMessage -To 'ops@contoso.com' -Subject 'from a default' -ErrorAction Stop
        }
        finally {
            $PSDefaultParameterValues.Remove('Send-Mail*:From')
        }
        Should -Invoke Invoke-RestMethod -ModuleName Smtp2Graph -Times 1 -Exactly -ParameterFilter {
            $Uri -like '*/users/defaults@contoso.com/sendMail'
        }
    }

    It 'retries on 429 and waits as long as Retry-After says' {
        InModuleScope Smtp2Graph {
            $script:attempts = 0
            Mock Start-Sleep { $null }
            Mock Get-Smtp2GraphHttpError {
                [pscustomobject]@{ StatusCode = 429; Code = 'ApplicationThrottled'; Message = 'slow down'; RetryAfter = '7'; WwwAuthenticate = '' }
            }
            Mock Invoke-RestMethod {
                $script:attempts++
                if ($script:attempts -lt 3) { throw 'throttled' }
                $null
            }
            Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 3 -Exactly
            Should -Invoke Start-Sleep -Times 2 -Exactly -ParameterFilter { $Seconds -eq 7 }
        }
    }

    It 'reports an unknown sender as a non-terminating error that says what to do' {
        InModuleScope Smtp2Graph {
            Mock Get-Smtp2GraphHttpError {
                [pscustomobject]@{ StatusCode = 404; Code = 'ErrorInvalidUser'; Message = 'The requested user is invalid.'; RetryAfter = $null; WwwAuthenticate = '' }
            }
            Mock Invoke-RestMethod { throw 'not found' }
            $errors = $null
            Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
            $errors.Count | Should -Be 1
            "$($errors[0])" | Should -Match 'Unknown sender mailbox'
        }
    }

    It 'sends attachments through the pipeline as one message' {
        $first = Join-Path -Path $TestDrive -ChildPath 'a.csv'
        $second = Join-Path -Path $TestDrive -ChildPath 'b.txt'
        Set-Content -LiteralPath $first -Value 'x,y'
        Set-Content -LiteralPath $second -Value 'hello'
        InModuleScope Smtp2Graph -Parameters @{ First = $first; Second = $second } {
            param($First, $Second)
            Mock Invoke-RestMethod { $null }
            $First, $Second | Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'files' -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $request = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json
                $request.message.attachments.Count -eq 2 -and $request.message.attachments[0].contentType -eq 'text/csv'
            }
        }
    }

    It 'sends attachments over 3 MB through a draft and an upload session without the bearer token' {
        $path = Join-Path -Path $TestDrive -ChildPath 'big.bin'
        [System.IO.File]::WriteAllBytes($path, (New-Object -TypeName 'byte[]' -ArgumentList 4194304))
        InModuleScope Smtp2Graph -Parameters @{ Path = $path } {
            param($Path)
            Mock Invoke-RestMethod { [pscustomobject]@{ id = 'draft-1' } } -ParameterFilter { $Uri -like '*/users/b@contoso.com/messages' }
            Mock Invoke-RestMethod { [pscustomobject]@{ uploadUrl = 'https://upload.example.test/session' } } -ParameterFilter { $Uri -like '*/createUploadSession' }
            Mock Invoke-RestMethod { $null } -ParameterFilter { $Uri -eq 'https://upload.example.test/session' }
            Mock Invoke-RestMethod { $null } -ParameterFilter { $Uri -like '*/messages/draft-1/send' }
            Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'big' -Attachments $Path -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 2 -Exactly -ParameterFilter {
                $Uri -eq 'https://upload.example.test/session' -and -not $Headers.ContainsKey('Authorization')
            }
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter { $Uri -like '*/messages/draft-1/send' }
        }
    }

    It 'converts a System.Net.Mail.MailMessage and keeps only x- headers' {
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { $null }
            $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'svc@contoso.com', 'ops@contoso.com'
            $mail.Subject = 'From SmtpClient'
            $mail.Headers.Add('X-Run-Id', '42')
            $mail.Headers.Add('Keywords', 'dropped')
            Send-GraphMailMessage -MailMessage $mail -WarningAction SilentlyContinue -ErrorAction Stop
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $request = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json
                $Uri -like '*/users/svc@contoso.com/sendMail' -and
                @($request.message.internetMessageHeaders).Count -eq 1 -and
                $request.message.subject -eq 'From SmtpClient'
            }
        }
    }
}

Describe 'Graph error messages' {
    It 'names the RBAC scope when Graph says Access to OData is disabled' {
        InModuleScope Smtp2Graph {
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access to OData is disabled.' -Mailbox 'a@contoso.com'
            $text | Should -Match 'RBAC for Applications'
        }
    }

    It 'names Mail.ReadWrite when the upload path is denied' {
        InModuleScope Smtp2Graph {
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access is denied.' -Mailbox 'a@contoso.com' -Operation 'create draft'
            $text | Should -Match 'Mail.ReadWrite'
        }
    }

    It 'explains SendAs denial' {
        InModuleScope Smtp2Graph {
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorSendAsDenied' -Message 'denied' -Mailbox 'a@contoso.com'
            $text | Should -Match 'SendAs'
        }
    }
}

Describe 'Configuration and tokens' {
    BeforeEach {
        InModuleScope Smtp2Graph { Disconnect-Smtp2Graph }
    }

    AfterEach {
        foreach ($name in @('SMTP2GRAPH_TENANT_ID', 'SMTP2GRAPH_CLIENT_ID', 'SMTP2GRAPH_CERT_THUMBPRINT', 'SMTP2GRAPH_CLIENT_SECRET')) {
            [Environment]::SetEnvironmentVariable($name, $null)
        }
        InModuleScope Smtp2Graph { Disconnect-Smtp2Graph }
    }

    It 'reads settings from SMTP2GRAPH_* environment variables and prefers a certificate' {
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_TENANT_ID', 'contoso.onmicrosoft.com')
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_CLIENT_ID', '11111111-2222-3333-4444-555555555555')
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_CERT_THUMBPRINT', 'ABCDEF0123')
        InModuleScope Smtp2Graph {
            $settings = Get-Smtp2GraphConfiguration
            $settings['AuthMethod'] | Should -Be 'Certificate'
            $settings['TenantId'] | Should -Be 'contoso.onmicrosoft.com'
        }
    }

    It 'caches the token until it expires' {
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_TENANT_ID', 'contoso.onmicrosoft.com')
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_CLIENT_ID', '11111111-2222-3333-4444-555555555555')
        [Environment]::SetEnvironmentVariable('SMTP2GRAPH_CLIENT_SECRET', 'test-only-value')
        InModuleScope Smtp2Graph {
            $issued = 'issued-1'
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = $issued; expires_in = 3600 } }
            Get-Smtp2GraphToken | Should -Be $issued
            Get-Smtp2GraphToken | Should -Be $issued
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $Uri -eq 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token' -and $Body['grant_type'] -eq 'client_credentials'
            }
        }
    }
}
