import Foundation
import Testing
import TocsinCore

/// Snapshot and restore: a run interrupted anywhere, snapshotted to JSON bytes and restored, continues exactly
/// as an uninterrupted run.
@Suite struct IncidentSnapshotTests {
    typealias M = Make

    enum Step: Sendable {
        case event(Event)
        case tick(Timestamp)
        /// Acknowledge the k-th latest warning (by seq), by its owner.
        case ackLatest(Int, Timestamp)
        /// All-clear for the oldest open incident.
        case closeOldest(Timestamp)
    }

    /// A deterministic, varied script: several hotspots, every event type, mixed statuses, events slightly out
    /// of order, ticks, acknowledgements and all-clears.
    static let script: [Step] = {
        var rng = SplitMix(seed: 20_260_701)
        let types: [(String, String?, ClosedRange<Double>)] = [
            ("water_level", "level_m", 2.0...4.5), ("rainfall", "mm_per_h", 10...120),
            ("wind_speed", "m_per_s", 10...45), ("crowd_density", "persons_per_m2", 2...8),
            ("gas_concentration", "ppm", 5...1200), ("report.fire", "injured", 0...4),
            ("report.collapse", "trapped", 0...4), ("report.traffic_accident", "injured", 0...8),
            ("report.illness", "cases", 1...15), ("report.crowd", nil, 0...0),
        ]
        let areas = [M.shatou, M.xiangmihu, M.yuehai]
        let hotspots = (0..<6).map { i in M.offset(M.here, north: Double(i % 3) * 2500, east: Double(i / 3) * 2500) }
        var steps: [Step] = []
        var t = 0.0
        for i in 0..<600 {
            t += rng.uniform(0...40)
            let (type, value, range) = types[Int(rng.next() % UInt64(types.count))]
            let spot = M.offset(
                hotspots[Int(rng.next() % 6)], north: rng.uniform(-300...300), east: rng.uniform(-300...300))
            let jitter = rng.next() % 10 == 0 ? -rng.uniform(0...300) : 0  // some out of order
            let status: Status = rng.next() % 7 == 0 ? .exercise : (rng.next() % 13 == 0 ? .test : .actual)
            var values: [String: Double] = [:]
            if let value { values[value] = (rng.uniform(range) * 10).rounded() / 10 }
            steps.append(
                .event(
                    M.event(
                        "e\(i)", type, at: t + jitter, spot, area: areas[Int(rng.next() % 3)], values: EventValues(values),
                        status: status)))
            if i % 9 == 0 { steps.append(.tick(M.time(t))) }
            if i % 37 == 0 { steps.append(.ackLatest(Int(rng.next() % 3), M.time(t))) }
            if i % 53 == 0 { steps.append(.closeOldest(M.time(t))) }
            if i % 150 == 149 {
                t += 3 * 3600  // a quiet spell: everything closes
                steps.append(.tick(M.time(t)))
            }
        }
        steps.append(.tick(M.time(t + 86_400)))
        return steps
    }()

    /// Runs `steps` and returns a line per output (warnings as their JSON, changes as a summary).
    static func run(_ steps: ArraySlice<Step>, on p: inout IncidentPipeline) -> [String] {
        var out: [String] = []
        func record(_ ws: [Warning]) { out += ws.map(\.jsonString) }
        for step in steps {
            let before = p.changes.count
            switch step {
            case .event(let e): record(p.feed(e))
            case .tick(let now): record(p.tick(now))
            case .ackLatest(let k, let at):
                let latest = p.book.latestWarnings
                if !latest.isEmpty {
                    let w = latest[k % latest.count]
                    if let acked = try? p.book.acknowledge(w.id, by: w.owner, at: at) {
                        out.append("ack \(acked.id) \(acked.acknowledgedBy!)")
                    }
                }
            case .closeOldest(let at):
                if let oldest = p.engine.openIncidents.first { record(p.close(oldest.id, at: at)) }
            }
            out += p.changes[before...].map {
                "\($0.kind) \($0.incident.id) v\($0.incident.version) \($0.incident.tier?.rawValue ?? "-") "
                    + "\($0.incident.eventCount) \($0.incident.center.lat) \($0.incident.center.lon) \($0.incident.radiusM)"
            }
        }
        return out
    }

    @Test func scriptIsVaried() {
        var p = IncidentPipeline()
        let out = Self.run(Self.script[...], on: &p)
        let warnings = out.filter { $0.hasPrefix("{") }
        #expect(warnings.count > 50)
        #expect(warnings.contains { $0.contains(#""msgType":"cancel""#) })
        #expect(warnings.contains { $0.contains(#""escalated":true"#) })
        #expect(warnings.contains { $0.contains(#""status":"exercise""#) })
        #expect(out.contains { $0.hasPrefix("ack ") })
        #expect(out.contains { $0.contains("allClear") })
        #expect(out.contains { $0.contains("quiet") })
    }

    @Test(arguments: [1, 97, 250, 401, 555, 700])
    func restoreContinuesExactly(at split: Int) throws {
        let steps = Self.script
        let split = min(split, steps.count)
        var whole = IncidentPipeline()
        let expected = Self.run(steps[...], on: &whole)

        var first = IncidentPipeline()
        var got = Self.run(steps[..<split], on: &first)
        let engineBytes = try first.engine.snapshot()
        let bookBytes = try first.book.snapshot()

        var second = IncidentPipeline()
        second.engine = try IncidentEngine(catalog: ShippedCatalog.catalog, snapshot: engineBytes)
        second.book = try WarningBook(
            catalog: ShippedCatalog.catalog, areaName: { ShippedCatalog.areas[$0]?.name }, snapshot: bookBytes)
        second.seq = second.engine.lastSeq
        #expect(second.engine.state == first.engine.state)
        #expect(second.book.state == first.book.state)
        got += Self.run(steps[split...], on: &second)

        #expect(got.count == expected.count)
        for (i, (a, b)) in zip(got, expected).enumerated() where a != b {
            Issue.record("output \(i) differs:\n  restored: \(a)\n  whole:    \(b)")
            break
        }
        #expect(try second.engine.snapshot() == whole.engine.snapshot())
        #expect(try second.book.snapshot() == whole.book.snapshot())
    }

    @Test func snapshotsAreDeterministicBytes() throws {
        var a = IncidentPipeline()
        var b = IncidentPipeline()
        _ = Self.run(Self.script[..<300], on: &a)
        _ = Self.run(Self.script[..<300], on: &b)
        #expect(try a.engine.snapshot() == b.engine.snapshot())
        #expect(try a.book.snapshot() == b.book.snapshot())
        #expect(a.engine.openCount > 0)
    }

    @Test func restoredEngineIgnoresAlreadyAppliedEvents() throws {
        var e = IncidentEngine(catalog: ShippedCatalog.catalog)
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        var r = try IncidentEngine(catalog: ShippedCatalog.catalog, snapshot: e.snapshot())
        #expect(r.apply(M.event("a", "report.fire"), seq: 1).isEmpty)  // replayed from an older offset
        #expect(r.incident("inc-1")?.eventCount == 1)
    }
}

/// The test scripts' deterministic generator.
typealias SplitMix = SplitMix64

extension SplitMix64 {
    mutating func uniform(_ r: ClosedRange<Double>) -> Double {
        r.lowerBound + Double(next() >> 11) / Double(1 << 53) * (r.upperBound - r.lowerBound)
    }
}
