import TocsinCore

/// A token bucket's shape: the sustained rate a platform may send at, and how far above it a burst may go.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Tokens added per second (one event takes one token).
    public var eventsPerSecond: Double
    /// The bucket's size: what a platform that was quiet may send at once.
    public var burst: Int

    public init(eventsPerSecond: Double, burst: Int) {
        self.eventsPerSecond = eventsPerSecond
        self.burst = burst
    }

    /// `"100 events/s, burst 200"`: how a rejection names the limit it hit.
    public var description: String {
        let rate = eventsPerSecond == eventsPerSecond.rounded() ? String(Int(eventsPerSecond)) : String(eventsPerSecond)
        return "\(rate) events/s, burst \(burst)"
    }
}

/// The ingest gateway's per-platform rate limits (`ingest.rate_limit` in `tocsin.yaml`): one token bucket per
/// publishing platform, so that one platform flooding the gateway (a bug or an attack) cannot slow down the
/// others. An event over its platform's limit is `rejected` with `rate limited: ...`, never dropped silently.
public struct IngestRateLimits: Sendable, Hashable {
    /// The limit of every platform without an override; nil: no limit at all (`rate_limit: off`).
    public var perPlatform: RateLimit?
    /// Limits of single platforms by area path (`rate_limit.platforms`), e.g. a higher one for the city.
    public var overrides: [String: RateLimit]
    /// Where each override was written, to report an unknown area once the area file is loaded.
    var overrideMarks: [String: (file: String, line: Int, column: Int)] = [:]

    public init(perPlatform: RateLimit?, overrides: [String: RateLimit] = [:]) {
        self.perPlatform = perPlatform
        self.overrides = overrides
    }

    /// The shipped default: 10,000 events/s per platform with a burst of 100,000. A typhoon night's busiest
    /// platform sends a few hundred events a second; a platform resending an hour's backlog after an outage,
    /// and the test and fault suites' pipelined bursts, fit in the burst. A flood gets a tenth of the gateway.
    public static let shipped = IngestRateLimits(perPlatform: RateLimit(eventsPerSecond: 10_000, burst: 100_000))

    /// No limit (benchmarks and drills in virtual time, which replay hours in seconds).
    public static let off = IngestRateLimits(perPlatform: nil)

    /// The limit of `platform` (an area path), nil when it is unlimited.
    public func limit(for platform: String) -> RateLimit? {
        overrides[platform] ?? perPlatform
    }

    public static func == (a: IngestRateLimits, b: IngestRateLimits) -> Bool {
        a.perPlatform == b.perPlatform && a.overrides == b.overrides
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(perPlatform)
        hasher.combine(overrides)
    }
}

extension ConfigLoader {
    /// `rate_limit: off` or `{events_per_second, burst, platforms: {AREA: {events_per_second, burst}}}`.
    static func readRateLimits(_ c: YAMLCursor, into limits: inout IngestRateLimits) {
        if case .scalar = c.node {
            if c.string() == "off" { limits = .off } else { c.problem("expected a mapping or off, got \(c.describedKind)") }
            return
        }
        guard let f = c.fields(allowed: ["events_per_second", "burst", "platforms"]) else { return }
        if f["events_per_second"] != nil || f["burst"] != nil {
            if let limit = readLimit(f, c) { limits.perPlatform = limit }
        }
        guard let pc = f["platforms"], let entries = pc.entries() else { return }
        for (name, value) in entries {
            guard AreaPath(name) != nil else {
                value.problem("\"\(name)\" is not an area path")
                continue
            }
            guard let vf = value.fields(allowed: ["events_per_second", "burst"], required: ["events_per_second"]),
                  let limit = readLimit(vf, value) else { continue }
            limits.overrides[name] = limit
            limits.overrideMarks[name] = (value.file, value.line, value.column)
        }
    }

    /// One `{events_per_second, burst}`; `burst` defaults to one second's worth.
    private static func readLimit(_ f: Fields, _ c: YAMLCursor) -> RateLimit? {
        guard let rc = f["events_per_second"] else {
            c.problem("missing required key \"events_per_second\"")
            return nil
        }
        guard let rate = rc.double() else { return nil }
        guard rate > 0 else {
            rc.problem("must be more than 0 (to turn the limit off, write rate_limit: off)")
            return nil
        }
        var burst = max(1, Int(rate.rounded(.up)))
        if let bc = f["burst"] {
            guard let b = bc.int() else { return nil }
            guard b >= 1 else {
                bc.problem("must be at least 1")
                return nil
            }
            burst = b
        }
        return RateLimit(eventsPerSecond: rate, burst: burst)
    }

    /// Reports overrides for areas the area file does not register.
    static func checkRateLimitPlatforms(_ config: TocsinConfiguration, sink: ProblemSink) {
        for (platform, mark) in config.rateLimits.overrideMarks.sorted(by: { $0.key < $1.key })
        where AreaPath(platform).flatMap({ config.areas[$0] }) == nil {
            sink.add(ConfigProblem(file: mark.file, line: mark.line, column: mark.column,
                                   key: "ingest.rate_limit.platforms.\(platform)",
                                   message: "\(platform) is not a registered area"))
        }
    }
}
