/// The pipeline's counters, as `stats` reports them.
public struct Counts: Sendable, Hashable {
    public var accepted = 0
    public var duplicate = 0
    /// Every `rejected` reply, oversized and unauthorised-source ones included.
    public var rejected = 0
    /// Rejected because the frame was over 64 KiB (a subset of `rejected`).
    public var oversized = 0
    /// Connection attempts refused by the ZAP allow-list, plus events whose `source` the platform's key may
    /// not publish.
    public var unauthorised = 0
    /// Rejected because the platform was over its rate limit (`ingest.rate_limit`; a subset of `rejected`).
    public var rateLimited = 0
    /// Connections to the ingest endpoint that ended before completing their handshake (no CURVE, an unknown
    /// key, not ZMTP, a greeting cut short).
    public var refusedConnections = 0
    public var warnings = 0
    public var tasks = 0
    public var escalations = 0
    /// The feed's current sequence number.
    public var seq = 0

    public init() {}
}

