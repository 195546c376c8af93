import Foundation
import Testing
@testable import TocsinCore

/// `TypeAggregates`, the incident's flat list of value aggregates, against the dictionary of dictionaries it
/// replaced: the same aggregates, tiers and encoded form for any order of events.
@Suite struct TypeAggregatesTests {
    static let specs: [EventTypeSpec] = [
        EventTypeSpec(name: "water_level", kind: .sensor, incident: "flood",
                      values: [ValueSpec(name: "level_m"), ValueSpec(name: "rain_mm", optional: true, aggregate: .sum)],
                      tiers: [.iv: [.value("level_m", atLeast: 2)], .ii: [.value("rain_mm", atLeast: 30)]]),
        EventTypeSpec(name: "rain", kind: .sensor, incident: "flood",
                      values: [ValueSpec(name: "mm", aggregate: .sum)],
                      tiers: [.iii: [.value("mm", atLeast: 20), .count(atLeast: 8)]]),
        EventTypeSpec(name: "a_report", kind: .report, incident: "flood", values: [], tiers: [.iv: [.count(atLeast: 1)]]),
    ]

    /// What the incident did before: per type a dictionary, per value the sum or maximum.
    static func fold(_ reference: inout [String: [String: Double]], _ values: EventValues, spec: EventTypeSpec) {
        guard !values.isEmpty else { return }
        for v in spec.values {
            guard let x = values[v.name] else { continue }
            reference[spec.name, default: [:]][v.name] = v.aggregate.combine(reference[spec.name]?[v.name], x)
        }
    }

    @Test func foldsAsTheDictionariesDid() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var flat = TypeAggregates()
            var reference: [String: [String: Double]] = [:]
            var counts: [String: Int] = [:]
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let spec = Self.specs.randomElement(using: &rng)!
                var values = EventValues()
                for v in spec.values where !v.optional || Bool.random(using: &rng) {
                    values[v.name] = Double(Int.random(in: 0...40, using: &rng)) / 4
                }
                flat.fold(values, spec: spec)
                Self.fold(&reference, values, spec: spec)
                counts[spec.name, default: 0] += 1
                #expect(flat.dictionary == reference)
                for spec in Self.specs {
                    for v in spec.values { #expect(flat.value(v.name, of: spec.name) == reference[spec.name]?[v.name]) }
                    let count = counts[spec.name] ?? 0
                    #expect(flat.tier(spec, count: count) == spec.tier(count: count, aggregates: reference[spec.name] ?? [:]))
                }
            }
            // Sorted by type and name whatever the order of events, so equal aggregates are equal lists; the
            // dictionary form goes back and forth unchanged, through Codable too.
            #expect(flat.entries.map { [$0.type, $0.name] } == flat.entries.map { [$0.type, $0.name] }.sorted { $0.lexicographicallyPrecedes($1) })
            #expect(TypeAggregates(reference) == flat)
            let encoded = try JSONEncoder().encode(flat)
            #expect(try JSONDecoder().decode([String: [String: Double]].self, from: encoded) == reference)
            #expect(try JSONDecoder().decode(TypeAggregates.self, from: encoded) == flat)
        }
    }

    @Test func incidentReadsThemAndWritesTheSameJSON() throws {
        let catalog = Catalog(types: Self.specs, incidents: [
            IncidentTypeSpec(name: "flood", category: .naturalDisaster, capCategories: [.met], headline: "Flood", instruction: "Move up"),
        ])
        var engine = IncidentEngine(catalog: catalog)
        var seq: Int64 = 0
        func event(_ type: String, _ values: EventValues, minute: Int) -> Event {
            Event(id: "e\(seq)", source: AreaPath("sz.futian")!, kind: type == "a_report" ? .report : .sensor, type: type,
                  time: Timestamp(micros: Int64(minute) * 60_000_000), location: GeoPoint(lat: 22.54, lon: 114.05),
                  values: values)
        }
        for (type, values) in [("water_level", ["level_m": 1.5] as EventValues), ("rain", ["mm": 12]),
                               ("water_level", ["level_m": 2.5, "rain_mm": 4]), ("rain", ["mm": 9]), ("a_report", [:])] {
            seq += 1
            _ = engine.correlate(event(type, values, minute: Int(seq)), seq: seq)
        }
        let incident = try #require(engine.openIncidents.first)
        #expect(incident.aggregates == ["water_level": ["level_m": 2.5, "rain_mm": 4], "rain": ["mm": 21]])
        #expect(incident.aggregate("mm", of: "rain") == 21)
        #expect(incident.aggregate("level_m", of: "rain") == nil)
        #expect(incident.tier == Tier.iii)  // rain's 21 mm; water level 2.5 m gives IV, rain_mm 4 < 30
        // The hand-written form and Codable's decode to the same incident.
        let viaCodable = try JSONDecoder().decode(Incident.self, from: JSONEncoder().encode(incident))
        #expect(viaCodable == incident)
    }
}
