import Testing
import TocsinCore

/// Every row of the default catalog (PROTOCOL.md "Default catalog and tiers"): below, at and above each
/// threshold, through the engine (events at one place, a minute apart, form one incident).
@Suite struct IncidentTierTests {
    struct TierCase: Sendable, CustomTestStringConvertible {
        var type: String
        /// The values of each event, in order (an empty dictionary: a report without values).
        var events: [[String: Double]]
        var expected: Tier?

        init(_ type: String, _ events: [[String: Double]], _ expected: Tier?) {
            self.type = type
            self.events = events
            self.expected = expected
        }

        /// `n` reports without values.
        init(_ type: String, reports n: Int, _ expected: Tier?) {
            self.init(type, Array(repeating: [:], count: n), expected)
        }

        var testDescription: String {
            let list = events.allSatisfy(\.isEmpty)
                ? "\(events.count) report(s)"
                : events.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
                    .joined(separator: " + ")
            return "\(type) \(list) -> \(expected?.rawValue ?? "none")"
        }
    }

    /// Below the lowest threshold, then for each tier: just below, at, and between it and the next.
    static func sensorCases(_ type: String, _ value: String, _ t: [Double]) -> [TierCase] {
        let tiers: [Tier] = [.iv, .iii, .ii, .i]
        var out = [TierCase(type, [[value: 0]], nil)]
        for k in 0..<4 {
            out.append(TierCase(type, [[value: t[k] - 0.01]], k == 0 ? nil : tiers[k - 1]))
            out.append(TierCase(type, [[value: t[k]]], tiers[k]))
            out.append(TierCase(type, [[value: k < 3 ? (t[k] + t[k + 1]) / 2 : t[k] * 2]], tiers[k]))
        }
        return out
    }

    static let sensorRows: [TierCase] =
        sensorCases("water_level", "level_m", [2.5, 3.0, 3.5, 4.0])
        + sensorCases("rainfall", "mm_per_h", [20, 30, 50, 100])
        + sensorCases("wind_speed", "m_per_s", [17.2, 24.5, 32.7, 41.5])
        + sensorCases("crowd_density", "persons_per_m2", [4, 5, 6, 7])
        + sensorCases("gas_concentration", "ppm", [10, 50, 200, 1000])
        + [
            // The contract's examples.
            TierCase("water_level", [["level_m": 2.49]], nil),
            TierCase("water_level", [["level_m": 2.5]], .iv),
            TierCase("water_level", [["level_m": 3.0]], .iii),
            TierCase("water_level", [["level_m": 3.5]], .ii),
            TierCase("water_level", [["level_m": 4.0]], .i),
            // Sensor values count as the highest seen, in either order; they do not add up.
            TierCase("water_level", [["level_m": 3.1], ["level_m": 2.6]], .iii),
            TierCase("water_level", [["level_m": 2.6], ["level_m": 3.1]], .iii),
            TierCase("water_level", [["level_m": 2.0], ["level_m": 2.0]], nil),
            TierCase("rainfall", [["mm_per_h": 15], ["mm_per_h": 15], ["mm_per_h": 15]], nil),
            // The optional lel_pct does not tier.
            TierCase("gas_concentration", [["ppm": 9, "lel_pct": 90]], nil),
            TierCase("gas_concentration", [["ppm": 60, "lel_pct": 1]], .iii),
        ]

    static let reportRows: [TierCase] = [
        // report.fire: 1 report IV; 3 reports or injured >= 1 III; 10 reports or injured >= 3 II; injured >= 10 I.
        TierCase("report.fire", reports: 1, .iv),
        TierCase("report.fire", reports: 2, .iv),
        TierCase("report.fire", reports: 3, .iii),
        TierCase("report.fire", reports: 9, .iii),
        TierCase("report.fire", reports: 10, .ii),
        TierCase("report.fire", reports: 11, .ii),
        TierCase("report.fire", [["injured": 0]], .iv),
        TierCase("report.fire", [["injured": 1]], .iii),
        TierCase("report.fire", [["injured": 2]], .iii),
        TierCase("report.fire", [["injured": 3]], .ii),
        TierCase("report.fire", [["injured": 9]], .ii),
        TierCase("report.fire", [["injured": 10]], .i),
        TierCase("report.fire", [["injured": 2], ["injured": 1]], .ii),  // sums
        TierCase("report.fire", [["injured": 5], [:], ["injured": 5]], .i),
        // report.collapse: no IV; 1 report III; trapped >= 3 II; trapped >= 10 I.
        TierCase("report.collapse", reports: 1, .iii),
        TierCase("report.collapse", reports: 5, .iii),
        TierCase("report.collapse", [["trapped": 2]], .iii),
        TierCase("report.collapse", [["trapped": 3]], .ii),
        TierCase("report.collapse", [["trapped": 9]], .ii),
        TierCase("report.collapse", [["trapped": 10]], .i),
        TierCase("report.collapse", [["trapped": 6], ["trapped": 4]], .i),  // sums
        // report.traffic_accident: 1 report IV; vehicles >= 5 or injured >= 3 III; injured >= 10 II; >= 30 I.
        TierCase("report.traffic_accident", reports: 1, .iv),
        TierCase("report.traffic_accident", reports: 6, .iv),
        TierCase("report.traffic_accident", [["vehicles": 4]], .iv),
        TierCase("report.traffic_accident", [["vehicles": 5]], .iii),
        TierCase("report.traffic_accident", [["vehicles": 40]], .iii),
        TierCase("report.traffic_accident", [["vehicles": 3], ["vehicles": 4]], .iv),  // max, not sum
        TierCase("report.traffic_accident", [["injured": 2]], .iv),
        TierCase("report.traffic_accident", [["injured": 3]], .iii),
        TierCase("report.traffic_accident", [["injured": 9]], .iii),
        TierCase("report.traffic_accident", [["injured": 10]], .ii),
        TierCase("report.traffic_accident", [["injured": 29]], .ii),
        TierCase("report.traffic_accident", [["injured": 30]], .i),
        TierCase("report.traffic_accident", [["injured": 15, "vehicles": 2], ["injured": 15]], .i),  // sums
        // report.illness: cases (sum) >= 5 IV, >= 20 III, >= 50 II, >= 100 I.
        TierCase("report.illness", [["cases": 4]], nil),
        TierCase("report.illness", [["cases": 5]], .iv),
        TierCase("report.illness", [["cases": 19]], .iv),
        TierCase("report.illness", [["cases": 20]], .iii),
        TierCase("report.illness", [["cases": 49]], .iii),
        TierCase("report.illness", [["cases": 50]], .ii),
        TierCase("report.illness", [["cases": 99]], .ii),
        TierCase("report.illness", [["cases": 100]], .i),
        TierCase("report.illness", [["cases": 3], ["cases": 2]], .iv),  // sums
        TierCase("report.illness", [["cases": 60], ["cases": 40]], .i),
        // report.crowd: 1 report IV; 3 reports III; injured >= 3 II; injured >= 10 I.
        TierCase("report.crowd", reports: 1, .iv),
        TierCase("report.crowd", reports: 2, .iv),
        TierCase("report.crowd", reports: 3, .iii),
        TierCase("report.crowd", [["injured": 2]], .iv),
        TierCase("report.crowd", [["injured": 3]], .ii),
        TierCase("report.crowd", [["injured": 9]], .ii),
        TierCase("report.crowd", [["injured": 10]], .i),
        TierCase("report.crowd", [["injured": 1], ["injured": 1], ["injured": 1]], .ii),
    ]

    /// Runs the events at one place, a minute apart, and returns the incidents.
    static func run(_ c: TierCase) -> [Incident] {
        var engine = IncidentEngine(catalog: ShippedCatalog.catalog)
        for (i, values) in c.events.enumerated() {
            _ = engine.apply(Make.event("e\(i)", c.type, at: Double(i) * 60, values: EventValues(values)), seq: Int64(i + 1))
        }
        return engine.openIncidents
    }

    /// Every reading opens or joins an incident (PROTOCOL.md: "otherwise it opens a new incident"); below every
    /// threshold it has no tier and so no warning.
    @Test(arguments: sensorRows)
    func sensorThresholds(_ c: TierCase) {
        let incidents = Self.run(c)
        #expect(incidents.count == 1)
        #expect(incidents.first?.tier == c.expected)
    }

    @Test(arguments: reportRows)
    func reportThresholds(_ c: TierCase) {
        let incidents = Self.run(c)
        #expect(incidents.count == 1)
        #expect(incidents.first?.tier == c.expected)
    }

    /// Every event type of the catalog is covered by the rows above.
    @Test func everyCatalogRowIsCovered() {
        let covered = Set((Self.sensorRows + Self.reportRows).map(\.type))
        #expect(covered == Set(ShippedCatalog.catalog.types.keys))
    }

    /// Two event types of one incident type (crowd_crush): the highest tier of either wins.
    @Test func highestTierAcrossEventTypes() {
        var engine = IncidentEngine(catalog: ShippedCatalog.catalog)
        _ = engine.apply(Make.event("d1", "crowd_density", values: ["persons_per_m2": 5.2]), seq: 1)
        let c = engine.apply(Make.event("r1", "report.crowd", at: 30), seq: 2)
        #expect(engine.openCount == 1)
        #expect(c.first?.incident.tier == .iii)
        #expect(c.first?.incident.count(of: "report.crowd") == 1)
        #expect(c.first?.incident.count(of: "crowd_density") == 1)
        let c2 = engine.apply(Make.event("r2", "report.crowd", at: 60, values: ["injured": 10]), seq: 3)
        #expect(c2.first?.incident.tier == .i)
        #expect(c2.first?.kind == .updated(previousTier: .iii))
    }

    /// The spec-level evaluation agrees with the table (no engine).
    @Test func specTierEvaluation() throws {
        let fire = try #require(ShippedCatalog.catalog.types["report.fire"])
        #expect(fire.tier(count: 1, aggregates: [:]) == .iv)
        #expect(fire.tier(count: 0, aggregates: [:]) == nil)
        #expect(fire.tier(count: 2, aggregates: ["injured": 1]) == .iii)
        #expect(fire.tier(count: 10, aggregates: ["injured": 0]) == .ii)
        #expect(fire.tier(count: 1, aggregates: ["injured": 10]) == .i)
        let collapse = try #require(ShippedCatalog.catalog.types["report.collapse"])
        #expect(collapse.tier(count: 1, aggregates: [:]) == .iii)
        #expect(Aggregate.sum.combine(nil, 2) == 2)
        #expect(Aggregate.sum.combine(2, 3) == 5)
        #expect(Aggregate.max.combine(4, 3) == 4)
    }

    /// The tier as the catalog's table says, condition by condition (what `tier(count:aggregates:)` did before
    /// it read a precompiled ladder).
    static func tierByTable(_ spec: EventTypeSpec, count: Int, aggregates: [String: Double]) -> Tier? {
        Tier.highestFirst.first { tier in
            (spec.tiers[tier] ?? []).contains { spec.holds($0, count: count, aggregates: aggregates) }
        }
    }

    /// The ladder gives the table's tier for random conditions over up to seven value names (more than the four
    /// it keeps without an array), counts and aggregates, missing values included; and it follows `tiers` when
    /// that is changed after the spec was made.
    @Test func ladderAgreesWithTheTable() {
        var rng = SystemRandomNumberGenerator()
        let names = ["a", "b", "c", "d", "e", "f", "g"]
        var reached = Set<Tier?>()
        for _ in 0..<3000 {
            let used = Array(names.prefix(Int.random(in: 1...names.count, using: &rng)))
            var tiers: [Tier: [TierCondition]] = [:]
            for tier in Tier.allCases where Bool.random(using: &rng) {
                tiers[tier] = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    Int.random(in: 0...3, using: &rng) == 0
                        ? .count(atLeast: Int.random(in: 1...5, using: &rng))
                        : .value(used.randomElement(using: &rng)!, atLeast: Double(Int.random(in: 0...10, using: &rng)))
                }
            }
            var spec = EventTypeSpec(
                name: "t", kind: .sensor, incident: "i", values: used.map { ValueSpec(name: $0) }, tiers: [:])
            #expect(spec.tier(count: 100, aggregates: ["a": 100]) == nil)
            spec.tiers = tiers
            var aggregates: [String: Double] = [:]
            for name in used where Int.random(in: 0...4, using: &rng) > 0 {
                aggregates[name] = Double(Int.random(in: 0...10, using: &rng))
            }
            let count = Int.random(in: 0...6, using: &rng)
            let expected = Self.tierByTable(spec, count: count, aggregates: aggregates)
            #expect(spec.tier(count: count, aggregates: aggregates) == expected, "\(tiers) \(aggregates) \(count)")
            reached.insert(expected)
        }
        #expect(reached.count == 5)
        // Every shipped type, at each threshold and just below it.
        for spec in ShippedCatalog.catalog.types.values {
            for conditions in spec.tiers.values {
                for condition in conditions {
                    for delta in [-0.5, 0, 0.5] {
                        var aggregates: [String: Double] = [:]
                        var count = 1
                        switch condition {
                        case .count(let n): count = max(0, n + Int(delta * 2))
                        case .value(let name, let threshold): aggregates[name] = threshold + delta
                        }
                        #expect(spec.tier(count: count, aggregates: aggregates)
                            == Self.tierByTable(spec, count: count, aggregates: aggregates))
                    }
                }
            }
        }
    }
}
