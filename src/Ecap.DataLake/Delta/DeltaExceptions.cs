namespace Ecap.DataLake.Delta;

/// <summary>A table was to be created where one already exists (version 0 of its log is taken).</summary>
public sealed class TableAlreadyExistsException(string message) : DataLakeException(message);

/// <summary>A version or timestamp outside what the log can reconstruct (before the earliest or after the latest version).</summary>
public sealed class VersionNotAvailableException(string message, long earliestVersion, long latestVersion) : DataLakeException(message)
{
    public long EarliestVersion { get; } = earliestVersion;
    public long LatestVersion { get; } = latestVersion;
}
