import Foundation
import Testing
import TocsinCore
import TocsinTesting
@testable import TocsinWorkers

/// Classify writes its outbox records by hand; dispatch reads them with `JSONDecoder`. Every kind of change, with
/// and without the optional fields, must come back equal, and equal to what `JSONEncoder` would have written.
@Suite struct ChangeRecordJSONTests {
    /// Changes of every kind from a real engine: opened (no tier, then tier IV), updated with and without a
    /// previous tier, a tier step, several event types with values, and both close reasons.
    static func changes() -> [IncidentChange] {
        var engine = IncidentEngine(catalog: Fixtures.shippedConfig.catalog)
        let start = 1_782_894_600.0
        var out: [IncidentChange] = []
        var seq: Int64 = 0
        func apply(_ id: String, _ type: String, _ kind: EventKind, lat: Double, values: EventValues = [:],
                   area: String = "sz.futian.shatou", at offset: Double, status: Status = .actual) {
            seq += 1
            let event = Event(id: id, source: AreaPath("sz.futian")!, kind: kind, type: type,
                              time: Timestamp(seconds: start + offset), location: GeoPoint(lat: lat, lon: 114.025),
                              area: AreaPath(area)!, values: values, status: status,
                              device: kind == .sensor ? "gauge-7" : nil)
            out += engine.apply(event, seq: seq)
        }
        apply("w-1", "water_level", .sensor, lat: 22.5277, values: ["level_m": 1.2], at: 0)
        apply("w-2", "water_level", .sensor, lat: 22.5278, values: ["level_m": 2.75], at: 10)
        apply("w-3", "water_level", .sensor, lat: 22.52771, values: ["level_m": 3.1234567891], at: 20)
        for i in 0..<4 {
            apply("fire-\(i)", "report.fire", .report, lat: 22.60, values: i == 2 ? ["injured": 2] : [:],
                  area: i == 3 ? "sz.futian.xiangmihu" : "sz.futian.shatou", at: Double(30 + i), status: .exercise)
        }
        apply("crowd-1", "crowd_density", .sensor, lat: 22.70, values: ["persons_per_m2": 4.5], at: 40)
        apply("crowd-2", "report.crowd", .report, lat: 22.70001, values: ["injured": 1], at: 41)
        if let closed = engine.close("inc-4", at: Timestamp(seconds: start + 100)) { out.append(closed) }
        out += engine.advance(to: Timestamp(seconds: start + 86_400))
        return out
    }

    /// Dispatch's reader refuses what is not a change record, saying what is wrong.
    @Test func readerRefusesMalformedRecords() throws {
        let good = String(decoding: ChangeRecord(now: nil, change: Self.changes()[0]).json, as: UTF8.self)
        for (bad, message) in [
            ("{}", "change: required"),
            (good.replacingOccurrences(of: #"{"opened":{}}"#, with: #"{"reopened":{}}"#), "kind: unknown reopened"),
            (good.replacingOccurrences(of: #""isOpen":true"#, with: #""isOpen":1"#), "isOpen: expected a boolean"),
            (good.replacingOccurrences(of: #""eventCount":"#, with: #""events":"#), "eventCount: expected a number"),
        ] {
            #expect(bad != good || bad == "{}")
            #expect(throws: IncidentStateError.self, "\(message)") { try ChangeRecord(json: Array(bad.utf8)) }
            do {
                _ = try ChangeRecord(json: Array(bad.utf8))
            } catch {
                #expect("\(error)" == message)
            }
        }
        #expect(throws: (any Error).self) { try ChangeRecord(json: Array("not json".utf8)) }
    }

    @Test func handWrittenRecordsDecodeToTheSameChange() throws {
        let all = Self.changes()
        #expect(all.contains { if case .opened = $0.kind { $0.incident.tier == nil } else { false } })
        #expect(all.contains { if case .updated(nil) = $0.kind { true } else { false } })
        #expect(all.contains { if case .updated(.iv?) = $0.kind { true } else { false } })
        #expect(all.contains { if case .closed(.allClear) = $0.kind { true } else { false } })
        #expect(all.contains { if case .closed(.quiet) = $0.kind { true } else { false } })
        #expect(all.contains { $0.incident.counts.count == 2 })
        for (i, change) in all.enumerated() {
            for now in [nil, Timestamp(micros: 1_782_894_600_123_456)] {
                let record = ChangeRecord(now: now, change: change)
                let decoded = try JSONDecoder().decode(ChangeRecord.self, from: Data(record.json))
                #expect(decoded.now == now, "change \(i)")
                #expect(decoded.change == change, "change \(i): \(String(decoding: record.json, as: UTF8.self))")
                // The same value as the synthesized encoder's form.
                let reference = try JSONDecoder().decode(ChangeRecord.self, from: JSONEncoder().encode(record))
                #expect(reference.change == decoded.change)
                // Dispatch's own reader gives the same, from the hand-written form and from the encoder's.
                let fast = try ChangeRecord(json: record.json)
                #expect(fast.now == now, "change \(i)")
                #expect(fast.change == change, "change \(i)")
                #expect(try ChangeRecord(json: Array(JSONEncoder().encode(record))).change == change)
            }
        }
    }

    @Test func recordsAreOneCompactJSONObject() throws {
        let record = ChangeRecord(now: Timestamp(micros: 5), change: Self.changes()[0])
        guard case .object(let o) = try JSONValue.parse(record.json) else {
            Issue.record("not an object")
            return
        }
        #expect(o.keys == ["now", "change"])
    }
}
