#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The Kubernetes executor against a real API server and Job controller (build.ps1 Test starts them, with a fake kubelet
# that runs pods as local processes). The tutorial itself runs on it in Pipelines.Tests.ps1.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $skip = -not ($env:PACHPS_TEST_S3_ENDPOINT -and $env:PACHPS_TEST_KUBECONFIG)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force

    # PachPS's Jobs as the API server lists them (through the kubeconfig's token).
    function Get-KubeJob([string] $Selector = 'app.kubernetes.io/managed-by=pachps') {
        $config = Get-Content $env:PACHPS_TEST_KUBECONFIG -Raw
        $server = [regex]::Match($config, 'server: "([^"]+)"').Groups[1].Value
        $token = [regex]::Match($config, 'token: "([^"]+)"').Groups[1].Value
        $url = "$server/apis/batch/v1/namespaces/default/jobs?labelSelector=$([uri]::EscapeDataString($Selector))"
        (Invoke-RestMethod $url -Headers @{ Authorization = "Bearer $token" } -SkipCertificateCheck).items
    }
    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60) {
        $deadline = (Get-Date).AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ((Get-Date) -gt $deadline) { throw "timed out after $Seconds s waiting for: $Condition" }
            Start-Sleep -Milliseconds 200
        }
    }
}

Describe 'Datums as Kubernetes Jobs' -Skip:$skip {
    BeforeEach {
        Connect-TestStore Kubernetes (Join-Path $TestDrive ("k8s-" + [guid]::NewGuid().ToString('N').Substring(0, 8)))
        New-PachRepo words | Out-Null
    }
    AfterEach { Disconnect-PachStore }

    It 'never has more Jobs in flight than parallelism_spec, and keeps each datum''s log' {
        Add-PachFile words master -Value 'x' -Path /one.txt | Out-Null
        1..5 | ForEach-Object { Add-PachFile words master -Value "$_" -Path "/w$_.txt" } | Out-Null
        $inFlight = Join-Path $env:PACHPS_TEST_KUBELET_WORK 'jobs-in-flight.txt'
        Set-Content $inFlight '' -NoNewline
        New-PachPipeline -Spec @{ pipeline = @{ name = 'slowcopy' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sh', '-c', 'sleep 1; echo "copying $words"; cp "$words" /pfs/out/') }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline slowcopy | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        $job.Progress | Should -Be '6 + 0 / 6'
        (Get-PachFile slowcopy master).Path.Count | Should -Be 6
        $counts = @(Get-Content $inFlight | Where-Object { $_ } | ForEach-Object { [int]$_ })
        $counts.Count | Should -Be 6
        ($counts | Measure-Object -Maximum).Maximum | Should -Be 2
        (Get-PachLog -Job $job.Id).Message | Should -Contain 'copying /pfs/words/w3.txt'
        Wait-Until { -not (Get-KubeJob "pachps.io/job=$($job.Id)") } 20   # collected Jobs are deleted
    }

    It 'fetches a datum of many files through a manifest that is itself a presigned object' {
        $files = foreach ($i in 1..400) { $f = Join-Path $TestDrive "many/f$i.txt"; $null = New-Item -Force $f -Value "file $i`n"; $f }
        Add-PachFile words master /many -Source (Join-Path $TestDrive 'many') -Recurse | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'count' }
            transform = @{ cmd = @('sh', '-c', 'ls /pfs/words/many | wc -l > /pfs/out/files; cat /pfs/words/many/f400.txt > /pfs/out/last') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } } } | Out-Null
        $job = Get-PachJob -Pipeline count | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        [int](Get-PachFileContent count master files) | Should -Be 400
        Get-PachFileContent count master last | Should -Be 'file 400'
    }

    It 'reads a file imported by reference from its own bucket, by presigned range' {
        # Put with the store's own S3 credentials through a copy into the store, then referenced where it lies.
        $bucket = $env:PACHPS_TEST_S3_BUCKET ?? 'pachps-test'
        $key = "pester-k8s-ref/$([guid]::NewGuid().ToString('N').Substring(0, 12))/big.bin"
        $env:AWS_ACCESS_KEY_ID = $env:PACHPS_TEST_S3_ACCESS_KEY; $env:AWS_SECRET_ACCESS_KEY = $env:PACHPS_TEST_S3_SECRET_KEY
        $local = Join-Path $TestDrive 'ref-big.bin'
        [System.IO.File]::WriteAllBytes($local, (New-Bytes -Length 9MB -Seed 11))
        & aws --endpoint-url $env:PACHPS_TEST_S3_ENDPOINT --region us-east-1 s3 cp $local "s3://$bucket/$key" --only-show-errors
        try {
            Import-PachObject words master /big.bin -Uri "s3://$bucket/$key" -Reference | Out-Null
            New-PachPipeline -Spec @{ pipeline = @{ name = 'sum' }; transform = @{ cmd = @('sh', '-c', 'sha256sum < /pfs/words/big.bin | cut -c1-64 > /pfs/out/sha') }
                input = @{ pfs = @{ repo = 'words'; glob = '/' } } } | Out-Null
            $job = Get-PachJob -Pipeline sum | Wait-PachJob -TimeoutSec 120
            $job.State | Should -Be 'Success' -Because $job.Reason
            (Get-PachFileContent sum master sha).Trim() | Should -Be (Get-FileHash $local -Algorithm SHA256).Hash.ToLowerInvariant()
        }
        finally { & aws --endpoint-url $env:PACHPS_TEST_S3_ENDPOINT --region us-east-1 s3 rm "s3://$bucket/$key" --only-show-errors }
    }

    It 'retries a failed datum through the Job''s backoffLimit (datum_tries)' {
        Add-PachFile words master -Value 'flaky' -Path /a.txt | Out-Null
        $marker = Join-Path $TestDrive ("tried-" + [guid]::NewGuid().ToString('N'))
        New-PachPipeline -Spec @{ pipeline = @{ name = 'flaky' }; datum_tries = 2
            transform = @{ cmd = @('sh', '-c', "if [ ! -f $marker ]; then touch $marker; echo first try fails >&2; exit 3; fi; cp `"`$words`" /pfs/out/") }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline flaky | Wait-PachJob -TimeoutSec 120
        $job.State | Should -Be 'Success' -Because $job.Reason
        (Get-PachDatum -Job $job.Id).Attempts | Should -Be 2
        Get-PachFileContent flaky master a.txt | Should -Be 'flaky'
    }

    It 'fails a datum that outlives datum_timeout (activeDeadlineSeconds)' {
        Add-PachFile words master -Value 'slow' -Path /a.txt | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'sleepy' }; datum_tries = 1; datum_timeout = '2s'
            transform = @{ cmd = @('sleep', '60') }; input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline sleepy | Wait-PachJob -TimeoutSec 90
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'datum_timeout exceeded'
    }

    It 'shows the transform container''s log while the datum runs (Get-PachLog -Follow), each line once' {
        Add-PachFile words master -Value 'x' -Path /a.txt | Out-Null
        $gate = Join-Path $TestDrive ("gate-" + [guid]::NewGuid().ToString('N'))
        New-PachPipeline -Spec @{ pipeline = @{ name = 'talker' }
            transform = @{ cmd = @('sh', '-c', "echo first; n=0; while [ ! -f $gate ] && [ `$n -lt 600 ]; do sleep 0.1; n=`$((n+1)); done; echo second") }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline talker
        Wait-Until { (Get-PachLog -Job $job.Id).Message -contains 'first' } 30
        (Get-PachJob -Id $job.Id).State | Should -Be 'Running'
        Set-Content $gate ''
        $followed = Get-PachLog -Job $job.Id -Follow
        $followed.Message | Should -Be @('first', 'second')
        (Get-PachJob -Id $job.Id).State | Should -Be 'Success'
    }

    It 'Stop-PachJob deletes the job''s Kubernetes Jobs' {
        1..2 | ForEach-Object { Add-PachFile words master -Value "$_" -Path "/w$_.txt" } | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'forever' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sleep', '300') }; input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline forever
        Wait-Until { @(Get-KubeJob "pachps.io/job=$($job.Id)").Count -eq 2 }
        Stop-PachJob $job.Id | Out-Null
        Wait-Until { -not (Get-KubeJob "pachps.io/job=$($job.Id)") } 30
        (Get-PachJob -Id $job.Id).State | Should -Be 'Killed'
    }

    It 'puts the spec''s tolerations, labels and annotations on the datum''s Job and pod' {
        Add-PachFile words master -Value 'one' -Path /w1.txt | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'labelled' }; transform = @{ cmd = @('sleep', '3') }
            tolerations = @(@{ key = 'dedicated'; operator = 'EQUAL'; value = 'pachps'; effect = 'NO_SCHEDULE' })
            metadata = @{ labels = @{ team = 'vision' }; annotations = @{ owner = 'ops@example.org' } }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } } } -WarningVariable warned | Out-Null
        $warned | Should -BeNullOrEmpty
        Wait-Until { @(Get-KubeJob 'team=vision').Count -eq 1 }
        $kube = Get-KubeJob 'team=vision'
        $kube.metadata.annotations.owner | Should -Be 'ops@example.org'
        $kube.spec.template.metadata.labels.team | Should -Be 'vision'
        $kube.spec.template.spec.tolerations[0].key | Should -Be 'dedicated'
        $kube.spec.template.spec.tolerations[0].operator | Should -Be 'Equal'
        $kube.spec.template.spec.tolerations[0].effect | Should -Be 'NoSchedule'
        (Get-PachJob -Pipeline labelled | Wait-PachJob -TimeoutSec 90).State | Should -Be 'Success'
    }

    It 'keeps the output rules: links inside /pfs are stored as their files, a link outside fails the datum naming it' {
        Add-PachFile words master -Value 'one' -Path /w1.txt | Out-Null
        New-PachPipeline -Spec @{ pipeline = @{ name = 'links' }
            transform = @{ cmd = @('sh', '-c', 'ln -s /pfs/words/w1.txt /pfs/out/copy; ln -s ../words /pfs/out/all') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } } } | Out-Null
        (Get-PachJob -Pipeline links | Wait-PachJob -TimeoutSec 90).State | Should -Be 'Success'
        (Get-PachFile links master -Recurse).Path | Should -Be @('/all/w1.txt', '/copy')
        Get-PachFileContent links master /copy | Should -Be 'one'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'escape' }; transform = @{ cmd = @('sh', '-c', 'ln -s /etc/hostname /pfs/out/h') }
            input = @{ pfs = @{ repo = 'words'; glob = '/' } } } | Out-Null
        $job = Get-PachJob -Pipeline escape | Wait-PachJob -TimeoutSec 90
        $job.State | Should -Be 'Failure'
        (Get-PachDatum -Job $job.Id).Reason | Should -BeLike '/pfs/out/h is a link to /etc/hostname, outside the datum''s /pfs*'
    }

    It 'collects Jobs that finished while the store was closed' {
        1..2 | ForEach-Object { Add-PachFile words master -Value "$_" -Path "/w$_.txt" } | Out-Null
        $gate = Join-Path $TestDrive ("gate-" + [guid]::NewGuid().ToString('N'))
        $runs = Join-Path $TestDrive ("runs-" + [guid]::NewGuid().ToString('N'))
        New-PachPipeline -Spec @{ pipeline = @{ name = 'gated' }; parallelism_spec = @{ constant = 2 }
            transform = @{ cmd = @('sh', '-c', "echo `"`$words`" >> $runs; n=0; while [ ! -f $gate ] && [ `$n -lt 300 ]; do sleep 0.2; n=`$((n+1)); done; cp `"`$words`" /pfs/out/") }
            input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline gated
        Wait-Until { @(Get-KubeJob "pachps.io/job=$($job.Id)").Count -eq 2 }
        $store = (Get-PachStore).Path
        Disconnect-PachStore
        # The Jobs keep running without the store, and finish.
        Set-Content $gate ''
        Wait-Until { $jobs = @(Get-KubeJob "pachps.io/job=$($job.Id)"); $jobs.Count -eq 2 -and -not ($jobs | Where-Object { -not ($_.status.conditions | Where-Object type -EQ Complete) }) }
        Connect-TestStore Kubernetes $store
        $done = Get-PachJob -Id $job.Id | Wait-PachJob -TimeoutSec 60
        $done.State | Should -Be 'Success' -Because $done.Reason
        (Get-PachFile gated master).Path | Should -Be @('/w1.txt', '/w2.txt')
        @(Get-Content $runs).Count | Should -Be 2 -Because 'the reopened store collected the Jobs instead of running the datums again'
        Wait-Until { -not (Get-KubeJob "pachps.io/job=$($job.Id)") } 20
    }
}

Describe 'datum_batching on Kubernetes' -Skip:$skip {
    BeforeAll {
        Connect-TestStore Kubernetes (Join-Path $TestDrive 'k8s-batch')
        New-PachRepo words | Out-Null
        1..5 | ForEach-Object { Add-PachFile words master -Value "word $_" -Path "/w$_.txt" } | Out-Null
        Add-PachFile words master -Value 'bad' -Path /zz-bad.txt | Out-Null
        $starts = Join-Path $TestDrive 'starts'
        # The protocol from sh, as in the README; a datum named *bad* makes the worker fail.
        $loop = 'echo started >> ' + $starts + '; while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; ' +
            '[ "$r" = done ] && exit 0; . "$PACH_DATUM_ENV"; echo "handling $in"; case "$in" in *bad*) exit 4;; esac; ' +
            'tr a-z A-Z < "$in" > "/pfs/out/$(basename "$in")"; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batched' }; parallelism_spec = @{ constant = 2 }; datum_tries = 2
            transform = @{ cmd = @('sh', '-c', $loop); datum_batching = $true }; input = @{ pfs = @{ name = 'in'; repo = 'words'; glob = '/*' } } } | Out-Null
        $job = Get-PachJob -Pipeline batched | Wait-PachJob -TimeoutSec 120
    }
    AfterAll { Disconnect-PachStore }

    It 'serves many datums to one process per Job and keeps their outputs' {
        $job.State | Should -Be 'Failure'
        $job.Reason | Should -Match 'exit code 4'
        (Get-PachDatum -Job $job.Id | Where-Object State -EQ Success).Count | Should -Be 5
        $bad = Get-PachDatum -Job $job.Id | Where-Object State -EQ Failed
        $bad.InputFiles | Should -Match 'zz-bad'
        $bad.Attempts | Should -Be 2
        # At most 2 workers, then one more start for the retry of the failed datum: far fewer starts than datums.
        @(Get-Content $starts).Count | Should -BeLessOrEqual 4
    }
    It 'attributes each line of the log to its datum' {
        $w3 = Get-PachDatum -Job $job.Id | Where-Object InputFiles -Match 'w3'
        (Get-PachLog -Job $job.Id -Datum $w3.DatumId).Message | Should -Be 'handling /pfs/in/w3.txt'
    }
    It 'keeps the output rules in a batch: links inside /pfs are stored as their files, a link outside fails that datum' {
        # Each datum links its input into /pfs/out; a datum named *bad* links /etc/hostname instead.
        $links = 'while :; do echo next > "$PACH_DATUM_REQUEST"; read -r r < "$PACH_DATUM_RESPONSE"; ' +
            '[ "$r" = done ] && exit 0; . "$PACH_DATUM_ENV"; b=$(basename "$in"); ' +
            'case "$b" in *bad*) ln -s /etc/hostname "/pfs/out/$b";; *) ln -s "$in" "/pfs/out/$b";; esac; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batchlinks' }; datum_tries = 1
            transform = @{ cmd = @('sh', '-c', $links); datum_batching = $true }; input = @{ pfs = @{ name = 'in'; repo = 'words'; glob = '/w*' } } } | Out-Null
        (Get-PachJob -Pipeline batchlinks | Wait-PachJob -TimeoutSec 120).State | Should -Be 'Success'
        (Get-PachFile batchlinks master).Path | Should -Be @('/w1.txt', '/w2.txt', '/w3.txt', '/w4.txt', '/w5.txt')
        Get-PachFileContent batchlinks master /w2.txt | Should -Be 'word 2'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'batchescape' }; datum_tries = 1
            transform = @{ cmd = @('sh', '-c', $links); datum_batching = $true }; input = @{ pfs = @{ name = 'in'; repo = 'words'; glob = '/*' } } } | Out-Null
        $escaped = Get-PachJob -Pipeline batchescape | Wait-PachJob -TimeoutSec 120
        $escaped.State | Should -Be 'Failure'
        (Get-PachDatum -Job $escaped.Id | Where-Object State -EQ Success).Count | Should -Be 5
        (Get-PachDatum -Job $escaped.Id | Where-Object State -EQ Failed).Reason |
            Should -BeLike '/pfs/out/zz-bad.txt is a link to /etc/hostname, outside the datum''s /pfs*'
    }
}

Describe 'Spouts on Kubernetes' -Skip:$skip {
    BeforeEach {
        Connect-TestStore Kubernetes (Join-Path $TestDrive ("k8s-spout-" + [guid]::NewGuid().ToString('N').Substring(0, 8)))
    }
    AfterEach {
        Get-PachPipeline | Remove-PachPipeline -Confirm:$false
        Disconnect-PachStore
    }

    It 'runs the spout as a long-running Job whose stream feeds a downstream pipeline' {
        $loop = 'i=0; while true; do i=$((i+1)); echo $i > /pfs/out/f$i; echo "wrote f$i"; sleep 0.3; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'stream' }; transform = @{ cmd = @('sh', '-c', $loop) }; spout = @{} } | Out-Null
        New-PachPipeline -Spec @{
            pipeline = @{ name = 'doubled' }
            transform = @{ cmd = @('sh', '-c', 'for f in /pfs/stream/*; do echo $(( $(cat $f) * 2 )) > /pfs/out/$(basename $f); done') }
            input = @{ pfs = @{ repo = 'stream'; glob = '/*' } }
        } | Out-Null
        Wait-Until { @(Get-KubeJob 'pachps.io/spout').Count -eq 1 }
        (Get-KubeJob 'pachps.io/spout').spec.template.spec.containers.name | Should -Be @('transform', 'ship')
        # The stream is committed as it settles, not once.
        Wait-Until { @(Get-PachCommit stream).Count -ge 3 } 60
        Wait-Until { @(Get-PachFile doubled master -ErrorAction Ignore).Count -ge 3 } 120
        Get-PachFileContent doubled master f3 | Should -Be '6'
        (Get-PachCommit stream master).Message | Should -Match '^Spout stream: '
        Wait-Until { (Get-PachLog -Pipeline stream).Message -contains 'wrote f2' }
        (Get-PachLog -Pipeline stream).Message | Should -Contain 'run 1 started'
    }

    It 'ships what the command wrote when the spout is suspended, and restarts a command that exits' {
        # growing never settles (it grows every 0.1 s), so only the pod's last shipment, made as it stops, can carry it.
        $cmd = 'echo "run $PACH_PIPELINE_NAME" > /pfs/out/started-$$; while true; do echo x >> /pfs/out/growing; sleep 0.1; done'
        New-PachPipeline -Spec @{ pipeline = @{ name = 'grower' }; transform = @{ cmd = @('sh', '-c', $cmd) }; spout = @{} } | Out-Null
        Wait-Until { @(Get-PachFile grower master -ErrorAction Ignore).Count -ge 1 } 60
        (Get-PachFile grower master).Path | Should -Not -Contain '/growing'
        Suspend-PachPipeline grower | Out-Null
        Wait-Until { -not (Get-KubeJob 'pachps.io/spout') } 30
        Resume-PachPipeline grower | Out-Null
        # The shipment delivered on stopping is committed when the spout runs again.
        Wait-Until { (Get-PachFile grower master -ErrorAction Ignore).Path -contains '/growing' } 60
        @(Get-PachFileContent grower master growing).Count | Should -BeGreaterThan 2
        Get-PachFileContent grower master (Get-PachFile grower master | Where-Object Path -Like '/started-*' | Select-Object -First 1).Path |
            Should -Be 'run grower'

        New-PachPipeline -Spec @{ pipeline = @{ name = 'once' }; transform = @{ cmd = @('sh', '-c', 'echo $$ > /pfs/out/ran-$$; exit 3') }; spout = @{} } | Out-Null
        Wait-Until { @(Get-PachFile once master -ErrorAction Ignore).Count -ge 2 } 90
        (Get-PachLog -Pipeline once).Message | Should -Contain 'run 1 exited with code 3; restarting in 0.5s'
    }
}

Describe 'PowerShell running in a pod' -Skip:$skip {
    It 'uses the pod''s service account when no kubeconfig is given (in-cluster configuration)' {
        # A child pwsh sees what a pod sees: KUBERNETES_SERVICE_HOST/PORT and a service account folder (token, CA and
        # namespace), mounted in a private mount namespace so that nothing changes for the rest of the machine.
        $config = Get-Content $env:PACHPS_TEST_KUBECONFIG -Raw
        $server = [uri][regex]::Match($config, 'server: "([^"]+)"').Groups[1].Value
        $account = New-Item -ItemType Directory (Join-Path $TestDrive 'serviceaccount')
        Set-Content (Join-Path $account 'token') ([regex]::Match($config, 'token: "([^"]+)"').Groups[1].Value) -NoNewline
        Copy-Item ([regex]::Match($config, 'certificate-authority: "([^"]+)"').Groups[1].Value) (Join-Path $account 'ca.crt')
        Set-Content (Join-Path $account 'namespace') 'default' -NoNewline
        $store = Join-Path $TestDrive 'in-cluster'
        $script = Join-Path $TestDrive 'in-pod.ps1'
        Set-Content $script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
$((Get-ConnectCommand S3 $store) -replace '\| Out-Null$', '-Kubernetes | Out-Null')
New-PachRepo words | Out-Null
Add-PachFile words master a.txt -Value 'in a pod' | Out-Null
New-PachPipeline -Spec @{ pipeline = @{ name = 'copy' }; transform = @{ cmd = @('sh', '-c', 'cp "`$words" /pfs/out/') }; input = @{ pfs = @{ repo = 'words'; glob = '/*' } } } | Out-Null
`$job = Get-PachJob -Pipeline copy | Wait-PachJob -TimeoutSec 60
@{ Executor = (Get-PachStore).Executor; State = "`$(`$job.State)"; Output = (Get-PachFileContent copy master a.txt) } | ConvertTo-Json -Compress
Disconnect-PachStore
"@
        $pwshDll = Join-Path ([System.IO.Path]::GetDirectoryName([System.Management.Automation.PowerShell].Assembly.Location)) 'pwsh.dll'
        $sa = '/var/run/secrets/kubernetes.io/serviceaccount'
        $env:KUBERNETES_SERVICE_HOST = $server.Host
        $env:KUBERNETES_SERVICE_PORT = "$($server.Port)"
        try {
            $out = & unshare -m sh -c "mkdir -p /var/run/secrets && mount -t tmpfs tmpfs /var/run/secrets && mkdir -p $sa && cp '$account'/* $sa/ && exec dotnet '$pwshDll' -NoProfile -NonInteractive -File '$script'" 2>&1
        }
        finally { Remove-Item env:KUBERNETES_SERVICE_HOST, env:KUBERNETES_SERVICE_PORT }
        $result = ($out | Select-Object -Last 1) | ConvertFrom-Json
        $result.Executor | Should -Match "namespace 'default' at https://$($server.Host):$($server.Port)"
        $result.State | Should -Be 'Success' -Because ($out -join "`n")
        $result.Output | Should -Be 'in a pod'
    }
}

Describe 'Connect-PachStore -Kubernetes' {
    It 'refuses a store without S3, creating nothing' {
        $path = Join-Path $TestDrive 'no-s3'
        { Connect-PachStore -Path $path -Kubernetes -ErrorAction Stop } | Should -Throw -ErrorId 'KubernetesNeedsS3,PachPS.Commands.ConnectPachStoreCommand'
        Test-Path $path | Should -BeFalse
        { Connect-PachStore -Path $path -Namespace x -ErrorAction Stop } | Should -Throw -ErrorId 'KubernetesSwitchRequired,PachPS.Commands.ConnectPachStoreCommand'
        { Connect-PachStore -Path $path -S3Bucket pachps-nowhere -S3Endpoint http://127.0.0.1:9 -Kubernetes -KubeConfig (Join-Path $TestDrive 'no-such-kubeconfig') -ErrorAction Stop } |
            Should -Throw -ErrorId 'KubernetesConfigInvalid,PachPS.Commands.ConnectPachStoreCommand'
        Test-Path $path | Should -BeFalse
    }
}
