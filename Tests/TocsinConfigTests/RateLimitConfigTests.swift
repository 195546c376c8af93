import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting

/// `ingest.rate_limit` in `tocsin.yaml`: the default, overrides per platform, `off`, and every mistake reported
/// with its line and key.
@Suite struct RateLimitConfigTests {
    func load(_ ingest: String) throws(ConfigError) -> TocsinConfiguration {
        try ConfigLoader.load(main: Base.main + "\ningest:\n" + ingest, areas: Base.areas, catalog: Base.catalog)
    }

    @Test func shippedConfigLimitsEveryPlatformGenerously() throws {
        let limits = Fixtures.shippedConfig.rateLimits
        #expect(limits.perPlatform == RateLimit(eventsPerSecond: 10_000, burst: 100_000))
        #expect(limits.overrides.isEmpty)
        #expect(limits.limit(for: "sz.futian.shatou") == limits.perPlatform)
    }

    @Test func leftOutMeansTheShippedDefault() throws {
        let config = try ConfigLoader.load(main: Base.main, areas: Base.areas, catalog: Base.catalog)
        #expect(config.rateLimits == IngestRateLimits.shipped)
    }

    @Test func overridesApplyToTheirPlatformOnly() throws {
        let config = try load("""
              rate_limit:
                events_per_second: 50
                burst: 500
                platforms:
                  sz.futian.shatou: {events_per_second: 2.5, burst: 5}
                  sz: {events_per_second: 1000}
            """)
        let limits = config.rateLimits
        #expect(limits.limit(for: "sz.futian") == RateLimit(eventsPerSecond: 50, burst: 500))
        #expect(limits.limit(for: "sz.futian.shatou") == RateLimit(eventsPerSecond: 2.5, burst: 5))
        // A burst left out is one second's worth.
        #expect(limits.limit(for: "sz") == RateLimit(eventsPerSecond: 1000, burst: 1000))
        #expect(RateLimit(eventsPerSecond: 2.5, burst: 5).description == "2.5 events/s, burst 5")
    }

    @Test func offTurnsItOff() throws {
        let config = try load("  rate_limit: off\n")
        #expect(config.rateLimits.perPlatform == nil)
        #expect(config.rateLimits.limit(for: "sz.futian.shatou") == nil)
    }

    struct Broken: Sendable, CustomStringConvertible {
        var yaml: String
        var key: String
        var message: String
        var description: String { key + ": " + message }
    }

    @Test(arguments: [
        Broken(yaml: "  rate_limit: {events_per_second: 0}\n", key: "ingest.rate_limit.events_per_second",
               message: "must be more than 0"),
        Broken(yaml: "  rate_limit: {events_per_second: fast}\n", key: "ingest.rate_limit.events_per_second",
               message: "expected a number"),
        Broken(yaml: "  rate_limit: {events_per_second: 10, burst: 0}\n", key: "ingest.rate_limit.burst",
               message: "must be at least 1"),
        Broken(yaml: "  rate_limit: {events_per_second: 10, brust: 5}\n", key: "ingest.rate_limit.brust",
               message: "unknown key"),
        Broken(yaml: "  rate_limit: {burst: 5}\n", key: "ingest.rate_limit",
               message: "missing required key \"events_per_second\""),
        Broken(yaml: "  rate_limit: none\n", key: "ingest.rate_limit", message: "expected a mapping or off"),
        Broken(yaml: "  rate_limit:\n    platforms:\n      sz.nowhere: {events_per_second: 5}\n",
               key: "ingest.rate_limit.platforms.sz.nowhere", message: "sz.nowhere is not a registered area"),
        Broken(yaml: "  rate_limit:\n    platforms:\n      Futian: {events_per_second: 5}\n",
               key: "ingest.rate_limit.platforms.Futian", message: "is not an area path"),
        Broken(yaml: "  rate_limit:\n    platforms:\n      sz.futian: {burst: 5}\n",
               key: "ingest.rate_limit.platforms.sz.futian", message: "missing required key \"events_per_second\""),
    ])
    func mistakesNameTheirKeyAndLine(_ c: Broken) throws {
        let error = try #require(throws: ConfigError.self) { try load(c.yaml) }
        let match = error.problems.first { $0.key == c.key && $0.message.contains(c.message) }
        #expect(match != nil, "got: \(error.problems.map(\.description))")
        // Base.main has 12 lines, then "ingest:": every key here is on line 14 or below, in tocsin.yaml.
        #expect((match?.line ?? 0) >= 14)
        #expect(match?.file == "tocsin.yaml")
    }
}
