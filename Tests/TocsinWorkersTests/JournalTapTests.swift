import Foundation
import Testing
import TocsinCore
import TocsinTesting
@testable import TocsinWorkers

/// Ingest hands the events it journals, decoded, to the classify worker of the same process (`JournalTap`);
/// classify reads the journal whenever the tap does not hold exactly the events after its offset.
@Suite struct JournalTapTests {
    static func event(_ n: Int) -> Event {
        Event(id: "e\(n)", source: AreaPath("sz")!, kind: .sensor, type: "water_level", time: Timestamp(micros: 0),
              location: GeoPoint(lat: 22.5, lon: 114.0), area: AreaPath("sz")!, values: ["level_m": Double(n)],
              text: nil, status: .actual, device: nil)
    }

    static func run(_ seqs: ClosedRange<Int64>) -> [(seq: Int64, event: Event)] {
        seqs.map { ($0, event(Int($0))) }
    }

    @Test func handsOverTheEventsAfterAnOffsetOnly() {
        let tap = JournalTap(capacity: 100)
        #expect(tap.take(after: 0, limit: 10) == nil)
        tap.publish(Self.run(1...5))
        tap.publish(Self.run(6...8))
        #expect(tap.take(after: 0, limit: 3)?.map(\.seq) == [1, 2, 3])
        #expect(tap.take(after: 3, limit: 10)?.map(\.seq) == [4, 5, 6, 7, 8])
        #expect(tap.take(after: 3, limit: 10)?.map(\.event) == nil)  // gone: emptied
        tap.publish(Self.run(9...12))
        // An offset inside the run: what comes after it (classify read the rest from the journal).
        #expect(tap.take(after: 10, limit: 10)?.map(\.seq) == [11, 12])
        tap.publish(Self.run(13...14))
        // An offset before the run: the tap cannot say what lies between; classify reads the journal.
        #expect(tap.take(after: 11, limit: 10) == nil)
        #expect(tap.take(after: 12, limit: 10)?.map { $0.event.id } == ["e13", "e14"])
        #expect(tap.taken == 3 + 5 + 2 + 2 && tap.missed == 3)
    }

    @Test func aRunThatDoesNotContinueReplacesAndTheOldestGoPastTheCapacity() {
        let tap = JournalTap(capacity: 4)
        tap.publish(Self.run(1...3))
        tap.publish(Self.run(10...11))  // not after 3: a new run
        #expect(tap.take(after: 0, limit: 10) == nil)
        #expect(tap.take(after: 9, limit: 10)?.map(\.seq) == [10, 11])
        tap.publish(Self.run(12...17))  // six events, four kept
        #expect(tap.take(after: 11, limit: 10) == nil)
        #expect(tap.take(after: 13, limit: 10)?.map(\.seq) == [14, 15, 16, 17])
        for k in stride(from: 18, to: 1000, by: 3) { tap.publish(Self.run(Int64(k)...Int64(k + 2))) }
        // (the last run: 999...1001)
        #expect(tap.take(after: 997, limit: 10)?.map(\.seq) == [998, 999, 1000, 1001])
    }

    /// A pipeline with every worker in the process: classify takes ingest's events from the tap, and what it
    /// makes of them is what it makes of the journal: the same data folder replayed from the journal alone
    /// (the workers' stores removed) gives the same incidents and the same feed.
    @Test func classifyMakesOfTheTapWhatItMakesOfTheJournal() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-tap")
        defer { Fixtures.removeTemporary(dir) }
        let t0 = Timestamp(micros: (WallClock.now().micros / 1_000_000 - 3600) * 1_000_000)
        var events: [String] = []
        for i in 0..<60 {
            let time = t0.adding(seconds: Double(i) * 10).rfc3339
            let east = Double(i % 3) * 0.05
            events.append(TestEvents.water(id: "g-\(i)", level: 1.0 + Double(i % 20) * 0.15, time: time,
                                           lon: 114.0250 + east))
            if i % 15 == 0 { events.append(TestEvents.fire(id: "f-\(i)", injured: i / 15, time: time, lat: 22.60)) }
        }
        // Both runs see the clock at t0 first (before every event's time: nothing closes or escalates on it).
        func state(_ p: TestPipeline, _ cc: CommandCenter) throws -> (incidents: JSONValue?, feed: [JSONValue]) {
            try cc.waitIdle()
            let incidents = try cc.request(#"{"op":"incidents"}"#)["incidents"]
            // Warnings and tasks without their feed numbers (how dispatch interleaves the plan worker's tasks
            // with its warnings depends on timing), tasks in id order.
            let messages = try cc.request(#"{"op":"since","seq":0}"#)["messages"]?.arrayValue ?? []
            let bodies = messages.compactMap { m -> JSONValue? in
                guard case .object(var o)? = m["body"] else { return nil }
                o["seq"] = nil
                return .object(o)
            }
            let warnings = bodies.filter { $0["tier"] != nil }
            let tasks = bodies.filter { $0["tier"] == nil }
                .sorted { ($0["id"]?.stringValue ?? "", $0["updated"]?.stringValue ?? "") < ($1["id"]?.stringValue ?? "", $1["updated"]?.stringValue ?? "") }
            return (incidents, warnings + tasks)
        }
        let first: (incidents: JSONValue?, feed: [JSONValue])
        do {
            let p = try TestPipeline(liveClock: false, directory: dir)
            defer { p.stop() }
            let cc = try CommandCenter(p)
            defer { cc.close() }
            try p.tick(t0, center: cc)
            let platform = try p.client()
            defer { platform.close() }
            for e in events { #expect(try platform.request(e)?["status"] == "accepted") }
            first = try state(p, cc)
            // Most events come through the tap (one that classify hears of before ingest has handed it over is
            // read from the journal).
            let tap = try #require(p.pipeline.tap)
            #expect(tap.taken > 0 && tap.taken <= events.count)
        }
        for store in ["classify", "dispatch", "plan"] {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(dir)/data/\(store).sqlite\(suffix)") }
        }
        let p = try TestPipeline(liveClock: false, directory: dir)
        defer { p.stop() }
        let cc = try CommandCenter(p)
        defer { cc.close() }
        try p.tick(t0, center: cc)
        let again = try state(p, cc)
        #expect(p.pipeline.tap?.taken == 0)
        #expect((first.incidents?.arrayValue ?? []).count >= 3)
        #expect(again.incidents == first.incidents)
        #expect(first.feed.count > 3)
        #expect(again.feed == first.feed)
    }
}
