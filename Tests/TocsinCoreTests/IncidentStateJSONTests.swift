import Testing
@testable import TocsinCore

@Suite struct IncidentStateJSONTests {
    /// The classify worker's stored form reads back to the same incident, whatever it has been through.
    @Test func roundTripsEveryKindOfIncident() throws {
        var e = IncidentEngine(catalog: ShippedCatalog.catalog)
        var seq: Int64 = 0
        func apply(_ id: String, _ type: String, at t: Double, lat: Double = 22.5277, values: [String: Double] = [:],
                   status: Status = .actual) {
            seq += 1
            _ = e.apply(Make.event(id, type, at: t, values: EventValues(values), status: status).moved(lat: lat), seq: seq)
        }
        for i in 0..<4 { apply("f\(i)", "report.fire", at: Double(i) * 30, values: i == 2 ? ["injured": 3] : [:]) }
        apply("w1", "water_level", at: 10, lat: 22.60, values: ["level_m": 2.7])
        apply("w2", "water_level", at: 70, lat: 22.60, values: ["level_m": 3.6])
        apply("g1", "gas_concentration", at: 5, lat: 22.70, values: ["ppm": 60, "lel_pct": 4.5])
        apply("t1", "report.traffic_accident", at: 5, lat: 22.75, values: ["vehicles": 6, "injured": 1], status: .exercise)
        apply("low", "rainfall", at: 5, lat: 22.80, values: ["mm_per_h": 3])
        #expect(e.openIncidents.count == 5)
        for incident in e.openIncidents {
            let back = try Incident(stateJSON: incident.stateJSON)
            #expect(back == incident)
        }
        let change = e.close(e.openIncidents[0].id, at: Timestamp(seconds: 1_800_000_000))
        let closed = try #require(change)
        #expect(try Incident(stateJSON: closed.incident.stateJSON) == closed.incident)
        #expect(throws: IncidentStateError.self) { try Incident(stateJSON: Array("[1]".utf8)) }
    }
}

extension Event {
    func moved(lat: Double) -> Event {
        var e = self
        e.location = GeoPoint(lat: lat, lon: e.location.lon)
        return e
    }
}
