# Pester 5 tests for the generated Smtp2Graph module. Nothing here talks to Microsoft: Invoke-RestMethod is mocked,
# and the two child scripts that check exit codes point the module at a closed port on 127.0.0.1.
# Run: Invoke-Pester -Path ./Smtp2Graph.Tests.ps1
#
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
    # What the mocked Graph received and the failures it is told to answer with, shared by the helpers and mocks below.
    $global:Smtp2GraphTestState = @{
        Requests  = New-Object System.Collections.ArrayList
        Responses = New-Object System.Collections.ArrayList
        UploadUrl = 'https://upload.example.test/session'
    }

    function Initialize-TestGraph {
        # A connected module (cached token) in front of a mocked Graph that records every request.
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
        $global:Smtp2GraphTestState.Requests.Clear()
        $global:Smtp2GraphTestState.Responses.Clear()
        $global:Smtp2GraphTestState.UploadUrl = 'https://upload.example.test/session'
        Mock Start-Sleep -ModuleName Smtp2Graph { $null }
        Mock Invoke-RestMethod -ModuleName Smtp2Graph { Invoke-TestGraph -Method $Method -Uri $Uri -Headers $Headers -Body $Body }
        # A failure is thrown as 'graph <status> <code> [<Retry-After>]', read back here as the module reads a real one.
        Mock Get-Smtp2GraphHttpError -ModuleName Smtp2Graph {
            $text = [string]$ErrorRecord.Exception.Message
            if ($text -match '^graph (\d+) (\S+)(?: (\S+))?$') {
                [pscustomobject]@{ StatusCode = [int]$Matches[1]; Code = $Matches[2]; Message = 'Graph answered ' + $Matches[2]; RetryAfter = $Matches[3]; WwwAuthenticate = '' }
            }
            else {
                [pscustomobject]@{ StatusCode = 0; Code = ''; Message = $text; RetryAfter = $null; WwwAuthenticate = '' }
            }
        }
    }

    function Invoke-TestGraph {
        param($Method, $Uri, $Headers, $Body)
        $state = $global:Smtp2GraphTestState
        $json = $null
        if ($Body -is [byte[]] -and $Body.Length -gt 0 -and "$Uri" -notlike 'https://upload.example.test/*') {
            $json = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json
        }
        $null = $state.Requests.Add([pscustomobject]@{ Method = "$Method"; Uri = "$Uri"; Headers = $Headers; Body = $Body; Json = $json })
        for ($i = 0; $i -lt $state.Responses.Count; $i++) {
            $entry = $state.Responses[$i]
            if ("$Uri" -like $entry.Like) {
                $state.Responses.RemoveAt($i)
                throw $entry.Failure
            }
        }
        if ("$Uri" -like '*/messages' -and "$Method" -eq 'Post') { return [pscustomobject]@{ id = 'draft-1' } }
        if ("$Uri" -like '*/createUploadSession') { return [pscustomobject]@{ uploadUrl = $state.UploadUrl } }
        $null
    }

    function Add-TestResponse {
        # The next request whose URI is -like $Like fails with $Failure ('graph 429 ApplicationThrottled 7').
        param([string]$Like, [string]$Failure)
        $null = $global:Smtp2GraphTestState.Responses.Add([pscustomobject]@{ Like = $Like; Failure = $Failure })
    }

    function Reset-TestResponse {
        $global:Smtp2GraphTestState.Responses.Clear()
    }

    function Get-TestRequest {
        # The last request (or -All of them) whose URI is -like $Like.
        param([string]$Like = '*', [switch]$All)
        $found = @($global:Smtp2GraphTestState.Requests | Where-Object { $_.Uri -like $Like })
        if ($All) { return $found }
        if ($found.Count -gt 0) { return $found[$found.Count - 1] }
    }

    function New-TestCertificateFile {
        # A throwaway self-signed certificate, with its private key (.pfx) and without it (.cer). PowerShell 7 makes it with
        # CertificateRequest; Windows PowerShell 5.1 on .NET Framework 4.6.2 has neither CertificateRequest nor
        # RSA.Create(int), so it uses New-SelfSignedCertificate and removes the certificate and its key from the store.
        param([string]$Password)
        $pfx = Join-Path -Path $TestDrive -ChildPath 'app.pfx'
        $cer = Join-Path -Path $TestDrive -ChildPath 'app.cer'
        if ($PSVersionTable.PSEdition -eq 'Core') {
            $rsa = [System.Security.Cryptography.RSA]::Create(2048)
            $request = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList 'CN=smtp2graph-test', $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
            $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(1))
            $pfxBytes = $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $Password)
        }
        else {
            $certificate = New-SelfSignedCertificate -Subject 'CN=smtp2graph-test' -CertStoreLocation 'Cert:\CurrentUser\My' -KeyExportPolicy Exportable -KeySpec Signature -KeyLength 2048 -KeyAlgorithm RSA -HashAlgorithm SHA256 -NotAfter (Get-Date).AddDays(1)
            try {
                $pfxBytes = $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $Password)
            }
            finally {
                Remove-Item -LiteralPath ('Cert:\CurrentUser\My\' + $certificate.Thumbprint) -DeleteKey
            }
        }
        [System.IO.File]::WriteAllBytes($pfx, $pfxBytes)
        [System.IO.File]::WriteAllBytes($cer, $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Cert))
        [pscustomobject]@{ Pfx = $pfx; Cer = $cer }
    }

    function New-TestFile {
        param([string]$Name, [int]$Bytes)
        $path = Join-Path -Path $TestDrive -ChildPath $Name
        $data = New-Object byte[] $Bytes
        (New-Object System.Random -ArgumentList 7).NextBytes($data)
        [System.IO.File]::WriteAllBytes($path, $data)
        $path
    }
}

AfterAll {
    Remove-Module -Name Smtp2Graph -ErrorAction SilentlyContinue
    Remove-Variable -Name Smtp2GraphTestState -Scope Global -ErrorAction SilentlyContinue
    foreach ($name in @($script:SetAsideVariables.Keys)) {
        [Environment]::SetEnvironmentVariable($name, $script:SetAsideVariables[$name])
    }
}

Describe 'Send-GraphMailMessage binds its parameters as Send-MailMessage does' {
    BeforeAll {
        $script:Graph = Get-Command -Name Send-GraphMailMessage
        $script:Original = Get-Command -Name Send-MailMessage -ErrorAction SilentlyContinue
        $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters
    }

    It 'binds To, Subject, Body and SmtpServer by position 0 to 3' {
        $expected = @{ To = 0; Subject = 1; Body = 2; SmtpServer = 3 }
        foreach ($name in @($expected.Keys)) {
            $positions = @($script:Graph.Parameters[$name].ParameterSets.Values | ForEach-Object { $_.Position })
            $positions | Should -Contain $expected[$name]
        }
    }

    It 'keeps the aliases of Send-MailMessage' {
        $script:Graph.Parameters['Attachments'].Aliases | Should -Contain 'PsPath'
        $script:Graph.Parameters['BodyAsHtml'].Aliases | Should -Contain 'BAH'
        $script:Graph.Parameters['Encoding'].Aliases | Should -Contain 'BE'
        $script:Graph.Parameters['DeliveryNotificationOption'].Aliases | Should -Contain 'DNO'
        $script:Graph.Parameters['SmtpServer'].Aliases | Should -Contain 'ComputerName'
        $script:Graph.Parameters['Subject'].Aliases | Should -Contain 'sub'
    }

    It 'declares every parameter and alias Send-MailMessage has on this PowerShell' -Skip:(-not (Get-Command -Name Send-MailMessage -ErrorAction SilentlyContinue)) {
        foreach ($parameter in $script:Original.Parameters.Values) {
            if ($script:Common -contains $parameter.Name) { continue }
            $script:Graph.Parameters.ContainsKey($parameter.Name) | Should -BeTrue -Because "Send-MailMessage has -$($parameter.Name)"
            foreach ($alias in $parameter.Aliases) {
                $script:Graph.Parameters[$parameter.Name].Aliases | Should -Contain $alias
            }
        }
    }

    It 'takes the same positions and pipeline input (by value, by property name) as Send-MailMessage' -Skip:(-not (Get-Command -Name Send-MailMessage -ErrorAction SilentlyContinue)) {
        foreach ($parameter in $script:Original.Parameters.Values) {
            if ($script:Common -contains $parameter.Name) { continue }
            $theirs = @($parameter.ParameterSets.Values)[0]
            $ours = @($script:Graph.Parameters[$parameter.Name].ParameterSets.Values)[0]
            $ours.Position | Should -Be $theirs.Position -Because "-$($parameter.Name) position"
            $ours.ValueFromPipeline | Should -Be $theirs.ValueFromPipeline -Because "-$($parameter.Name) by value"
            $ours.ValueFromPipelineByPropertyName | Should -Be $theirs.ValueFromPipelineByPropertyName -Because "-$($parameter.Name) by property name"
        }
    }

    It 'resolves every prefix of a Send-MailMessage parameter to the same parameter' -Skip:(-not (Get-Command -Name Send-MailMessage -ErrorAction SilentlyContinue)) {
        $checked = 0
        foreach ($name in @($script:Original.Parameters.Keys)) {
            for ($length = 1; $length -le $name.Length; $length++) {
                $prefix = $name.Substring(0, $length)
                $theirs = $null
                try { $theirs = $script:Original.ResolveParameter($prefix).Name } catch { $theirs = 'ambiguous' }
                if ($theirs -eq 'ambiguous') { continue }
                $ours = $null
                try { $ours = $script:Graph.ResolveParameter($prefix).Name } catch { $ours = 'ambiguous' }
                $ours | Should -Be $theirs -Because "-$prefix binds -$theirs in Send-MailMessage"
                $checked++
            }
        }
        $checked | Should -BeGreaterThan 50
    }

    It 'keeps To mandatory and From optional (so a Send-MailMessage:From default can fill it)' {
        @($script:Graph.Parameters['To'].ParameterSets.Values)[0].IsMandatory | Should -BeTrue
        @($script:Graph.Parameters['From'].ParameterSets.Values)[0].IsMandatory | Should -BeFalse
    }

    It 'accepts -Credential $null, a user name and a PSCredential without prompting, and never requires it' {
        $script:Graph.Parameters['Credential'].Attributes.TypeId.Name | Should -Not -Contain 'ValidateNotNullOrEmptyAttribute'
        $script:Graph.Parameters['Credential'].Attributes.TypeId.Name | Should -Not -Contain 'CredentialAttribute'
        @($script:Graph.Parameters['Credential'].ParameterSets.Values)[0].IsMandatory | Should -BeFalse
    }
}

Describe 'Send-GraphMailMessage sends the request Send-MailMessage''s parameters describe' {
    BeforeEach { Initialize-TestGraph }

    It 'posts sendMail for the From mailbox with display names, HTML body and importance' {
        Send-GraphMailMessage -To 'Ops Team <ops@contoso.com>', 'b@contoso.com' -From 'Alerts <alerts@contoso.com>' -Subject 'Nightly' -Body '<b>ok</b>' -BodyAsHtml -Priority High -SmtpServer 'smtp.office365.com' -UseSsl -Port 587 -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Uri | Should -Be 'https://graph.example.test/v1.0/users/alerts@contoso.com/sendMail'
        $request.Headers['Authorization'] | Should -Be 'Bearer cached-test-token'
        $request.Json.message.toRecipients[0].emailAddress.name | Should -Be 'Ops Team'
        $request.Json.message.toRecipients[1].emailAddress.address | Should -Be 'b@contoso.com'
        $request.Json.message.body.contentType | Should -Be 'HTML'
        $request.Json.message.importance | Should -Be 'high'
        $request.Json.message.from.emailAddress.name | Should -Be 'Alerts'
        $request.Json.saveToSentItems | Should -BeFalse
    }

    It 'binds positional To, Subject, Body and SmtpServer like Send-MailMessage' {
        Send-GraphMailMessage 'ops@contoso.com' 'Positional subject' 'Positional body' 'smtp.contoso.com' -From 'alerts@contoso.com' -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Json.message.subject | Should -Be 'Positional subject'
        $request.Json.message.body.content | Should -Be 'Positional body'
        $request.Json.message.body.contentType | Should -Be 'Text'
        $request.Json.message.toRecipients[0].emailAddress.address | Should -Be 'ops@contoso.com'
    }

    It 'binds the prefixes and aliases scripts write (-sub, -BAH, -DNO, -Attach, -Cred)' {
        $path = Join-Path -Path $TestDrive -ChildPath 'prefix.txt'
        Set-Content -LiteralPath $path -Value 'p'
        Send-GraphMailMessage -To 'a@contoso.com' -Fr 'b@contoso.com' -sub 'S' -Body '<i>x</i>' -BAH -DNO OnSuccess -Attach $path -Cred $null -Pri Low -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Json.message.subject | Should -Be 'S'
        $request.Json.message.body.contentType | Should -Be 'HTML'
        $request.Json.message.isDeliveryReceiptRequested | Should -BeTrue
        $request.Json.message.importance | Should -Be 'low'
        $request.Json.message.attachments[0].name | Should -Be 'prefix.txt'
    }

    It 'maps To, Cc, Bcc and ReplyTo, including "Last, First" <address>' {
        Send-GraphMailMessage -To '"Doe, John" <john@contoso.com>' -Cc 'c1@contoso.com', 'c2@contoso.com' -Bcc 'hidden@contoso.com' -ReplyTo 'Desk <desk@contoso.com>' -From 'b@contoso.com' -Subject 's' -ErrorAction Stop
        $message = (Get-TestRequest -Like '*/sendMail').Json.message
        @($message.toRecipients).Count | Should -Be 1
        $message.toRecipients[0].emailAddress.name | Should -Be 'Doe, John'
        @($message.ccRecipients | ForEach-Object { $_.emailAddress.address }) | Should -Be @('c1@contoso.com', 'c2@contoso.com')
        $message.bccRecipients[0].emailAddress.address | Should -Be 'hidden@contoso.com'
        $message.replyTo[0].emailAddress.address | Should -Be 'desk@contoso.com'
        $message.replyTo[0].emailAddress.name | Should -Be 'Desk'
    }

    It 'reports a comma-separated address as Send-MailMessage does (one FormatException each, non-terminating) and sends to the others' {
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com,b@contoso.com', 'ok@contoso.com' -From 'f@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 1
        $errors[0].Exception | Should -BeOfType ([System.FormatException])
        @((Get-TestRequest -Like '*/sendMail').Json.message.toRecipients | ForEach-Object { $_.emailAddress.address }) | Should -Be @('ok@contoso.com')
    }

    It 'sends nothing when no recipient is left, with the error SmtpClient gives' {
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com,b@contoso.com' -From 'f@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 2
        $errors[1].Exception.Message | Should -Be 'A recipient must be specified.'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'sends importance for each Priority and leaves it out when none is given' {
        foreach ($priority in @('Low', 'Normal', 'High')) {
            Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject $priority -Priority $priority -ErrorAction Stop
            (Get-TestRequest -Like '*/sendMail').Json.message.importance | Should -Be $priority.ToLowerInvariant()
        }
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'none' -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.PSObject.Properties['importance'] | Should -BeNullOrEmpty
    }

    It 'asks for a delivery receipt only for OnSuccess (OnFailure and Delay have no Graph equivalent)' {
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -DeliveryNotificationOption 'OnFailure', 'Delay' -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.PSObject.Properties['isDeliveryReceiptRequested'] | Should -BeNullOrEmpty
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -DeliveryNotificationOption 'OnSuccess', 'OnFailure' -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.isDeliveryReceiptRequested | Should -BeTrue
    }

    It 'accepts -Encoding as a name or an Encoding and sends UTF-8 bytes for non-ASCII text' {
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'Grüße – 東京' -Body 'café' -Encoding 'UTF8' -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.subject | Should -Be 'Grüße – 東京'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'x' -Body 'café' -Encoding ([System.Text.Encoding]::UTF8) -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.body.content | Should -Be 'café'
    }

    It 'keeps only x- headers from -Headers, at most five' {
        $headers = [ordered]@{ 'X-A' = '1'; 'X-B' = '2'; 'X-C' = '3'; 'X-D' = '4'; 'X-E' = '5'; 'X-F' = '6'; 'Keywords' = 'no' }
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Headers $headers -WarningAction SilentlyContinue -ErrorAction Stop
        $sent = @((Get-TestRequest -Like '*/sendMail').Json.message.internetMessageHeaders)
        $sent.Count | Should -Be 5
        $sent.name | Should -Not -Contain 'Keywords'
    }

    It 'keeps a copy in Sent Items only with -SaveToSentItems' {
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -SaveToSentItems -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.saveToSentItems | Should -BeTrue
    }

    It 'accepts -Credential $null and a PSCredential, and ignores them' {
        $credential = New-Object System.Management.Automation.PSCredential -ArgumentList 'user', (New-Object System.Security.SecureString)
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'null' -Credential $null -ErrorAction Stop
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'cred' -Credential $credential -ErrorAction Stop
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 2
    }

    It 'applies $PSDefaultParameterValues written for Send-MailMessage, as the cmdlet did' {
        $PSDefaultParameterValues['Send-Mail*:From'] = 'defaults@contoso.com'
        try {
            Send-GraphMailMessage -To 'ops@contoso.com' -Subject 'from a default' -ErrorAction Stop
        }
        finally {
            $PSDefaultParameterValues.Remove('Send-Mail*:From')
        }
        (Get-TestRequest -Like '*/sendMail').Uri | Should -BeLike '*/users/defaults@contoso.com/sendMail'
    }

    It 'sends the attachments of a Send-MailMessage:Attachments default' {
        $path = Join-Path -Path $TestDrive -ChildPath 'default.txt'
        Set-Content -LiteralPath $path -Value 'd'
        & {
            $PSDefaultParameterValues = @{ 'Send-MailMessage:Attachments' = $path }
            Send-GraphMailMessage -To 'ops@contoso.com' -From 'b@contoso.com' -Subject 'default attachment' -ErrorAction Stop
        }
        (Get-TestRequest -Like '*/sendMail').Json.message.attachments[0].name | Should -Be 'default.txt'
    }

    It 'reads $PSDefaultParameterValues of the calling scope and runs a scriptblock default' {
        & {
            $PSDefaultParameterValues = @{ 'Send-MailMessage:From' = { 'computed@contoso.com' } }
            Send-GraphMailMessage -To 'ops@contoso.com' -Subject 'scoped default' -ErrorAction Stop
        }
        (Get-TestRequest -Like '*/sendMail').Uri | Should -BeLike '*/users/computed@contoso.com/sendMail'
    }
}

Describe 'Pipeline input, as Send-MailMessage takes it' {
    BeforeEach { Initialize-TestGraph }

    It 'sends piped paths as attachments of one message' {
        $first = Join-Path -Path $TestDrive -ChildPath 'a.csv'
        $second = Join-Path -Path $TestDrive -ChildPath 'b.txt'
        Set-Content -LiteralPath $first -Value 'x,y'
        Set-Content -LiteralPath $second -Value 'hello'
        $first, $second | Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'files' -ErrorAction Stop
        $requests = @(Get-TestRequest -Like '*/sendMail' -All)
        $requests.Count | Should -Be 1
        @($requests[0].Json.message.attachments).Count | Should -Be 2
        # Send-MailMessage attaches every file as application/octet-stream.
        $requests[0].Json.message.attachments[0].contentType | Should -Be 'application/octet-stream'
    }

    It 'binds FileInfo objects from Get-ChildItem by their full path (PSPath), wherever the current location is' {
        $folder = Join-Path -Path $TestDrive -ChildPath 'logs'
        $null = New-Item -ItemType Directory -Path $folder
        Set-Content -LiteralPath (Join-Path -Path $folder -ChildPath 'one.log') -Value 'one'
        Set-Content -LiteralPath (Join-Path -Path $folder -ChildPath 'two.log') -Value 'two'
        Push-Location -LiteralPath ([System.IO.Path]::GetTempPath())
        try {
            Get-ChildItem -LiteralPath $folder -Filter '*.log' | Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'logs' -ErrorAction Stop
        }
        finally { Pop-Location }
        $names = @((Get-TestRequest -Like '*/sendMail').Json.message.attachments.name)
        $names | Should -Be @('one.log', 'two.log')
    }

    It 'binds an Attachments property of piped objects by property name' {
        $path = Join-Path -Path $TestDrive -ChildPath 'prop.txt'
        Set-Content -LiteralPath $path -Value 'p'
        [pscustomobject]@{ Attachments = $path; Subject = 'ignored: Send-MailMessage builds the message first' } |
            Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'command line' -ErrorAction Stop
        $message = (Get-TestRequest -Like '*/sendMail').Json.message
        $message.attachments[0].name | Should -Be 'prop.txt'
        $message.subject | Should -Be 'command line'
    }

    It 'stops, as Send-MailMessage does, when To comes only from Import-Csv rows' {
        $csv = Join-Path -Path $TestDrive -ChildPath 'list.csv'
        Set-Content -LiteralPath $csv -Value @('To,Subject', 'r1@contoso.com,one', 'r2@contoso.com,two')
        { Import-Csv -LiteralPath $csv | Send-GraphMailMessage -From 'b@contoso.com' -ErrorAction SilentlyContinue } | Should -Throw -ExpectedMessage '*-To on the command line*'
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 0
    }

    It 'stops, as Send-MailMessage does, when From comes only from piped objects' {
        { [pscustomobject]@{ To = 'r@contoso.com'; From = 'f@contoso.com' } | Send-GraphMailMessage -ErrorAction SilentlyContinue } | Should -Throw -ExpectedMessage '*-From*'
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 0
    }

    It 'reads a piped object without an Attachments property as an attachment path and stops, as Send-MailMessage does' {
        { [pscustomobject]@{ Subject = 'row' } | Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -ErrorAction SilentlyContinue } | Should -Throw
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 0
    }
}

Describe 'Attachments' {
    BeforeEach { Initialize-TestGraph }

    It 'reads [ ] in a path as a wildcard, as Send-MailMessage does: a file named report[1].csv alone stops the command and nothing is sent' {
        # Send-MailMessage resolves -Attachments with wildcards (PathUtils.ResolveFilePath, in 5.1 and 7): the pattern
        # report[1].csv matches report1.csv only, so a file literally named report[1].csv is not found.
        $path = Join-Path -Path $TestDrive -ChildPath 'report[1].csv'
        Set-Content -LiteralPath $path -Value 'a,b'
        $thrown = $null
        try { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments $path -ErrorAction SilentlyContinue }
        catch { $thrown = $_ }
        $thrown | Should -Not -BeNullOrEmpty
        $thrown.Exception | Should -BeOfType ([System.IO.FileNotFoundException])
        $thrown.FullyQualifiedErrorId | Should -Be 'FileOpenFailure,Send-GraphMailMessage'
        $thrown.CategoryInfo.Category | Should -Be 'OpenError'
        $thrown.ToString() | Should -Be "Cannot perform operation because the wildcard path $path did not resolve to a file."
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'attaches the file the [ ] pattern matches (report[1].csv is report1.csv), as Send-MailMessage does' {
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'report[1].csv') -Value 'literal'
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'report1.csv') -Value 'matched'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'report[1].csv') -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.attachments[0].name | Should -Be 'report1.csv'
    }

    It 'attaches a file named with [ ] when the brackets are escaped (report`[1`].csv)' {
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'report[1].csv') -Value 'literal'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'report`[1`].csv') -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.attachments[0].name | Should -Be 'report[1].csv'
    }

    It 'attaches the one file a * pattern matches' {
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'only.log') -Value 'o'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath '*.log') -ErrorAction Stop
        (Get-TestRequest -Like '*/sendMail').Json.message.attachments[0].name | Should -Be 'only.log'
    }

    It 'stops on a path outside the file system (env:PATH), as Send-MailMessage does' {
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments 'env:PATH' -ErrorAction SilentlyContinue } |
            Should -Throw -ErrorId 'ReadWriteFileNotFileSystemProvider,Send-GraphMailMessage'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'stops with the exception new Attachment(path) raises for a missing folder or a folder' {
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'nodir/x.txt') -ErrorAction SilentlyContinue } |
            Should -Throw -ExceptionType ([System.IO.DirectoryNotFoundException])
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments $TestDrive -ErrorAction SilentlyContinue } |
            Should -Throw -ExceptionType ([System.UnauthorizedAccessException])
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'resolves a relative path against the caller''s location' {
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'relative.txt') -Value 'r'
        Push-Location -LiteralPath $TestDrive
        try { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments 'relative.txt' -ErrorAction Stop }
        finally { Pop-Location }
        (Get-TestRequest -Like '*/sendMail').Json.message.attachments[0].contentBytes | Should -Be ([Convert]::ToBase64String([System.IO.File]::ReadAllBytes((Join-Path -Path $TestDrive -ChildPath 'relative.txt'))))
    }

    It 'stops without sending when an attachment is missing, whatever the preference (as Send-MailMessage does)' {
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'nope.txt') -ErrorAction SilentlyContinue } |
            Should -Throw -ExceptionType ([System.IO.FileNotFoundException]) -ErrorId 'System.IO.FileNotFoundException,Send-GraphMailMessage'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'reports an address that does not parse before it stops at a missing attachment, as Send-MailMessage does (two errors)' {
        $Error.Clear()
        { Send-GraphMailMessage -To 'x,y@contoso.com', 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'nope.txt') -ErrorAction SilentlyContinue } |
            Should -Throw -ExceptionType ([System.IO.FileNotFoundException])
        @($Error | ForEach-Object { $_.Exception.GetType().Name }) | Should -Contain 'FormatException'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'stops when a wildcard matches several files (Send-MailMessage takes one file per path)' {
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'w1.txt') -Value '1'
        Set-Content -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'w2.txt') -Value '2'
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -Attachments (Join-Path -Path $TestDrive -ChildPath 'w*.txt') -ErrorAction SilentlyContinue } |
            Should -Throw -ExpectedMessage '*resolved to 2 files*' -ErrorId 'ReadWriteMultipleFilesNotSupported,Send-GraphMailMessage'
    }

    It 'sends files of 3 MB and more through a draft and an upload session, chunks without the bearer token' {
        $path = New-TestFile -Name 'big.bin' -Bytes 4194304
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'big' -Attachments $path -ErrorAction Stop
        $chunks = @(Get-TestRequest -Like 'https://upload.example.test/session' -All)
        $chunks.Count | Should -Be 2
        $chunks[0].Headers.ContainsKey('Authorization') | Should -BeFalse
        $chunks[0].Headers['Content-Range'] | Should -Be 'bytes 0-3276799/4194304'
        $chunks[1].Headers['Content-Range'] | Should -Be 'bytes 3276800-4194303/4194304'
        $session = Get-TestRequest -Like '*/createUploadSession'
        $session.Json.AttachmentItem.size | Should -Be 4194304
        (Get-TestRequest -Like '*/messages/draft-1/send').Method | Should -Be 'Post'
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 0
    }

    It 'applies the 4 MB limit to the whole request: two 1.6 MB files go through a draft, each added inline (never an upload session under 3 MB)' {
        $first = New-TestFile -Name 'one.bin' -Bytes 1677722
        $second = New-TestFile -Name 'two.bin' -Bytes 1677722
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'two' -Attachments $first, $second -ErrorAction Stop
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 0
        @(Get-TestRequest -Like '*/createUploadSession' -All).Count | Should -Be 0
        $added = @(Get-TestRequest -Like '*/messages/draft-1/attachments' -All)
        $added.Count | Should -Be 2
        foreach ($request in $added) { $request.Body.Length | Should -BeLessThan 4194304 }
        (Get-TestRequest -Like '*/messages/draft-1/send').Method | Should -Be 'Post'
    }

    It 'mixes both ways when the request overflows: the large file by upload session, the small one added to the draft' {
        $big = New-TestFile -Name 'big.bin' -Bytes 3300000
        $small = New-TestFile -Name 'small.txt' -Bytes 1000
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'mixed' -Attachments $small, $big -ErrorAction Stop
        (Get-TestRequest -Like '*/createUploadSession').Json.AttachmentItem.name | Should -Be 'big.bin'
        (Get-TestRequest -Like '*/messages/draft-1/attachments').Json.name | Should -Be 'small.txt'
    }

    It 'keeps attachments inline in one sendMail while the whole request fits' {
        $path = New-TestFile -Name 'fits.bin' -Bytes 2500000
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'fits' -Attachments $path -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Body.Length | Should -BeLessThan 4194304
        $request.Json.message.attachments[0].name | Should -Be 'fits.bin'
    }

    It 'deletes the draft when an upload fails, and reports the failure' {
        $path = New-TestFile -Name 'big.bin' -Bytes 3300000
        Add-TestResponse -Like 'https://upload.example.test/session' -Failure 'graph 403 ErrorAccessDenied'
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'big' -Attachments $path -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 1
        (Get-TestRequest -Like '*/messages/draft-1').Method | Should -Be 'Delete'
        @(Get-TestRequest -Like '*/messages/draft-1/send' -All).Count | Should -Be 0
    }

    It 'retries an upload chunk after a 504 (a chunk sends no mail), reading no undefined variable under Set-StrictMode' {
        Add-TestResponse -Like 'https://upload.example.test/session' -Failure 'graph 504 GatewayTimeout'
        InModuleScope Smtp2Graph {
            Set-StrictMode -Version Latest
            $attachment = [pscustomobject]@{ Name = 'big.bin'; ContentType = 'application/octet-stream'; Bytes = (New-Object byte[] 3300000); IsInline = $false; ContentId = $null }
            Send-Smtp2GraphUpload -Mailbox 'b@contoso.com' -MessageId 'draft-1' -Attachment $attachment
        }
        # Two chunks, the first one twice.
        $chunks = @(Get-TestRequest -Like 'https://upload.example.test/session' -All)
        $chunks.Count | Should -Be 3
        $chunks[0].Headers['Content-Range'] | Should -Be $chunks[1].Headers['Content-Range']
    }

    It 'sends no attachment to an upload URL that is not https, and deletes the draft' {
        $global:Smtp2GraphTestState.UploadUrl = 'http://upload.example.test/session'
        $path = New-TestFile -Name 'big.bin' -Bytes 3300000
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 'big' -Attachments $path -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 1
        "$($errors[0])" | Should -Match 'not https'
        @(Get-TestRequest -Like 'http://upload.example.test/*' -All).Count | Should -Be 0
        (Get-TestRequest -Like '*/messages/draft-1').Method | Should -Be 'Delete'
    }
}

Describe 'System.Net.Mail.MailMessage (what replaces SmtpClient.Send)' {
    BeforeEach { Initialize-TestGraph }

    It 'converts a MailMessage and keeps only x- headers' {
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'svc@contoso.com', 'ops@contoso.com'
        $mail.Subject = 'From SmtpClient'
        $mail.Headers.Add('X-Run-Id', '42')
        $mail.Headers.Add('Keywords', 'dropped')
        Send-GraphMailMessage -MailMessage $mail -WarningAction SilentlyContinue -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Uri | Should -BeLike '*/users/svc@contoso.com/sendMail'
        @($request.Json.message.internetMessageHeaders).Count | Should -Be 1
        $request.Json.message.subject | Should -Be 'From SmtpClient'
    }

    It 'keeps the obsolete single ReplyTo property next to ReplyToList' {
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'svc@contoso.com', 'ops@contoso.com'
        $mail.ReplyTo = New-Object System.Net.Mail.MailAddress -ArgumentList 'single@contoso.com'
        $mail.ReplyToList.Add('listed@contoso.com')
        Send-GraphMailMessage -MailMessage $mail -ErrorAction Stop
        @((Get-TestRequest -Like '*/sendMail').Json.message.replyTo | ForEach-Object { $_.emailAddress.address }) | Should -Be @('single@contoso.com', 'listed@contoso.com')
    }

    It 'sends as the Sender mailbox and keeps From (Graph from + sender)' {
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'team@contoso.com', 'ops@contoso.com'
        $mail.Sender = New-Object System.Net.Mail.MailAddress -ArgumentList 'svc@contoso.com', 'Service'
        Send-GraphMailMessage -MailMessage $mail -ErrorAction Stop
        $request = Get-TestRequest -Like '*/sendMail'
        $request.Uri | Should -BeLike '*/users/svc@contoso.com/sendMail'
        $request.Json.message.from.emailAddress.address | Should -Be 'team@contoso.com'
        $request.Json.message.sender.emailAddress.address | Should -Be 'svc@contoso.com'
    }

    It 'sends an HTML alternate view as the body and its linked images as inline attachments with their Content-ID' {
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'svc@contoso.com', 'ops@contoso.com'
        $mail.Body = 'plain text'
        $view = [System.Net.Mail.AlternateView]::CreateAlternateViewFromString('<p>Logo: <img src="cid:logo"/> é</p>', [System.Text.Encoding]::UTF8, 'text/html')
        $image = New-Object System.Net.Mail.LinkedResource -ArgumentList (New-Object System.IO.MemoryStream -ArgumentList (, [byte[]](137, 80, 78, 71))), 'image/png'
        $image.ContentId = 'logo'
        $view.LinkedResources.Add($image)
        $mail.AlternateViews.Add($view)
        Send-GraphMailMessage -MailMessage $mail -WarningAction SilentlyContinue -WarningVariable warnings -ErrorAction Stop
        $message = (Get-TestRequest -Like '*/sendMail').Json.message
        $message.body.contentType | Should -Be 'HTML'
        $message.body.content | Should -Be '<p>Logo: <img src="cid:logo"/> é</p>'
        $message.attachments[0].isInline | Should -BeTrue
        $message.attachments[0].contentId | Should -Be 'logo'
        $message.attachments[0].contentBytes | Should -Be ([Convert]::ToBase64String([byte[]](137, 80, 78, 71)))
        "$warnings" | Should -Match 'plain-text'
    }

    It 'keeps an attachment marked inline with its Content-ID, and sends no Content-ID for ordinary attachments' {
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'svc@contoso.com', 'ops@contoso.com'
        $inline = New-Object System.Net.Mail.Attachment -ArgumentList (New-Object System.IO.MemoryStream -ArgumentList (, [byte[]](1, 2))), 'chart.png', 'image/png'
        $inline.ContentDisposition.Inline = $true
        $inline.ContentId = 'chart'
        $plain = New-Object System.Net.Mail.Attachment -ArgumentList (New-Object System.IO.MemoryStream -ArgumentList (, [byte[]](3))), 'data.bin'
        $mail.Attachments.Add($inline)
        $mail.Attachments.Add($plain)
        Send-GraphMailMessage -MailMessage $mail -ErrorAction Stop
        $attachments = @((Get-TestRequest -Like '*/sendMail').Json.message.attachments)
        $attachments[0].contentId | Should -Be 'chart'
        $attachments[0].isInline | Should -BeTrue
        $attachments[1].PSObject.Properties['contentId'] | Should -BeNullOrEmpty
    }
}

Describe 'Failures behave as in the command they replace' {
    BeforeEach {
        Initialize-TestGraph
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 404 ErrorInvalidUser'
    }

    It 'reports an unknown sender as one non-terminating SmtpException that says what to do' {
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 1
        "$($errors[0])" | Should -Match 'Unknown sender mailbox'
        $errors[0].Exception | Should -BeOfType ([System.Net.Mail.SmtpException])
        $errors[0].Exception.StatusCode | Should -Be ([System.Net.Mail.SmtpStatusCode]::MailboxUnavailable)
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'SmtpException,*'
    }

    It 'continues after the error under the caller''s Continue preference, with $? false' {
        $ErrorActionPreference = 'Continue'
        $after = $false
        Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's' 2>$null
        $succeeded = $?
        $after = $true
        $succeeded | Should -BeFalse
        $after | Should -BeTrue
    }

    It 'becomes terminating under the caller''s $ErrorActionPreference = ''Stop'': catch [System.Net.Mail.SmtpException] catches it' {
        $ErrorActionPreference = 'Stop'
        $caught = $null
        try {
            Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's'
            $caught = 'not caught'
        }
        catch [System.Net.Mail.SmtpException] {
            $caught = $_.Exception.StatusCode
        }
        $caught | Should -Be ([System.Net.Mail.SmtpStatusCode]::MailboxUnavailable)
    }

    It 'stays silent and goes on under the caller''s SilentlyContinue, leaving one entry in $Error' {
        $ErrorActionPreference = 'SilentlyContinue'
        $Error.Clear()
        $output = Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's'
        $output | Should -BeNullOrEmpty
        $Error.Count | Should -Be 1
        $Error[0].Exception | Should -BeOfType ([System.Net.Mail.SmtpException])
    }

    It 'becomes terminating with -ErrorAction Stop in a Continue script' {
        $ErrorActionPreference = 'Continue'
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's' -ErrorAction Stop } | Should -Throw -ExceptionType ([System.Net.Mail.SmtpException])
    }

    It 'reaches a trap in a script that sets Stop, with the SmtpException in $_ (as Send-MailMessage''s error does)' {
        # Ground truth (pwsh 7.6, local SMTP sink): a plain trap receives Send-MailMessage's error under Stop;
        # a trap typed [System.Net.Mail.SmtpException] does not, for either command.
        $trapped = & {
            $ErrorActionPreference = 'Stop'
            trap { 'trapped ' + $_.Exception.GetType().Name; continue }
            Send-GraphMailMessage -To 'a@contoso.com' -From 'nobody@contoso.com' -Subject 's'
            'after'
        }
        @($trapped) | Should -Be @('trapped SmtpException', 'after')
    }

    It 'throws a terminating SmtpException for -MailMessage even under Continue, as SmtpClient.Send does' {
        $ErrorActionPreference = 'Continue'
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList 'nobody@contoso.com', 'ops@contoso.com'
        $caught = 'not caught'
        try { Send-GraphMailMessage -MailMessage $mail }
        catch [System.Net.Mail.SmtpException] { $caught = $_.Exception.StatusCode }
        $caught | Should -Be ([System.Net.Mail.SmtpStatusCode]::MailboxUnavailable)
    }

    It 'leaves -ErrorVariable and $Error empty after a send that succeeded on retry' {
        Reset-TestResponse
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 503 ServiceUnavailable 1'
        $Error.Clear()
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorVariable errors
        $errors.Count | Should -Be 0
        $Error.Count | Should -Be 0
    }

    It 'stops the command for an invalid From, as Send-MailMessage does (FormatException)' {
        { Send-GraphMailMessage -To 'a@contoso.com' -From 'not an address' -Subject 's' -ErrorAction SilentlyContinue } | Should -Throw -ExceptionType ([System.FormatException])
    }
}

Describe 'Addresses SmtpClient refuses: a local part that is not ASCII' {
    # Send-MailMessage and SmtpClient.Send deliver with SmtpDeliveryFormat.SevenBit: 'cafe@' with an accented e is
    # refused with an SmtpException and nothing is sent (ground truth: tests/test_module_ground_truth.py, pwsh 7.6).
    BeforeAll { $script:Accented = 'caf' + [char]0xE9 + '@contoso.com' }
    BeforeEach { Initialize-TestGraph }

    It 'refuses a non-ASCII local part in <Name> with one non-terminating SmtpException and sends nothing, as Send-MailMessage does' -TestCases @(
        @{ Name = 'From' }, @{ Name = 'To' }, @{ Name = 'Cc' }, @{ Name = 'Bcc' }, @{ Name = 'ReplyTo' }
    ) {
        param($Name)
        $call = @{ To = 'ops@contoso.com'; From = 'alerts@contoso.com'; Subject = 's' }
        if ($Name -eq 'To') { $call['To'] = @($script:Accented, 'ops@contoso.com') } else { $call[$Name] = $script:Accented }
        $errors = $null
        $after = $false
        Send-GraphMailMessage @call -ErrorAction SilentlyContinue -ErrorVariable errors
        $after = $true
        $after | Should -BeTrue
        $errors.Count | Should -Be 1
        $errors[0].Exception | Should -BeOfType ([System.Net.Mail.SmtpException])
        $errors[0].Exception.Message | Should -Be "The client or server is only configured for E-mail addresses with ASCII local-parts: $($script:Accented)."
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'SmtpException,*'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'is terminating under -ErrorAction Stop, caught by catch [System.Net.Mail.SmtpException]' {
        $caught = 'not caught'
        try { Send-GraphMailMessage -To 'ops@contoso.com' -From $script:Accented -Subject 's' -ErrorAction Stop }
        catch [System.Net.Mail.SmtpException] { $caught = 'caught' }
        $caught | Should -Be 'caught'
    }

    It 'refuses it in a -MailMessage (<Name>) with a terminating SmtpException, as SmtpClient.Send throws' -TestCases @(
        @{ Name = 'From' }, @{ Name = 'To' }, @{ Name = 'Sender' }, @{ Name = 'ReplyToList' }, @{ Name = 'Bcc' }
    ) {
        param($Name)
        $from = 'alerts@contoso.com'
        if ($Name -eq 'From') { $from = $script:Accented }
        $mail = New-Object System.Net.Mail.MailMessage -ArgumentList $from, 'ops@contoso.com', 's', 'b'
        switch ($Name) {
            'To' { $mail.To.Add($script:Accented) }
            'Sender' { $mail.Sender = $script:Accented }
            'ReplyToList' { $mail.ReplyToList.Add($script:Accented) }
            'Bcc' { $mail.Bcc.Add($script:Accented) }
        }
        $ErrorActionPreference = 'Continue'
        $caught = 'not caught'
        try { Send-GraphMailMessage -MailMessage $mail; $caught = 'sent' }
        catch [System.Net.Mail.SmtpException] { $caught = $_.Exception.Message }
        $caught | Should -BeLike '*only configured for E-mail addresses with ASCII local-parts*'
        @(Get-TestRequest -All).Count | Should -Be 0
    }

    It 'sends a non-ASCII display name and a non-ASCII domain, which SmtpClient sends too' {
        Send-GraphMailMessage -To (('Caf' + [char]0xE9) + ' <ops@contoso.com>'), ('ops@z' + [char]0xFC + 'rich.ch') -From 'alerts@contoso.com' -Subject 's' -ErrorAction Stop
        @((Get-TestRequest -Like '*/sendMail').Json.message.toRecipients).Count | Should -Be 2
    }
}

Describe 'A script''s exit code and output, as with Send-MailMessage' {
    BeforeAll {
        # This PowerShell's own executable (pwsh installed as a .NET tool runs as 'dotnet pwsh.dll').
        $script:Pwsh = (Get-Process -Id $PID).Path
        $script:PwshArguments = @()
        if ([System.IO.Path]::GetFileNameWithoutExtension($script:Pwsh) -eq 'dotnet') { $script:PwshArguments = @(Join-Path -Path $PSHOME -ChildPath 'pwsh.dll') }
        $script:Child = Join-Path -Path $TestDrive -ChildPath 'child.ps1'
        $script:ChildPreamble = @(
            '$env:SMTP2GRAPH_TENANT_ID = ''contoso.onmicrosoft.com''',
            '$env:SMTP2GRAPH_CLIENT_ID = ''11111111-2222-3333-4444-555555555555''',
            '$env:SMTP2GRAPH_AUTH = ''ClientSecret''',
            '$env:SMTP2GRAPH_CLIENT_SECRET = ''test-only-value''',
            # Port 9 on the loopback: nothing answers, so every send fails, quickly and without leaving the machine.
            '$env:SMTP2GRAPH_AUTHORITY_HOST = ''https://127.0.0.1:9''',
            '$env:SMTP2GRAPH_GRAPH_ENDPOINT = ''https://127.0.0.1:9''',
            ('Import-Module -Name ''' + (Join-Path -Path $PSScriptRoot -ChildPath 'Smtp2Graph.psd1') + ''''),
            ('& (Get-Module Smtp2Graph) { $script:ConfigPath = ''' + $script:NoConfigFile + ''' }')
        ) -join [Environment]::NewLine
    }

    It 'exits 1 without printing "sent" when the script sets Stop and Graph is unreachable' {
        Set-Content -LiteralPath $script:Child -Value ($script:ChildPreamble + "`n`$ErrorActionPreference = 'Stop'`nSend-GraphMailMessage -To a@contoso.com -From b@contoso.com -Subject s`n'sent'")
        $output = & $script:Pwsh @script:PwshArguments -NoProfile -NonInteractive -File $script:Child 2>&1
        $LASTEXITCODE | Should -Be 1
        @($output | ForEach-Object { "$_" }) | Should -Not -Contain 'sent'
    }

    It 'goes on and exits 0 under Continue (the error is shown, as Send-MailMessage shows it)' {
        Set-Content -LiteralPath $script:Child -Value ($script:ChildPreamble + "`nSend-GraphMailMessage -To a@contoso.com -From b@contoso.com -Subject s`n'next'")
        $output = & $script:Pwsh @script:PwshArguments -NoProfile -NonInteractive -File $script:Child 2>&1
        $LASTEXITCODE | Should -Be 0
        @($output | ForEach-Object { "$_" }) | Should -Contain 'next'
        ($output | ForEach-Object { "$_" }) -join ' ' | Should -Match 'Failure sending mail'
    }

    It 'stops only the statement for -MailMessage under Continue, as a failed SmtpClient.Send does: the script goes on, exit 0' {
        Set-Content -LiteralPath $script:Child -Value ($script:ChildPreamble + "`n`$m = New-Object System.Net.Mail.MailMessage -ArgumentList 'b@contoso.com', 'a@contoso.com'`nSend-GraphMailMessage -MailMessage `$m`n'next'")
        $output = & $script:Pwsh @script:PwshArguments -NoProfile -NonInteractive -File $script:Child 2>&1
        $LASTEXITCODE | Should -Be 0
        @($output | ForEach-Object { "$_" }) | Should -Contain 'next'
    }

    It 'lets try/catch [System.Net.Mail.SmtpException] in the script handle -MailMessage failures, as for SmtpClient.Send' {
        Set-Content -LiteralPath $script:Child -Value ($script:ChildPreamble + "`n`$m = New-Object System.Net.Mail.MailMessage -ArgumentList 'b@contoso.com', 'a@contoso.com'`ntry { Send-GraphMailMessage -MailMessage `$m; 'sent' } catch [System.Net.Mail.SmtpException] { 'caught'; exit 3 }")
        $output = & $script:Pwsh @script:PwshArguments -NoProfile -NonInteractive -File $script:Child 2>&1
        $LASTEXITCODE | Should -Be 3
        @($output | ForEach-Object { "$_" }) | Should -Be @('caught')
    }
}

Describe 'Retries' {
    BeforeEach { Initialize-TestGraph }

    It 'retries on 429 and waits as long as Retry-After says' {
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 429 ApplicationThrottled 7'
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 429 ApplicationThrottled 7'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction Stop
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 3
        Should -Invoke Start-Sleep -ModuleName Smtp2Graph -Times 2 -Exactly -ParameterFilter { $Seconds -eq 7 }
    }

    It 'retries on 503 with exponential back-off when Retry-After is absent' {
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 503 ServiceUnavailable'
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 503 ServiceUnavailable'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction Stop
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 3
        Should -Invoke Start-Sleep -ModuleName Smtp2Graph -Times 1 -Exactly -ParameterFilter { $Seconds -eq 2 }
        Should -Invoke Start-Sleep -ModuleName Smtp2Graph -Times 1 -Exactly -ParameterFilter { $Seconds -eq 4 }
    }

    It 'never retries a send after 504: the message may have been accepted (no duplicate mail)' {
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 504 GatewayTimeout'
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 1
        Should -Invoke Start-Sleep -ModuleName Smtp2Graph -Times 0 -Exactly
        "$($errors[0])" | Should -Match 'may have been sent'
    }

    It 'still retries a 504 on a request that sends nothing (creating the draft)' {
        Add-TestResponse -Like '*/messages' -Failure 'graph 504 GatewayTimeout'
        $draft = InModuleScope Smtp2Graph {
            Invoke-Smtp2GraphRequest -Method Post -Path '/users/b@contoso.com/messages' -Body @{ subject = 's' } -Mailbox 'b@contoso.com' -Operation 'create draft'
        }
        $draft.id | Should -Be 'draft-1'
        @(Get-TestRequest -Like '*/messages' -All).Count | Should -Be 2
    }

    It 'gives up after four retries and says Graph is throttling' {
        foreach ($i in 1..5) { Add-TestResponse -Like '*/sendMail' -Failure 'graph 429 ApplicationThrottled 1' }
        $errors = $null
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction SilentlyContinue -ErrorVariable errors
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 5
        "$($errors[0])" | Should -Match 'throttling'
        $errors[0].Exception.StatusCode | Should -Be ([System.Net.Mail.SmtpStatusCode]::ServiceNotAvailable)
    }

    It 'does not retry a 400 and fetches a fresh token once after a 401' {
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 401 InvalidAuthenticationToken'
        Mock Get-Smtp2GraphToken -ModuleName Smtp2Graph { 'fresh-token' }
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction Stop
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 2
        Reset-TestResponse
        Add-TestResponse -Like '*/sendMail' -Failure 'graph 400 ErrorInvalidRecipients'
        Send-GraphMailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject 's' -ErrorAction SilentlyContinue
        @(Get-TestRequest -Like '*/sendMail' -All).Count | Should -Be 3
    }
}

Describe 'Graph error messages' {
    It 'never advises tenant-wide Mail.Send or Mail.ReadWrite on a refusal (it would undo an RBAC scope)' {
        InModuleScope Smtp2Graph {
            foreach ($operation in 'sendMail', 'create draft', 'createUploadSession') {
                $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access is denied. Check credentials and try again.' -Mailbox 'a@contoso.com' -Operation $operation
                $text | Should -Not -Match 'admin consent'
                $text | Should -Not -Match 'needs the Mail\.(Send|ReadWrite) application permission'
            }
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access is denied.' -Mailbox 'a@contoso.com'
            $text | Should -Match 'Test-ServicePrincipalAuthorization'
            $text | Should -Match 'propagation'
        }
    }

    It 'names the RBAC scope when Graph says Access to OData is disabled' {
        InModuleScope Smtp2Graph {
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access to OData is disabled.' -Mailbox 'a@contoso.com'
            $text | Should -Match 'RBAC for Applications'
        }
    }

    It 'names Mail.ReadWrite when the draft path is denied' {
        InModuleScope Smtp2Graph {
            $text = ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorAccessDenied' -Message 'Access is denied.' -Mailbox 'a@contoso.com' -Operation 'create draft'
            $text | Should -Match 'Mail.ReadWrite'
        }
    }

    It 'explains SendAs denial and a mailbox Graph cannot use' {
        InModuleScope Smtp2Graph {
            ConvertTo-Smtp2GraphErrorMessage -StatusCode 403 -Code 'ErrorSendAsDenied' -Message 'denied' -Mailbox 'a@contoso.com' | Should -Match 'SendAs'
            ConvertTo-Smtp2GraphErrorMessage -StatusCode 404 -Code 'MailboxNotEnabledForRESTAPI' -Message 'x' -Mailbox 'a@contoso.com' | Should -Match 'unlicensed'
        }
    }

    It 'reads the Graph error code and message of a PowerShell 7 HTTP failure' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        InModuleScope Smtp2Graph {
            $response = New-Object System.Net.Http.HttpResponseMessage -ArgumentList ([System.Net.HttpStatusCode]::TooManyRequests)
            $response.Headers.Add('Retry-After', '12')
            $exception = New-Object Microsoft.PowerShell.Commands.HttpResponseException -ArgumentList 'Response status code does not indicate success: 429', $response
            $record = New-Object System.Management.Automation.ErrorRecord -ArgumentList $exception, 'WebCmdletWebResponseException', 'InvalidOperation', $null
            $record.ErrorDetails = New-Object System.Management.Automation.ErrorDetails -ArgumentList '{"error":{"code":"ApplicationThrottled","message":"slow down"}}'
            $failure = Get-Smtp2GraphHttpError -ErrorRecord $record
            $failure.StatusCode | Should -Be 429
            $failure.Code | Should -Be 'ApplicationThrottled'
            $failure.Message | Should -Be 'slow down'
            $failure.RetryAfter | Should -Be 12
        }
    }
}

Describe 'Configuration and tokens' {
    BeforeEach {
        InModuleScope Smtp2Graph { Disconnect-Smtp2Graph; $script:Smtp2GraphCertificateCache = @{} }
    }

    AfterEach {
        foreach ($name in @('SMTP2GRAPH_TENANT_ID', 'SMTP2GRAPH_CLIENT_ID', 'SMTP2GRAPH_CERT_THUMBPRINT', 'SMTP2GRAPH_CERT_PATH', 'SMTP2GRAPH_CLIENT_SECRET',
                'SMTP2GRAPH_GRAPH_ENDPOINT', 'SMTP2GRAPH_AUTH', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'SMTP2GRAPH_CERT_PASSWORD')) {
            [Environment]::SetEnvironmentVariable($name, $null)
        }
        InModuleScope Smtp2Graph { Disconnect-Smtp2Graph }
    }

    It 'reads settings from SMTP2GRAPH_* environment variables and prefers a certificate' {
        $env:SMTP2GRAPH_TENANT_ID = 'contoso.onmicrosoft.com'
        $env:SMTP2GRAPH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'
        $env:SMTP2GRAPH_CERT_THUMBPRINT = 'ABCDEF0123'
        InModuleScope Smtp2Graph {
            $settings = Get-Smtp2GraphConfiguration
            $settings['AuthMethod'] | Should -Be 'Certificate'
            $settings['TenantId'] | Should -Be 'contoso.onmicrosoft.com'
        }
    }

    It 'reads no configuration file during the tests' {
        InModuleScope Smtp2Graph {
            Test-Path -LiteralPath $script:ConfigPath | Should -BeFalse
            (Get-Smtp2GraphConfiguration)['AuthMethod'] | Should -Be 'None'
        }
    }

    It 'caches the token until it expires' {
        $env:SMTP2GRAPH_TENANT_ID = 'contoso.onmicrosoft.com'
        $env:SMTP2GRAPH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'
        $env:SMTP2GRAPH_CLIENT_SECRET = 'test-only-value'
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = 'issued-1'; expires_in = 3600 } }
            Get-Smtp2GraphToken | Should -Be 'issued-1'
            Get-Smtp2GraphToken | Should -Be 'issued-1'
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $Uri -eq 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token' -and $Body['grant_type'] -eq 'client_credentials' -and
                $Body['scope'] -eq 'https://graph.microsoft.com/.default'
            }
        }
    }

    It 'fetches a new token when the cached one expires within five minutes' {
        $env:SMTP2GRAPH_TENANT_ID = 'contoso.onmicrosoft.com'
        $env:SMTP2GRAPH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'
        $env:SMTP2GRAPH_CLIENT_SECRET = 'test-only-value'
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = 'short'; expires_in = 120 } }
            Get-Smtp2GraphToken | Should -Be 'short'
            Get-Smtp2GraphToken | Should -Be 'short'
            Should -Invoke Invoke-RestMethod -Times 2 -Exactly
        }
    }

    It 'asks a national cloud''s token for its own Graph endpoint' {
        $env:SMTP2GRAPH_TENANT_ID = 'contoso.onmicrosoft.us'
        $env:SMTP2GRAPH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'
        $env:SMTP2GRAPH_CLIENT_SECRET = 'test-only-value'
        $env:SMTP2GRAPH_GRAPH_ENDPOINT = 'https://graph.microsoft.us/'
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = 'gov'; expires_in = 3600 } }
            $null = Get-Smtp2GraphToken
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter { $Body['scope'] -eq 'https://graph.microsoft.us/.default' }
        }
    }

    It 'keeps the public Graph resource for an endpoint that is no national cloud (a proxy), unless GraphResource says otherwise' {
        InModuleScope Smtp2Graph {
            Get-Smtp2GraphScope -Settings @{ GraphEndpoint = 'https://graph-proxy.contoso.local:8443' } | Should -Be 'https://graph.microsoft.com/.default'
            Get-Smtp2GraphScope -Settings @{ GraphEndpoint = 'https://DOD-Graph.microsoft.us' } | Should -Be 'https://dod-graph.microsoft.us/.default'
            Get-Smtp2GraphScope -Settings @{ GraphEndpoint = 'https://graph-proxy.contoso.local'; GraphResource = 'https://graph.microsoft.us/' } | Should -Be 'https://graph.microsoft.us/.default'
        }
    }

    It 'asks the managed identity for the configured Graph endpoint (IDENTITY_ENDPOINT and MSI_ENDPOINT hosts)' {
        $env:SMTP2GRAPH_GRAPH_ENDPOINT = 'https://microsoftgraph.chinacloudapi.cn'
        $env:IDENTITY_ENDPOINT = 'http://127.0.0.1:41000/msi/token'
        $env:IDENTITY_HEADER = 'header-value'
        InModuleScope Smtp2Graph {
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = 'mi'; expires_on = '4102444800' } }
            (Get-Smtp2GraphConfiguration)['AuthMethod'] | Should -Be 'ManagedIdentity'
            Get-Smtp2GraphToken | Should -Be 'mi'
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $Uri -like 'http://127.0.0.1:41000/msi/token?resource=https%3A%2F%2Fmicrosoftgraph.chinacloudapi.cn&*' -and $Headers['X-IDENTITY-HEADER'] -eq 'header-value'
            }
        }
        [Environment]::SetEnvironmentVariable('IDENTITY_ENDPOINT', $null)
        $env:MSI_ENDPOINT = 'http://127.0.0.1:41001/msi'
        $env:MSI_SECRET = 'msi-header'
        InModuleScope Smtp2Graph {
            Disconnect-Smtp2Graph
            Mock Invoke-RestMethod { [pscustomobject]@{ access_token = 'old-mi'; expires_in = 3600 } }
            Get-Smtp2GraphToken | Should -Be 'old-mi'
            Should -Invoke Invoke-RestMethod -Times 1 -Exactly -ParameterFilter {
                $Uri -like 'http://127.0.0.1:41001/msi?resource=https%3A%2F%2Fmicrosoftgraph.chinacloudapi.cn&api-version=2017-09-01' -and $Headers['Secret'] -eq 'msi-header'
            }
        }
    }

    It 'lets an explicit -CertificateThumbprint beat a certificate path from the environment' {
        $env:SMTP2GRAPH_TENANT_ID = 'contoso.onmicrosoft.com'
        $env:SMTP2GRAPH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'
        $env:SMTP2GRAPH_CERT_PATH = '/nonexistent/from-environment.pfx'
        InModuleScope Smtp2Graph {
            Mock Get-Smtp2GraphToken { 'unused' }
            $null = Connect-Smtp2Graph -CertificateThumbprint 'AB CD'
            $script:Smtp2GraphSettings['CertificateThumbprint'] | Should -Be 'AB CD'
            $script:Smtp2GraphSettings.ContainsKey('CertificatePath') | Should -BeFalse
        }
    }

    It 'lets an explicit -CertificateThumbprint beat a certificate path from Smtp2Graph.config.psd1' {
        $configFile = Join-Path -Path $TestDrive -ChildPath 'Smtp2Graph.config.psd1'
        Set-Content -LiteralPath $configFile -Value "@{ TenantId = 'contoso.onmicrosoft.com'; ClientId = '11111111-2222-3333-4444-555555555555'; CertificatePath = '/nonexistent/from-config.pfx' }"
        InModuleScope Smtp2Graph -Parameters @{ ConfigFile = $configFile } {
            param($ConfigFile)
            $saved = $script:ConfigPath
            try {
                $script:ConfigPath = $ConfigFile
                (Get-Smtp2GraphConfiguration)['CertificatePath'] | Should -Be '/nonexistent/from-config.pfx'
                Mock Get-Smtp2GraphToken { 'unused' }
                $null = Connect-Smtp2Graph -CertificateThumbprint 'EF 01'
                $script:Smtp2GraphSettings['CertificateThumbprint'] | Should -Be 'EF 01'
                $script:Smtp2GraphSettings.ContainsKey('CertificatePath') | Should -BeFalse
                $script:Smtp2GraphSettings['TenantId'] | Should -Be 'contoso.onmicrosoft.com'
            } finally {
                $script:ConfigPath = $saved
            }
        }
    }

    It 'strips spaces and invisible marks (U+200E) from a copied thumbprint' {
        InModuleScope Smtp2Graph {
            $copied = [string][char]0x200E + 'ab cd ef 01' + [char]0xFEFF
            ConvertTo-Smtp2GraphThumbprint -Thumbprint $copied | Should -Be 'ABCDEF01'
        }
    }

    It 'signs the client assertion with a PFX read once per session, and refuses a certificate without its private key' {
        $files = New-TestCertificateFile -Password 'test-only-pfx'
        $env:SMTP2GRAPH_CERT_PASSWORD = 'test-only-pfx'
        InModuleScope Smtp2Graph -Parameters @{ Pfx = $files.Pfx; Cer = $files.Cer } {
            param($Pfx, $Cer)
            $settings = @{ CertificatePath = $Pfx }
            $first = Get-Smtp2GraphCertificate -Settings $settings
            $second = Get-Smtp2GraphCertificate -Settings $settings
            [object]::ReferenceEquals($first, $second) | Should -BeTrue
            $first.HasPrivateKey | Should -BeTrue
            $assertion = New-Smtp2GraphClientAssertion -Certificate $first -ClientId 'app' -Audience 'https://login.example.test/t/oauth2/v2.0/token'
            @($assertion.Split('.')).Count | Should -Be 3
            { Get-Smtp2GraphCertificate -Settings @{ CertificatePath = $Cer } } | Should -Throw -ExpectedMessage '*no private key*'
        }
    }

    It 'keeps a PFX key out of the account''s profile on Windows PowerShell: in memory on .NET Framework 4.7.2+, else the machine key set' {
        InModuleScope Smtp2Graph {
            # The X509KeyStorageFlags names of .NET Framework 4.6.2 (Windows Server 2016), then of 4.7.2 and later.
            $net462 = @('DefaultKeySet', 'UserKeySet', 'MachineKeySet', 'Exportable', 'UserProtected', 'PersistKeySet')
            $net472 = $net462 + 'EphemeralKeySet'
            @(Get-Smtp2GraphKeyStorageFlag -Edition Desktop -Available $net462) | Should -Be @('MachineKeySet')
            @(Get-Smtp2GraphKeyStorageFlag -Edition Desktop -Available $net472) | Should -Be @('EphemeralKeySet', 'MachineKeySet')
            @(Get-Smtp2GraphKeyStorageFlag -Edition Core -Available $net472 -MacOS $false) | Should -Be @('EphemeralKeySet', 'DefaultKeySet')
            # macOS cannot import a key as ephemeral.
            @(Get-Smtp2GraphKeyStorageFlag -Edition Core -Available $net472 -MacOS $true) | Should -Be @('DefaultKeySet')
            foreach ($names in @(, $net462) + @(, $net472)) {
                $chosen = @(Get-Smtp2GraphKeyStorageFlag -Edition Desktop -Available $names)
                $chosen | Should -Not -Contain 'DefaultKeySet'
                $chosen | Should -Not -Contain 'UserKeySet'
                $chosen | Should -Not -Contain 'PersistKeySet'
            }
            Get-Smtp2GraphKeyStorageFlag -Requested 'UserKeySet' -Available $net462 | Should -Be 'UserKeySet'
            { Get-Smtp2GraphKeyStorageFlag -Requested 'EphemeralKeySet' -Available $net462 } | Should -Throw -ExpectedMessage '*SMTP2GRAPH_CERT_KEY_STORAGE*'
        }
    }

    It 'tries the next key storage when one fails, and says why each failed when none works' {
        $files = New-TestCertificateFile -Password 'test-only-pfx'
        $env:SMTP2GRAPH_CERT_PASSWORD = 'test-only-pfx'
        InModuleScope Smtp2Graph -Parameters @{ Pfx = $files.Pfx } {
            param($Pfx)
            Mock Get-Smtp2GraphKeyStorageFlag { @('NoSuchStorage', 'DefaultKeySet') }
            (Get-Smtp2GraphCertificate -Settings @{ CertificatePath = $Pfx }).HasPrivateKey | Should -BeTrue
            Clear-Smtp2GraphCertificateCache
            $env:SMTP2GRAPH_CERT_PASSWORD = 'not-the-password'
            { Get-Smtp2GraphCertificate -Settings @{ CertificatePath = $Pfx } } | Should -Throw -ExpectedMessage '*NoSuchStorage: *DefaultKeySet: *'
        }
    }

    It 'declares the .NET Framework 4.6 floor that GetRSAPrivateKey needs on Windows PowerShell 5.1' {
        $manifest = Import-PowerShellDataFile -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Smtp2Graph.psd1')
        $manifest['DotNetFrameworkVersion'] | Should -Be '4.6'
        $manifest['CLRVersion'] | Should -Be '4.0'
        { Test-ModuleManifest -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Smtp2Graph.psd1') -ErrorAction Stop } | Should -Not -Throw
    }
}
