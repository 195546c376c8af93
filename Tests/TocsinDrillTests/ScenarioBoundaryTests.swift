import Testing
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinTesting

/// Boundary values in a drill scenario: start times at 1970, 2038, 9999, leap seconds and without zone, durations,
/// numbers (NaN, infinities, -0.0, 1e309, above 2^53), look-alike letters, bidirectional text, counts and seeds at
/// their limits, and duplicate keys. Each case changes one line of a small scenario and states the exact outcome.
/// A scenario that loads must only make a drill send events the ingest endpoint accepts: every loaded case is
/// expanded and each event decoded, so a scenario may not end after 9999-12-31T23:59:59Z (a later event time could
/// not be written with a four-digit year).
@Suite struct ScenarioBoundaryTests {
    static let text = """
    name: Edge
    start: 2026-09-16T08:00:00+08:00
    duration: 2h
    injects:
      - name: Gauge
        at: 10m
        from: sz.futian.shatou
        type: water_level
        values: {level_m: 2.1}
      - name: Callers
        at: 30m
        from: sz.futian.futian
        type: report.fire
        text: "Smoke on the third floor"
        burst: {count: 5, over: 10m, radius_m: 100, seed: 7}
    actions:
      - id: futian-acks
        after: {warning: {event: flood, tier_at_least: III, area: sz.futian}}
        do: ack
    """

    enum Loaded: Sendable {
        case start(Int64)
        case duration(Double)
        /// The gauge's fixed `level_m`, bit for bit.
        case level(Double)
        case callersText(String)
        case burst(count: Int, radiusM: Double, seed: UInt64)
        case actionID(String)
    }

    enum Outcome: Sendable {
        case loads(Loaded)
        /// A problem at `line` with exactly this key and message (others may come with it).
        case problem(line: Int, key: String, message: String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var from: String
        var to: String
        var outcome: Outcome
        /// Escaped and cut, so that a NUL, a bidirectional control or 4 KiB of text do not garble the test log.
        var testDescription: String { JSONValue.string(to).abbreviated(limit: 70) }
    }

    static func start(_ text: String, _ outcome: Outcome) -> Case {
        Case(from: "start: 2026-09-16T08:00:00+08:00", to: "start: \(text)", outcome: outcome)
    }
    static func start(_ text: String, micros: Int64) -> Case { start(text, .loads(.start(micros))) }
    static func badStart(_ text: String) -> Case {
        start(text, .problem(line: 2, key: "start", message:
            "expected an RFC 3339 time with a zone, such as 2026-09-16T08:00:00+08:00, got \"\(text)\""))
    }
    static func duration(_ text: String, _ outcome: Outcome) -> Case {
        Case(from: "duration: 2h", to: "duration: \(text)", outcome: outcome)
    }
    static func durationProblem(_ text: String, _ message: String) -> Case {
        duration(text, .problem(line: 3, key: "duration", message: message))
    }
    static func badDuration(_ text: String) -> Case {
        durationProblem(text, "expected a duration such as 30s, 5m, 1h30m or 2h, got \"\(text)\"")
    }
    static func level(_ text: String, _ outcome: Outcome) -> Case {
        Case(from: "{level_m: 2.1}", to: "{level_m: \(text)}", outcome: outcome)
    }
    static func levelProblem(_ text: String) -> Case {
        level(text, .problem(line: 9, key: "injects[0].values.level_m", message: "expected a number, got \"\(text)\""))
    }
    static func burst(_ text: String, _ outcome: Outcome) -> Case {
        Case(from: "{count: 5, over: 10m, radius_m: 100, seed: 7}", to: text, outcome: outcome)
    }
    static func burstProblem(_ text: String, key: String, _ message: String) -> Case {
        burst(text, .problem(line: 15, key: "injects[1].burst.\(key)", message: message))
    }

    static let longText = String(repeating: "火", count: 1365) + "a"  // 4096 bytes
    static let idRule = "ids are 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'"

    static let cases: [Case] = [
        start("1970-01-01T08:00:00+08:00", micros: 0),
        start("1969-12-31T23:59:59Z", micros: -1_000_000),
        start("0001-01-01T00:00:00Z", micros: -62_135_596_800_000_000),
        start("2038-01-19T11:14:08+08:00", micros: 2_147_483_648_000_000),
        start("2016-12-31T23:59:60Z", micros: 1_483_228_799_999_999),
        start("9999-12-31T21:59:59.999999Z", micros: 253_402_293_599_999_999),
        start("9999-12-31T22:00:00Z", .problem(line: 3, key: "duration",
                                              message: "the scenario would end after 9999-12-31T23:59:59Z")),
        badStart("2016-12-31T12:59:60Z"),
        badStart("2026-09-16T08:00:00"),
        badStart("2026-09-16 08:00"),
        badStart("0001-01-01T00:00:00+01:00"),
        badStart("10000-01-01T00:00:00Z"),
        duration("7d", .loads(.duration(604_800))),
        duration("1h30m", .loads(.duration(5400))),
        duration("+90m", .loads(.duration(5400))),
        durationProblem("7d1s", "must be at most 7 days"),
        durationProblem("-0", "must be longer than 0s"),
        durationProblem("0s", "must be longer than 0s"),
        badDuration("1e309"),
        badDuration("nan"),
        badDuration("-1h"),
        badDuration("\u{0663}h"),  // an Arabic-Indic three
        level("-0.0", .loads(.level(-0.0))),
        level("9007199254740993", .loads(.level(9_007_199_254_740_992))),
        level("0x10", .loads(.level(16))),
        level("1e-400", .loads(.level(0))),
        levelProblem("1e309"),
        levelProblem(".nan"),
        levelProblem("nan"),
        levelProblem("-.inf"),
        levelProblem("-inf"),
        Case(from: "from: sz.futian.shatou", to: "from: sz.fut\u{0456}an.shatou", outcome: .problem(
            line: 7, key: "injects[0].from",
            message: "\"sz.fut\u{0456}an.shatou\" is not an area path (dotted, lower-case, city first: sz.futian.shatou)")),
        Case(from: "from: sz.futian.shatou", to: "from: \u{FF53}\u{FF5A}.futian.shatou", outcome: .problem(
            line: 7, key: "injects[0].from",
            message: "\"\u{FF53}\u{FF5A}.futian.shatou\" is not an area path (dotted, lower-case, city first: sz.futian.shatou)")),
        Case(from: "\"Smoke on the third floor\"", to: "\"\u{202E}Smoke\u{200B}\"",
             outcome: .loads(.callersText("\u{202E}Smoke\u{200B}"))),
        Case(from: "\"Smoke on the third floor\"", to: "\"\(longText)\"", outcome: .loads(.callersText(longText))),
        Case(from: "\"Smoke on the third floor\"", to: "\"\(longText)a\"",
             outcome: .problem(line: 14, key: "injects[1].text", message: "longer than 4096 bytes")),
        Case(from: "\"Smoke on the third floor\"", to: "\"Smoke\u{0}\"",
             outcome: .problem(line: 14, key: "", message: "YAML syntax: control characters are not allowed")),
        burst("{count: 10000, over: 10m, radius_m: 50000, seed: 18446744073709551615}",
              .loads(.burst(count: 10_000, radiusM: 50_000, seed: .max))),
        burst("{count: 1, over: 0s, radius_m: -0.0, seed: 0}", .loads(.burst(count: 1, radiusM: -0.0, seed: 0))),
        burstProblem("{count: 10001, over: 10m}", key: "count", "must be at most 10000"),
        burstProblem("{count: 0, over: 10m}", key: "count", "must be at least 1"),
        burstProblem("{count: 5, over: 10m, radius_m: 50000.5}", key: "radius_m", "must be between 0 and 50000 metres"),
        burstProblem("{count: 5, over: 10m, radius_m: .nan}", key: "radius_m", "expected a number, got \".nan\""),
        burstProblem("{count: 5, over: 10m, seed: 18446744073709551616}", key: "seed",
                     "expected a whole number from 0, got \"18446744073709551616\""),
        burstProblem("{count: 5, over: 10m, seed: -1}", key: "seed", "expected a whole number from 0, got \"-1\""),
        Case(from: "id: futian-acks", to: "id: \(String(repeating: "a", count: 64))",
             outcome: .loads(.actionID(String(repeating: "a", count: 64)))),
        Case(from: "id: futian-acks", to: "id: \(String(repeating: "a", count: 65))",
             outcome: .problem(line: 17, key: "actions[0].id", message: idRule)),
        Case(from: "id: futian-acks", to: "id: futi\u{0430}n-acks",
             outcome: .problem(line: 17, key: "actions[0].id", message: idRule)),
        Case(from: "id: futian-acks", to: "id: futian\u{202E}acks",
             outcome: .problem(line: 17, key: "actions[0].id", message: idRule)),
        Case(from: "    at: 10m\n", to: "    at: 10m\n    at: 20m\n",
             outcome: .problem(line: 6, key: "", message: "duplicate key at")),
    ]

    static func load(_ text: String) -> Result<Scenario, ScenarioError> {
        let config = Fixtures.shippedConfig
        do throws(ScenarioError) {
            return .success(try ScenarioLoader.load(
                text: text, name: "edge.yaml", catalog: config.catalog, areas: config.areas, plans: config.plans))
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: ScenarioBoundaryTests.cases)
    func boundary(_ c: Case) throws {
        try #require(Self.text.contains(c.from), "case \(c.testDescription) does not apply")
        switch (c.outcome, Self.load(Self.text.replacingOccurrences(of: c.from, with: c.to))) {
        case (.loads(let expected), .success(let s)):
            switch expected {
            case .start(let micros): #expect(s.start.micros == micros)
            case .duration(let d): #expect(s.duration == d)
            case .level(let x):
                guard case .fixed(let v)? = s.injects.first?.values["level_m"] else {
                    Issue.record("no fixed level_m: \(String(describing: s.injects.first))")
                    return
                }
                #expect(v.bitPattern == x.bitPattern, "\(v)")
            case .callersText(let t): #expect(s.injects.last?.texts == [t])
            case .burst(let count, let radius, let seed):
                guard case .burst(let b)? = s.injects.last?.pattern else {
                    Issue.record("no burst: \(String(describing: s.injects.last))")
                    return
                }
                #expect(b.count == count && b.radiusM.bitPattern == radius.bitPattern && b.seed == seed, "\(b)")
            case .actionID(let id): #expect(s.actions.map(\.id) == [id])
            }
            Self.expectAccepted(s.expandedInjects(), of: s)
        case (.problem(let line, let key, let message), .failure(let error)):
            let match = error.problems.first { $0.key == key && $0.message == message }
            #expect(match != nil, "got: \(error.problems.map(\.description))")
            #expect(match?.line == line, "got: \(error.problems.map(\.description))")
        case (let outcome, let result):
            Issue.record("expected \(outcome), got \(result)")
        }
    }

    /// Every event a loaded scenario sends is one the ingest endpoint accepts (with no limit on how far ahead).
    static func expectAccepted(_ events: [ScheduledEvent], of s: Scenario) {
        let config = Fixtures.shippedConfig
        let decoder = EventDecoder(catalog: config.catalog, areas: config.areas)
        #expect(events.count == s.eventCount.injects)
        for e in events {
            if case .failure(let rejection) = decoder.decode(e.json, now: Timestamp(micros: .max)) {
                Issue.record("\(e.id) would be rejected: \(rejection)")
                return
            }
        }
    }

    @Test func baseLoads() throws {
        let s = try Self.load(Self.text).get()
        #expect(s.injects.count == 2 && s.actions.count == 1)
        Self.expectAccepted(s.expandedInjects(), of: s)
    }

    @Test func tableIsLarge() {
        #expect(Self.cases.count >= 45)
    }
}
