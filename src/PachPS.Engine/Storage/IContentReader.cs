namespace PachPS.Engine.Storage;

/// <summary>Opens stored content for reading, verifying each chunk against its hash as it is read.</summary>
public interface IContentReader
{
    Stream Open(FileContent content);
}
