namespace CloudProxy.StatsD.Protocol;

/// <summary>Why a metric was refused; each maps to one refusal reason label.</summary>
public enum StatsDProblem
{
    InvalidKey = 0,
    InvalidValue = 1,
    MissingValue = 2,
    InvalidSampleRate = 3,
    InvalidTags = 4,
    TagsDisabled = 5,
    InvalidType = 6,
    MalformedLine = 7,
}

/// <summary>A refused metric: the problem (for the metric label) and a sentence for the client.</summary>
internal readonly record struct StatsDError(StatsDProblem Problem, string Message);
