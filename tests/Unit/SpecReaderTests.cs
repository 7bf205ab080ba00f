using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PachPS.Engine;
using PachPS.Engine.Pps;

namespace PachPS.Tests.Unit;

/// <summary>
/// The spec reader (issue 20): both of protobuf's JSON name styles at every level, YAML, several specs in one text,
/// errors that say where, fields PachPS does not implement reported, refused kinds refused.
/// </summary>
public class SpecReaderTests
{
    /// <summary>Every field PachPS reads, at every level of the spec, in snake_case.</summary>
    private const string Full = """
        {
          "pipeline": { "name": "full" },
          "description": "every field PachPS reads",
          "transform": {
            "image": "python:3", "cmd": ["sh"], "stdin": ["cp $left /pfs/out/"], "env": { "MY_VAR": "1", "snake_key": "kept" },
            "working_dir": "/work", "accept_return_code": [2, 3], "err_cmd": ["true"], "err_stdin": ["echo recovered"],
            "datum_batching": true, "image_pull_secrets": ["regcred"]
          },
          "parallelism_spec": { "constant": 2 },
          "output_branch": "results",
          "datum_tries": 5,
          "datum_timeout": "30s",
          "job_timeout": "1h",
          "reprocess_spec": "every_job",
          "salt": "pepper",
          "reprocess": true,
          "resource_requests": { "cpu": 0.5, "memory": "1Gi", "gpu": { "type": "nvidia.com/gpu", "number": 2 } },
          "resource_limits": { "memory": "2Gi", "disk": "10Gi" },
          "scheduling_spec": { "node_selector": { "disk_type": "ssd" } },
          "pod_patch": "[{\"op\": \"add\", \"path\": \"/serviceAccountName\", \"value\": \"w\"}]",
          "input": {
            "cross": [
              { "join": [
                  { "pfs": { "name": "left", "repo": "a", "branch": "dev", "glob": "/(*).csv", "join_on": "$1", "outer_join": true } },
                  { "pfs": { "name": "right", "repo": "b", "glob": "/(*).txt", "join_on": "$1" } } ] },
              { "group": [ { "pfs": { "name": "grouped", "repo": "c", "glob": "/(*)-*", "group_by": "$1" } } ] },
              { "union": [
                  { "cron": { "name": "tick", "spec": "@every 1m", "overwrite": true, "start": "2024-01-01T00:00:00Z", "repo": "ticks" } },
                  { "atom": { "name": "old", "repo": "d", "glob": "/" } } ] }
            ]
          }
        }
        """;

    /// <summary>The same spec in YAML and lowerCamelCase, as Pachyderm's newer examples are written.</summary>
    private const string FullYaml = """
        # every field PachPS reads, camelCase
        pipeline:
          name: full
        description: every field PachPS reads
        transform:
          image: python:3
          cmd: [sh]
          stdin:
            - cp $left /pfs/out/
          env:
            MY_VAR: "1"
            snake_key: kept
          workingDir: /work
          acceptReturnCode: [2, 3]
          errCmd: ["true"]
          errStdin: [echo recovered]
          datumBatching: true
          imagePullSecrets: [regcred]
        parallelismSpec:
          constant: 2
        outputBranch: results
        datumTries: 5
        datumTimeout: 30s
        jobTimeout: 1h
        reprocessSpec: every_job
        salt: pepper
        reprocess: true
        resourceRequests: {cpu: 0.5, memory: 1Gi, gpu: {type: nvidia.com/gpu, number: 2}}
        resourceLimits:
          memory: 2Gi
          disk: 10Gi
        schedulingSpec:
          nodeSelector:
            disk_type: ssd
        podPatch: '[{"op": "add", "path": "/serviceAccountName", "value": "w"}]'
        input:
          cross:
            - join:
                - pfs: &left {name: left, repo: a, branch: dev, glob: "/(*).csv", joinOn: "$1", outerJoin: true}
                - pfs:
                    name: right
                    repo: b
                    glob: "/(*).txt"
                    joinOn: "$1"
            - group:
                - pfs: {name: grouped, repo: c, glob: "/(*)-*", groupBy: "$1"}
            - union:
                - cron: {name: tick, spec: "@every 1m", overwrite: true, start: "2024-01-01T00:00:00Z", repo: ticks}
                - atom: {name: old, repo: d, glob: /}
        """;

    /// <summary>Everything a parsed spec holds, as one string to compare two readings by.</summary>
    private static string Describe(PipelineSpec s)
    {
        static string Map(IReadOnlyDictionary<string, string> m) => string.Join(",", m.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        static string Input(InputSpec i) => i switch
        {
            PfsInputSpec p => $"pfs({p.Name},{p.Repo},{p.Branch},{p.Glob},{p.JoinOn},{p.OuterJoin},{p.GroupBy}," +
                (p.Cron is { } c ? $"cron({c.Name},{c.Start:o},{c.Overwrite},{c.Schedule})" : "") + ")",
            CrossInputSpec c => "cross(" + string.Join(";", c.Inputs.Select(Input)) + ")",
            UnionInputSpec u => "union(" + string.Join(";", u.Inputs.Select(Input)) + ")",
            JoinInputSpec j => "join(" + string.Join(";", j.Inputs.Select(Input)) + ")",
            GroupInputSpec g => "group(" + string.Join(";", g.Inputs.Select(Input)) + ")",
            _ => "?",
        };
        var t = s.Transform;
        return string.Join("|", s.Name, s.Description, t.Image, string.Join(",", t.Cmd), string.Join(",", t.Stdin), Map(t.Env), t.WorkingDir,
            string.Join(",", t.AcceptReturnCode), string.Join(",", t.ErrCmd), string.Join(",", t.ErrStdin), t.DatumBatching, s.Parallelism,
            s.OutputBranch, s.DatumTries, s.Salt, s.DatumTimeout, s.JobTimeout, s.ReprocessSpec, s.Reprocess, Map(s.Pod.Requests),
            Map(s.Pod.Limits), Map(s.Pod.NodeSelector), string.Join(",", s.Pod.ImagePullSecrets), s.Pod.PodPatch?.Text, Input(s.Input));
    }

    /// <summary>The spec with its field names in lowerCamelCase at the depths <paramref name="camelAt"/> picks; map keys stay.</summary>
    private static JsonNode? Camel(JsonNode? node, Func<int, bool> camelAt, int depth = 0) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(
            camelAt(depth) ? Regex.Replace(p.Key, "_([a-z0-9])", m => m.Groups[1].Value.ToUpperInvariant()) : p.Key,
            p.Key is "env" or "node_selector" ? p.Value?.DeepClone() : Camel(p.Value, camelAt, depth + 1)))),
        JsonArray a => new JsonArray(a.Select(i => Camel(i, camelAt, depth + 1)).ToArray()),
        _ => node?.DeepClone(),
    };

    [Fact]
    public void TheFullSpecReadsEveryField()
    {
        var spec = PipelineSpec.Parse(Full);
        Assert.Equal(2, spec.Parallelism);
        Assert.Equal("results", spec.OutputBranch);
        Assert.Equal(["regcred"], spec.Pod.ImagePullSecrets);
        Assert.Equal("kept", spec.Transform.Env["snake_key"]);
        Assert.Equal("ssd", spec.Pod.NodeSelector["disk_type"]);
        Assert.Equal("2", spec.Pod.Requests["nvidia.com/gpu"]);
        Assert.True(spec.Reprocess);
        Assert.Empty(spec.NotImplemented);
        Assert.Equal(SpecFormat.Json, spec.Format);
        Assert.Equal(Full, spec.Text);
    }

    [Theory]
    [InlineData("every level")]
    [InlineData("even levels")]
    [InlineData("odd levels")]
    public void CamelCaseReadsLikeSnakeCaseAtEachLevel(string where)
    {
        Func<int, bool> camelAt = where switch { "every level" => _ => true, "even levels" => d => d % 2 == 0, _ => d => d % 2 == 1 };
        var camel = Camel(JsonNode.Parse(Full), camelAt)!.ToJsonString();
        // Even levels hold parallelism_spec and join_on, odd ones working_dir: each mix has both styles in it.
        Assert.Equal(where != "odd levels", camel.Contains("\"parallelismSpec\"") && camel.Contains("\"joinOn\""));
        Assert.Equal(where != "even levels", camel.Contains("\"workingDir\""));
        var spec = PipelineSpec.Parse(camel);
        Assert.Equal(Describe(PipelineSpec.Parse(Full)), Describe(spec));
        Assert.Empty(spec.NotImplemented);
        // Kept as written: the stored JSON still says parallelismSpec.
        Assert.Equal(camel.Contains("parallelismSpec"), spec.Json.Contains("\"parallelismSpec\""));
    }

    [Fact]
    public void YamlReadsLikeJson()
    {
        var spec = PipelineSpec.Parse(FullYaml);
        Assert.Equal(Describe(PipelineSpec.Parse(Full)), Describe(spec));
        Assert.Equal(SpecFormat.Yaml, spec.Format);
        Assert.Equal(FullYaml, spec.Text);
        Assert.Contains("\"outputBranch\": \"results\"", spec.Json);
        Assert.Empty(spec.NotImplemented);
    }

    [Fact]
    public void YamlTypesScalarsAsItsCoreSchemaDoes()
    {
        var spec = PipelineSpec.Parse("""
            pipeline: {name: typed}
            transform:
              cmd: [echo, "007", '1.5', yes]
              env: {A: 007, B: true, C: ~, D: "x: y"}
            parallelismSpec: {constant: "3"}
            input: {pfs: {repo: r, glob: /*, outerJoin: false}}
            """);
        Assert.Equal(["echo", "007", "1.5", "yes"], spec.Transform.Cmd);
        Assert.Equal("7", spec.Transform.Env["A"]);
        Assert.Equal("true", spec.Transform.Env["B"]);
        Assert.Equal("x: y", spec.Transform.Env["D"]);
        Assert.Equal(3, spec.Parallelism);
    }

    [Fact]
    public void AFieldInBothStylesIsRefused()
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.Parse("""
            { "pipeline": { "name": "x" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "a", "glob": "/", "join_on": "$1", "joinOn": "$2" } } }
            """));
        Assert.Equal("PipelineSpecInvalid", ex.ErrorId);
        Assert.Contains("input.pfs.join_on and input.pfs.joinOn", ex.Message);
    }

    private const string A = """{ "pipeline": { "name": "a" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "src", "glob": "/*" } } }""";
    private const string B = """{ "pipeline": { "name": "b" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "a", "glob": "/" } } }""";

    [Fact]
    public void ObjectsBackToBackAreSpecsInOrderEachWithItsTextAndLine()
    {
        var text = A + "\n\n" + B.Replace(", \"transform\"", ",\n  \"transform\"", StringComparison.Ordinal) + "\n";
        var specs = PipelineSpec.ParseAll(text);
        Assert.Equal(["a", "b"], specs.Select(s => s.Name));
        Assert.Equal(new SpecSource(1, 2, 1), specs[0].Source);
        Assert.Equal(new SpecSource(2, 2, 3), specs[1].Source);
        Assert.Equal(A, specs[0].Text);
        Assert.StartsWith("{ \"pipeline\": { \"name\": \"b\" },\n  \"transform\"", specs[1].Text);
        Assert.EndsWith("}", specs[1].Text);
    }

    [Fact]
    public void JsonObjectsSeparatedByYamlDocumentMarkersAreSpecsAsPachctlReadsThem()
    {
        // As in Pachyderm's examples/ml/tensorflow: pachctl reads every file as YAML, of which JSON is a part.
        var specs = PipelineSpec.ParseAll(A + "\n---\n" + B + "\n");
        Assert.Equal(["a", "b"], specs.Select(s => s.Name));
        Assert.Equal([1, 3], specs.Select(s => s.Source.Line));
        Assert.Equal(B, specs[1].Text);
        Assert.All(specs, s => Assert.Equal(SpecFormat.Json, s.Format));
        // A text that neither reads gets JSON's error, since it looked like JSON.
        var ex = Assert.Throws<PachException>(() => PipelineSpec.ParseAll(A + "\n---\n{ \"pipeline\": "));
        Assert.Equal("PipelineSpecInvalidJson", ex.ErrorId);
        Assert.DoesNotContain("LineNumber", ex.Message);
        // Without a --- line, invalid JSON is JSON's error even where YAML would read it.
        var flow = Assert.Throws<PachException>(() => PipelineSpec.ParseAll("{ \"pipeline\": { \"name\": x } }"));
        Assert.Equal("PipelineSpecInvalidJson", flow.ErrorId);
    }

    [Fact]
    public void AJsonListHoldsSpecs()
    {
        var specs = PipelineSpec.ParseAll("[\n  " + A + ",\n  " + B + "\n]");
        Assert.Equal(["a", "b"], specs.Select(s => s.Name));
        Assert.Equal([2, 3], specs.Select(s => s.Source.Line));
        Assert.Equal(B, specs[1].Text);
    }

    private const string TwoYaml = """
        # the first
        pipeline:
          name: a
        transform:
          cmd: ["true"]
        input:
          pfs: {repo: src, glob: /*}
        ---
        # the second reads the first
        pipeline:
          name: b
        transform:
          cmd: ["true"]
        input:
          pfs:
            repo: a
            glob: /
        ---
        """;

    [Fact]
    public void YamlDocumentsAreSpecsInOrderEachWithItsOwnText()
    {
        var specs = PipelineSpec.ParseAll(TwoYaml);
        Assert.Equal(["a", "b"], specs.Select(s => s.Name));
        Assert.Equal([2, 10], specs.Select(s => s.Source.Line));
        Assert.StartsWith("# the first\npipeline:", specs[0].Text);
        Assert.StartsWith("# the second reads the first\npipeline:", specs[1].Text);
        Assert.DoesNotContain("---", specs[0].Text + specs[1].Text);
        Assert.All(specs, s => Assert.Equal(SpecFormat.Yaml, s.Format));
        Assert.All(specs, s => Assert.Equal(Describe(s), Describe(PipelineSpec.Parse(s.Text))));
    }

    [Fact]
    public void AYamlListHoldsSpecsWhoseTextsReadAlone()
    {
        var specs = PipelineSpec.ParseAll("""
            - pipeline: {name: a}
              transform:
                cmd: ["true"]
              input: {pfs: {repo: src, glob: /*}}
            - pipeline:
                name: b
              transform: {cmd: ["true"]}
              input: {pfs: {repo: a, glob: /}}
            """);
        Assert.Equal(["a", "b"], specs.Select(s => s.Name));
        Assert.Equal([1, 5], specs.Select(s => s.Source.Line));
        Assert.StartsWith("pipeline: {name: a}\ntransform:\n  cmd:", specs[0].Text);
        Assert.All(specs, s => Assert.Equal(Describe(s), Describe(PipelineSpec.Parse(s.Text))));
    }

    [Fact]
    public void ParseWantsExactlyOneSpecAndAnEmptyTextHoldsNone()
    {
        Assert.Equal("PipelineSpecInvalid", Assert.Throws<PachException>(() => PipelineSpec.Parse(TwoYaml)).ErrorId);
        Assert.Contains("no pipeline spec", Assert.Throws<PachException>(() => PipelineSpec.ParseAll("---\n# nothing\n")).Message);
        Assert.Contains("no pipeline spec", Assert.Throws<PachException>(() => PipelineSpec.ParseAll("  ")).Message);
    }

    [Fact]
    public void JsonSyntaxErrorsNameTheirLineAndColumnInTheWholeText()
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.ParseAll(A + "\n" + A + "\n{ \"pipeline\": \n  { \"name\": oops } }"));
        Assert.Equal("PipelineSpecInvalidJson", ex.ErrorId);
        Assert.Contains("line 4, column 13", ex.Message);
    }

    [Fact]
    public void AJsonKeyGivenTwiceIsAnErrorWithItsPosition()
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.ParseAll(A + "\n{ \"pipeline\": { \"name\": \"x\" },\n  \"pipeline\": { \"name\": \"y\" } }"));
        Assert.Equal("PipelineSpecInvalidJson", ex.ErrorId);
        Assert.Contains("line 3, column 3", ex.Message);
        Assert.Contains("'pipeline' is given twice", ex.Message);
    }

    [Theory]
    [InlineData("pipeline:\n  name: a\n transform: x\n", "line 3, column 2")]
    [InlineData("pipeline: {name: a}\npipeline: {name: b}\n", "line 2, column 1")]
    [InlineData("pipeline: *nowhere\n", "line 1, column 11")]
    public void YamlErrorsNameTheirLineAndColumn(string yaml, string position)
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.ParseAll(yaml));
        Assert.Equal("PipelineSpecInvalidYaml", ex.ErrorId);
        Assert.True(ex.Message.Contains(position), ex.Message);
    }

    [Fact]
    public void AnInvalidSpecAmongSeveralIsNamedByNumberAndLineAndKeepsItsId()
    {
        var text = TwoYaml + "\npipeline: {name: c}\ntransform: {cmd: [\"true\"]}\ninput: {pfs: {repo: b}}\n";
        var ex = Assert.Throws<PachException>(() => PipelineSpec.ParseAll(text));
        Assert.Equal("PipelineSpecMissingGlob", ex.ErrorId);
        Assert.StartsWith("Spec 3 of 3 (line 19): Pipeline 'c'", ex.Message);
        var notObject = Assert.Throws<PachException>(() => PipelineSpec.ParseAll("[" + A + ", 7]"));
        Assert.StartsWith("Spec 2 of 2 (line 1): A pipeline spec must be a JSON object", notObject.Message);
    }

    [Fact]
    public void FieldsWithoutEffectAreNotedAsWrittenWithWhatThatMeans()
    {
        var spec = PipelineSpec.Parse("""
            {
              "pipeline": { "name": "x", "project": { "name": "default" } },
              "transform": { "cmd": ["true"], "memoryVolume": true, "debug": false },
              "egress": { "URL": "s3://bucket/dir", "object_storage": null },
              "input": { "pfs": { "repo": "a", "glob": "/", "propagationSpec": { "never": true }, "lazy": true, "project": "default" } },
              "autoscaling": true,
              "enable_stats": false,
              "s3Out": true,
              "not_a_field": 1,
              "pachps_script": "Get-Date"
            }
            """);
        // egress and s3Out are implemented (EgressTests, DatumEndpointTests): not noted.
        Assert.True(spec.S3Out);
        Assert.Equal(["transform.memoryVolume", "input.pfs.propagationSpec", "not_a_field"], spec.NotImplemented.Select(n => n.Field));
        Assert.Equal(spec.NotImplemented.Select(n => n.Field), spec.UnknownFields);
        Assert.Contains("on disk", spec.NotImplemented[0].Meaning);
        Assert.Equal("not a field of Pachyderm's pipeline spec", spec.NotImplemented[2].Meaning);
        Assert.All(spec.NotImplemented, n => Assert.False(string.IsNullOrWhiteSpace(n.Meaning)));
        Assert.Contains("\"propagationSpec\"", spec.Json);
    }

    [Fact]
    public void ImagePullSecretsAreReadUnderTransformAndAtTheTop()
    {
        const string Rest = "\"input\": { \"pfs\": { \"repo\": \"a\", \"glob\": \"/\" } }";
        Assert.Equal(["t"], PipelineSpec.Parse($$"""{ "pipeline": { "name": "x" }, "transform": { "cmd": ["true"], "imagePullSecrets": ["t"] }, {{Rest}} }""").Pod.ImagePullSecrets);
        var both = PipelineSpec.Parse($$"""{ "pipeline": { "name": "x" }, "transform": { "cmd": ["true"], "image_pull_secrets": ["t"] }, "image_pull_secrets": ["top", "t"], {{Rest}} }""");
        Assert.Equal(["t", "top"], both.Pod.ImagePullSecrets);
        Assert.Empty(both.NotImplemented);
    }

    [Theory]
    [InlineData("""{ "pipeline": { "name": "b" }, "transform": { "build": { "language": "python" } }, "input": { "pfs": { "repo": "a", "glob": "/" } } }""", "PipelineSpecBuildUnsupported", "transform.cmd")]
    [InlineData("""{ "pipeline": { "name": "g" }, "transform": { "cmd": ["true"] }, "input": { "git": { "URL": "https://example.invalid/r.git" } } }""", "PipelineSpecUnsupportedInput", "git inputs")]
    public void RefusedKindsSayWhatToDoInstead(string spec, string id, string words)
    {
        var ex = Assert.Throws<PachException>(() => PipelineSpec.Parse(spec));
        Assert.Equal(id, ex.ErrorId);
        Assert.Contains(words, ex.Message);
        if (id != "PipelineSpecUnsupportedInput") Assert.Equal(PachErrorKind.NotSupported, ex.Kind);
    }

    [Fact]
    public void AnEmptySpoutIsNoSpout()
    {
        // protobuf reads "spout": null as no spout ({} is a spout); Pachyderm's own examples write it so.
        var spec = PipelineSpec.Parse("""{ "pipeline": { "name": "p" }, "transform": { "cmd": ["true"] }, "spout": null, "input": { "pfs": { "repo": "a", "glob": "/" } } }""");
        Assert.Equal("p", spec.Name);
    }

    [Fact]
    public void AStoredSpecLoadsEvenWhereANewSpecWouldBeRefused()
    {
        // Written by an earlier version, which took these as unknown fields: the store must still open.
        var stored = """
            { "pipeline": { "name": "old" }, "transform": { "cmd": ["true"], "build": { "language": "go" } },
              "parallelism_spec": { "constant": 2 }, "parallelismSpec": { "constant": 5 }, "input": { "pfs": { "repo": "a", "glob": "/" } } }
            """;
        var spec = PipelineSpec.Load(stored);
        Assert.Equal(2, spec.Parallelism);
        Assert.Equal(stored, spec.Text);
        Assert.Equal(SpecFormat.Json, spec.Format);
        Assert.Equal(SpecFormat.Yaml, PipelineSpec.Load(stored, "pipeline: {name: old}").Format);
    }

    [Fact]
    public void TheHelpTopicListsEveryFieldWithWhatPachPSDoes()
    {
        var doc = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../docs/about_PachPS_Spec.md"));
        var rows = File.ReadLines(doc).Select(l => Regex.Match(l, @"^\| `([A-Za-z0-9_.]+)` \| ([a-z ]+) \|")).Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
        var expected = SpecSchema.AllFields().ToDictionary(f => f.Path, f => f.Field.Support switch
        {
            SpecSupport.Implemented => "implemented",
            SpecSupport.Different => "differently",
            SpecSupport.NotImplemented => "not implemented",
            _ => "refused",
        });
        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), rows.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Contains(expected, p => p.Key == "transform.image_pull_secrets");
        Assert.Contains(expected, p => p.Key == "input.pfs.lazy" && p.Value == "differently");
    }
}

/// <summary>Several specs against a store: created or updated all or none; a dry run plans cron and chained inputs.</summary>
public class SpecBatchTests
{
    private static PipelineSpec Pipe(string name, string repo, string glob = "/*") =>
        PipelineSpec.Parse($$"""{ "pipeline": { "name": "{{name}}" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "{{repo}}", "glob": "{{glob}}" } } }""");

    [Fact]
    public void SpecsAreCreatedInOrderAndALaterOneMayReadAnEarlierOnesOutput()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        var specs = PipelineSpec.ParseAll("""
            pipeline: {name: first}
            transform: {cmd: ["true"]}
            input: {pfs: {repo: src, glob: /*}}
            ---
            pipeline: {name: second}
            transform: {cmd: ["true"]}
            input: {pfs: {repo: first, glob: /}}
            """);
        var created = t.Store.Pps.CreatePipelines(specs);
        Assert.Equal(["first", "second"], created.Select(p => p.Name));
        Assert.Equal(["first", "second", "src"], t.Pfs.ListRepos().Select(r => r.Name).Order());
    }

    [Fact]
    public void IfOneSpecFailsNoneIsCreatedAndTheErrorNamesIt()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        var specs = PipelineSpec.ParseAll(
            """{ "pipeline": { "name": "ok" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "src", "glob": "/*" } } }""" + "\n" +
            """{ "pipeline": { "name": "bad" }, "transform": { "cmd": ["true"] }, "input": { "cron": { "name": "tick", "spec": "@every 1h" } }, "output_branch": "o" }""" + "\n" +
            """{ "pipeline": { "name": "worse" }, "transform": { "cmd": ["true"] }, "input": { "pfs": { "repo": "nope", "glob": "/" } } }""");
        var ex = Assert.Throws<PachException>(() => t.Store.Pps.CreatePipelines(specs));
        Assert.Equal("PipelineInputNotFound", ex.ErrorId);
        Assert.StartsWith("Spec 3 of 3 (line 3): ", ex.Message);
        Assert.Empty(t.Store.Pps.ListPipelines());
        Assert.Equal(["src"], t.Pfs.ListRepos().Select(r => r.Name)); // no output repo, no tick repo
        Assert.Empty(t.Store.Pps.ListJobs());
    }

    [Fact]
    public void IfOneUpdateFailsNoneIsMade()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        t.Store.Pps.CreatePipelines([Pipe("p", "src"), Pipe("q", "src")]);
        var ex = Assert.Throws<PachException>(() => t.Store.Pps.UpdatePipelines([Pipe("p", "src", "/"), Pipe("q", "nope")], reprocess: false));
        Assert.Equal("PipelineInputNotFound", ex.ErrorId);
        Assert.All(t.Store.Pps.ListPipelines(), p => Assert.Equal(1, p.Version));
        Assert.Equal("/*", ((PfsInputSpec)t.Store.Pps.GetPipeline("p").Spec.Input).Glob);
    }

    [Fact]
    public void ADryRunSpecIsRefusedByCreateButPlanned()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        t.Put("src", "/a", "a");
        var spec = PipelineSpec.Parse("""{ "pipeline": { "name": "dry" }, "transform": { "cmd": ["true"] }, "dryRun": true, "input": { "pfs": { "repo": "src", "glob": "/*" } } }""");
        Assert.True(spec.DryRun);
        var ex = Assert.Throws<PachException>(() => t.Store.Pps.CreatePipeline(spec));
        Assert.Equal("PipelineSpecDryRunUnsupported", ex.ErrorId);
        Assert.Contains("-WhatIf", ex.Message);
        Assert.Empty(t.Store.Pps.ListPipelines());
        Assert.Single(t.Store.Pps.PlanDatums(spec));
    }

    [Fact]
    public void TheSpecIsGivenBackAsItWasWrittenAfterTheStoreIsReopened()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        const string Yaml = "# mine\npipeline: {name: kept}\ntransform:\n  cmd: [\"true\"]\nparallelismSpec: {constant: 2}\ninput: {pfs: {repo: src, glob: /*}}";
        t.Store.Pps.CreatePipeline(PipelineSpec.Parse(Yaml));
        t.Reopen();
        var spec = t.Store.Pps.GetPipeline("kept").Spec;
        Assert.Equal(Yaml, spec.Text);
        Assert.Equal(SpecFormat.Yaml, spec.Format);
        Assert.Equal(2, spec.Parallelism);
        Assert.Contains("\"parallelismSpec\"", spec.Json);
        t.Store.Pps.UpdatePipeline(PipelineSpec.Parse(Yaml.Replace("constant: 2", "constant: 3", StringComparison.Ordinal)), reprocess: false);
        Assert.Contains("constant: 3", t.Store.Pps.GetPipeline("kept").Spec.Text);
    }

    [Fact]
    public void APipelineStoredBeforeTextsWereKeptOpensAndShowsItsJson()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        t.Store.Pps.CreatePipeline(Pipe("old", "src"));
        // As an earlier version stored it: SpecJson only.
        t.Store.Meta.Write(db =>
        {
            var pipelines = db.GetCollection("pipelines");
            var doc = pipelines.FindById("old");
            Assert.True(doc.Remove("SpecText"));
            pipelines.Update(doc);
        });
        t.Reopen();
        var spec = t.Store.Pps.GetPipeline("old").Spec;
        Assert.Equal(spec.Json, spec.Text);
        Assert.Equal(SpecFormat.Json, spec.Format);
        Assert.Equal("src", ((PfsInputSpec)spec.Input).Repo);
    }

    [Fact]
    public void ADryRunPlansACronInputAsEmptyAndCreatesNothing()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        t.Put("src", "/a", "a");
        t.Put("src", "/b", "b");
        var cron = PipelineSpec.Parse("""{ "pipeline": { "name": "c" }, "transform": { "cmd": ["true"] }, "input": { "cron": { "name": "tick", "spec": "@every 1h" } } }""");
        Assert.Empty(t.Store.Pps.PlanDatums(cron));
        var union = PipelineSpec.Parse("""
            { "pipeline": { "name": "u" }, "transform": { "cmd": ["true"] },
              "input": { "union": [ { "cron": { "name": "tick", "spec": "@every 1h" } }, { "pfs": { "repo": "src", "glob": "/*" } } ] } }
            """);
        Assert.Equal(["/a", "/b"], t.Store.Pps.PlanDatums(union).Select(d => d.Inputs.Single().Path));
        Assert.Equal(["src"], t.Pfs.ListRepos().Select(r => r.Name));
    }

    [Fact]
    public void ADryRunOfSeveralSpecsPlansAnEarlierOnesOutputAsEmpty()
    {
        using var t = new TempStore();
        t.Pfs.CreateRepo("src");
        t.Put("src", "/a", "a");
        var datums = t.Store.Pps.PlanDatums([Pipe("p", "src"), Pipe("q", "p")]);
        Assert.Equal(["p"], datums.Select(d => d.Pipeline));
        var ex = Assert.Throws<PachException>(() => t.Store.Pps.PlanDatums(PipelineSpec.ParseAll(Pipe("q", "p").Text + Pipe("p", "src").Text)));
        Assert.Equal("PipelineInputNotFound", ex.ErrorId);
        Assert.StartsWith("Spec 1 of 2", ex.Message);
    }
}
