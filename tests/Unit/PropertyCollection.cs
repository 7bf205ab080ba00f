namespace PachPS.Tests.Unit;

/// <summary>
/// CsCheck's property tests block their test thread while their own workers sample: beside async tests that need
/// xunit's few threads to go on, CI once saw both wait for good (a backup test's writer looping meanwhile). They run
/// alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PropertyCollection
{
    public const string Name = "CsCheck properties";
}
