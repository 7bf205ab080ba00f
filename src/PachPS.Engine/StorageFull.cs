namespace PachPS.Engine;

/// <summary>
/// The one meaning of "no room left" for every backend and for the metadata (so it lives beside PachException, below
/// every area): a full or over-quota file system (local objects, the metadata
/// file) and an S3 bucket over its quota or refusing an object's size all become ErrorId <see cref="ErrorId"/>, so a
/// user (and a job's failure reason) sees the same id whichever backend ran out.
/// </summary>
public static class StorageFull
{
    public const string ErrorId = "StorageFull";

    // errno values Linux gives a write that finds no room: no space on the device, disk quota exceeded.
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;
    // Win32 errors for the same (ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL), as .NET puts them in an IOException's HResult.
    private const int ErrorHandleDiskFull = unchecked((int)0x80070027);
    private const int ErrorDiskFull = unchecked((int)0x80070070);

    /// <summary>S3 error codes that mean the bucket (or the account) has no room for the object.</summary>
    private static readonly HashSet<string> S3Codes = new(StringComparer.Ordinal) { "QuotaExceeded", "EntityTooLarge", "InsufficientStorage" };
    /// <summary>HTTP 507 Insufficient Storage, which some S3-compatible servers send without an S3 error code.</summary>
    private const int HttpInsufficientStorage = 507;

    /// <summary>Whether a file system error says the device (or the user's quota on it) is full.</summary>
    public static bool IsOutOfSpace(Exception ex) =>
        ex is IOException { HResult: ENOSPC or EDQUOT or ErrorHandleDiskFull or ErrorDiskFull };

    /// <summary>Whether an S3 error (code and HTTP status) says the bucket has no room for the object.</summary>
    public static bool IsOutOfSpace(string? s3ErrorCode, int httpStatus) =>
        httpStatus == HttpInsufficientStorage || (s3ErrorCode is not null && S3Codes.Contains(s3ErrorCode));

    /// <summary>The error a write that found no room ends with: where it was, what the backend said, what to do.</summary>
    public static PachException Error(string where, string detail, Exception inner) =>
        new(ErrorId, PachErrorKind.ResourceUnavailable,
            $"There is no room left in {where} ({detail}). What this operation wrote has been removed; free space (or raise the quota) and try again.",
            where, inner);
}
