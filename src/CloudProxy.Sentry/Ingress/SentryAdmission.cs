using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// The checks every request that can reach an upstream passes, on the ingestion routes and the pass-through
/// alike: a well-formed key, the <c>AllowedKeys</c> / <c>AllowedProjects</c> lists and the per-key and
/// per-project quotas (one set of buckets for both paths, so a client cannot double its quota by switching).
/// </summary>
internal sealed class SentryAdmission
{
    private readonly HashSet<string> _allowedKeys;
    private readonly HashSet<string> _allowedProjects;
    private readonly SentryQuota _keyQuota;
    private readonly SentryQuota _projectQuota;

    public SentryAdmission(IOptions<SentryOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value.Ingress;
        _allowedKeys = new HashSet<string>(o.AllowedKeys, StringComparer.OrdinalIgnoreCase);
        _allowedProjects = new HashSet<string>(o.AllowedProjects, StringComparer.Ordinal);
        _keyQuota = new SentryQuota(o.KeyRequestsPerSecond, time);
        _projectQuota = new SentryQuota(o.ProjectRequestsPerSecond, time);
    }

    /// <summary>True when a request must name a key: an allow-list of keys is set.</summary>
    public bool KeyRequired => _allowedKeys.Count > 0;

    /// <summary>Null when the request may go on; otherwise the refusal and its reason.</summary>
    public (SentryRefusal Refusal, string Reason)? Check(string? publicKey, string? project)
    {
        if (string.IsNullOrEmpty(publicKey))
        {
            if (KeyRequired)
            {
                return (SentryRefusal.AuthMissing, "missing authorization: give X-Sentry-Auth, Authorization, ?sentry_key= or an envelope dsn");
            }
        }
        else if (!SentryAuthReader.IsValidKey(publicKey))
        {
            return (SentryRefusal.AuthInvalid, "invalid public key: expected 32 hex digits");
        }
        else if (KeyRequired && !_allowedKeys.Contains(publicKey))
        {
            return (SentryRefusal.KeyNotAllowed, "this public key is not accepted by this proxy");
        }

        if (_allowedProjects.Count > 0 && (project is null || !_allowedProjects.Contains(project)))
        {
            return (SentryRefusal.ProjectNotAllowed, "this project is not accepted by this proxy");
        }

        if ((!string.IsNullOrEmpty(publicKey) && !_keyQuota.TryTake(publicKey)) || (project is not null && !_projectQuota.TryTake(project)))
        {
            return (SentryRefusal.QuotaExceeded, "ingress quota exceeded for this key or project");
        }

        return null;
    }
}
