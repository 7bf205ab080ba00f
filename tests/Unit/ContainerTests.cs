using PachPS.Engine;
using PachPS.Engine.Execution;
using PachPS.Engine.Execution.Containers;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// transform.image in local containers: how the spec's fields become the runtime's flags, and the spec's PachPS fields.
/// Running containers is the Pester suite's (Containers.Tests.ps1).
/// </summary>
public class ContainerTests
{
    private static PipelineSpec Spec(string transform, string extra = "") => PipelineSpec.Parse($$"""
        { "pipeline": { "name": "boxed" }, "transform": { {{transform}} }, "input": { "pfs": { "repo": "a", "glob": "/*" } } {{extra}} }
        """);

    [Theory]
    [InlineData("500m", 0.5)]
    [InlineData("2", 2)]
    [InlineData("1.5", 1.5)]
    [InlineData("64Mi", 67108864)]
    [InlineData("1Gi", 1073741824)]
    [InlineData("1G", 1000000000)]
    [InlineData("256k", 256000)]
    public void KubernetesQuantitiesAreNumbers(string quantity, double expected) =>
        Assert.Equal((decimal)expected, ContainerCli.Quantity(quantity, "memory", "boxed"));

    [Theory]
    [InlineData("lots")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("12Qi")]
    public void AQuantityThatIsNotOneIsRefusedNamingThePipeline(string quantity)
    {
        var ex = Assert.Throws<PachException>(() => ContainerCli.Quantity(quantity, "cpu", "boxed"));
        Assert.Equal("ContainerResourceInvalid", ex.ErrorId);
        Assert.Contains("boxed", ex.Message);
        Assert.Contains(quantity, ex.Message);
    }

    [Fact]
    public void ResourceLimitsBecomeEachRuntimesFlags()
    {
        var spec = Spec("\"image\": \"x\", \"cmd\": [\"true\"]",
            ", \"resource_limits\": { \"cpu\": \"250m\", \"memory\": \"128Mi\", \"disk\": \"1Gi\", \"gpu\": { \"type\": \"nvidia.com/gpu\", \"number\": 2 } }");
        var podman = new ContainerCli(ContainerRuntime.Podman, "/usr/bin/podman").LimitFlags(spec.Pod.Limits, "boxed");
        var docker = new ContainerCli(ContainerRuntime.Docker, "/usr/bin/docker").LimitFlags(spec.Pod.Limits, "boxed");
        Assert.Equal(["--cpus=0.250", "--memory=134217728", "--device", "nvidia.com/gpu=all"], podman);
        Assert.Equal(["--cpus=0.250", "--memory=134217728", "--gpus", "2"], docker);
    }

    [Fact]
    public void RunHasNoNetworkNeverPullsAndCarriesEnvWorkingDirAndUserButNoSecretValue()
    {
        var spec = Spec("""
            "image": "localhost/x:1", "cmd": ["sh"], "env": { "A": "1" }, "working_dir": "/code", "user": "1000:100",
            "secrets": [ { "name": "db", "key": "password", "env_var": "DB_PASSWORD" } ]
            """);
        var cli = new ContainerCli(ContainerRuntime.Podman, "/usr/bin/podman");
        var args = cli.RunArguments("pachps-1", "/w/pfs", "/w/.c", spec.Transform, spec.Pod, ["DB_PASSWORD"], null, "boxed");
        Assert.Contains("--pull=never", args);
        Assert.Contains("--network=none", args);
        Assert.Contains("/w/pfs:/pfs", args);
        Assert.Contains("/w/.c:" + ContainerCli.ControlPath, args);
        Assert.Contains("A=1", args);
        Assert.Contains("--workdir=/code", args);
        Assert.Contains("--user=1000:100", args);
        // The secret goes by name: the runtime reads its value from its own environment.
        Assert.Equal("DB_PASSWORD", args[args.IndexOf("DB_PASSWORD") - 1] == "--env" ? "DB_PASSWORD" : null);
        Assert.DoesNotContain(args, a => a.StartsWith("DB_PASSWORD=", StringComparison.Ordinal));
        var network = Spec("\"image\": \"x\", \"cmd\": [\"true\"], \"pachps_network\": \"host\"");
        Assert.Contains("--network=host", cli.RunArguments("n", "/p", "/c", network.Transform, network.Pod, [], null, "boxed"));
    }

    [Fact]
    public void ThePipelinesRuntimeAndNetworkAreReadAndBadOnesRefused()
    {
        var spec = Spec("\"image\": \"x\", \"cmd\": [\"true\"], \"pachps_container_runtime\": \"Docker\", \"pachps_network\": \"bridge\"");
        Assert.Equal(ContainerRuntime.Docker, spec.Transform.ContainerRuntime);
        Assert.Equal("bridge", spec.Transform.Network);
        Assert.Empty(spec.UnknownFields);
        Assert.Equal(ContainerRuntime.None, Spec("\"image\": \"x\", \"cmd\": [\"true\"], \"pachpsContainerRuntime\": \"none\"").Transform.ContainerRuntime);
        Assert.Null(Spec("\"image\": \"x\", \"cmd\": [\"true\"]").Transform.ContainerRuntime);
        Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => Spec("\"cmd\": [\"true\"], \"pachps_container_runtime\": \"lxc\"")).ErrorId);
        Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => Spec("\"cmd\": [\"true\"], \"pachps_network\": \"--privileged\"")).ErrorId);
    }

    [Fact]
    public void APipelineRuntimeWithoutAnImageIsRefusedAndAnImageWithoutARuntimeRunsLocally()
    {
        using var local = new LocalProcessExecutor(new PfsSupport(false, false, "test"));
        var ex = Assert.Throws<PachException>(() => local.CheckTransform("boxed", Spec("\"cmd\": [\"true\"], \"pachps_container_runtime\": \"podman\"").Transform));
        Assert.Equal("ContainerImageMissing", ex.ErrorId);
        Assert.Equal(ContainerRuntime.None, local.RuntimeFor(Spec("\"image\": \"x\", \"cmd\": [\"true\"]").Transform));
        using var boxed = new LocalProcessExecutor(new ContainerSettings(ContainerRuntime.Podman));
        Assert.Equal(ContainerRuntime.Podman, boxed.RuntimeFor(Spec("\"image\": \"x\", \"cmd\": [\"true\"]").Transform));
        Assert.Equal(ContainerRuntime.None, boxed.RuntimeFor(Spec("\"cmd\": [\"true\"]").Transform));
        Assert.Equal(ContainerRuntime.None, boxed.RuntimeFor(Spec("\"image\": \"x\", \"cmd\": [\"true\"], \"pachps_container_runtime\": \"none\"").Transform));
        Assert.Contains("Podman containers", boxed.Description);
    }
}
