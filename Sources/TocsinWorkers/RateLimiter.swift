import Foundation
import TocsinConfig

/// One token bucket per publishing platform, for the ingest gateway (`ingest.rate_limit`).
///
/// Owned by the ingest thread; no locks. Time is the monotonic clock in seconds, never the pipeline's clock: a
/// rate limit is about load now, and drills on virtual time must not change it. Buckets exist only for
/// platforms that sent something, and platforms are registered areas (or the keys on the ZAP allow-list), so
/// the table stays as small as the area tree.
public struct PlatformRateLimiter {
    struct Bucket {
        var tokens: Double
        var last: Double
        var limit: RateLimit
    }

    public private(set) var limits: IngestRateLimits
    private var buckets: [String: Bucket] = [:]

    public init(limits: IngestRateLimits) {
        self.limits = limits
    }

    /// False when no platform is limited: the gateway then skips the check altogether.
    public var isActive: Bool { limits.perPlatform != nil || !limits.overrides.isEmpty }

    /// Takes one token from `platform`'s bucket at time `now` (monotonic seconds). Returns nil when the event
    /// may pass, or the limit it is over.
    public mutating func take(_ platform: String, now: Double) -> RateLimit? {
        guard let limit = limits.limit(for: platform) else { return nil }
        var bucket = buckets[platform] ?? Bucket(tokens: Double(limit.burst), last: now, limit: limit)
        if bucket.limit != limit {
            bucket = Bucket(tokens: min(bucket.tokens, Double(limit.burst)), last: bucket.last, limit: limit)
        }
        let elapsed = max(0, now - bucket.last)
        bucket.tokens = min(Double(limit.burst), bucket.tokens + elapsed * limit.eventsPerSecond)
        bucket.last = now
        let refused = bucket.tokens < 1
        if !refused { bucket.tokens -= 1 }
        buckets[platform] = bucket
        return refused ? limit : nil
    }

    /// Replaces the limits (a reload); buckets keep their tokens, capped at their new burst.
    public mutating func update(_ limits: IngestRateLimits) {
        self.limits = limits
    }

    /// The number of buckets held (one per platform seen).
    public var bucketCount: Int { buckets.count }

    /// The monotonic clock in seconds (`CLOCK_MONOTONIC`).
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
