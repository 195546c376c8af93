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

    static func publish(_ tap: JournalTap, _ seqs: ClosedRange<Int64>) {
        tap.publish(first: seqs.lowerBound, seqs.map { event(Int($0)) })
    }

    /// The sequence numbers `take` hands over (from its first and the events' count), checking each event is
    /// the one published under its number.
    static func take(_ tap: JournalTap, after seq: Int64, limit: Int) -> [Int64]? {
        guard let (first, events) = tap.take(after: seq, limit: limit) else { return nil }
        let seqs = (0..<Int64(events.count)).map { first + $0 }
        #expect(events.map(\.id) == seqs.map { "e\($0)" })
        return seqs
    }

    @Test func handsOverTheEventsAfterAnOffsetOnly() {
        let tap = JournalTap(capacity: 100)
        #expect(Self.take(tap, after: 0, limit: 10) == nil)
        Self.publish(tap, 1...5)
        Self.publish(tap, 6...8)
        #expect(Self.take(tap, after: 0, limit: 3) == [1, 2, 3])
        // One run at a time.
        #expect(Self.take(tap, after: 3, limit: 10) == [4, 5])
        #expect(Self.take(tap, after: 5, limit: 10) == [6, 7, 8])
        #expect(Self.take(tap, after: 8, limit: 10) == nil)  // emptied
        Self.publish(tap, 9...12)
        // An offset inside a run: what comes after it (classify read the rest from the journal).
        #expect(Self.take(tap, after: 10, limit: 10) == [11, 12])
        Self.publish(tap, 13...14)
        // An offset before the runs held: the tap cannot say what lies between; classify reads the journal.
        #expect(Self.take(tap, after: 11, limit: 10) == nil)
        #expect(Self.take(tap, after: 12, limit: 10) == [13, 14])
        // An offset past a run drops it.
        Self.publish(tap, 15...20)
        #expect(Self.take(tap, after: 20, limit: 10) == nil)
        #expect(tap.taken == 3 + 2 + 3 + 2 + 2 && tap.missed == 4)
    }

    @Test func aRunThatDoesNotContinueReplacesAndTheOldestGoPastTheCapacity() {
        let tap = JournalTap(capacity: 4)
        Self.publish(tap, 1...3)
        Self.publish(tap, 10...11)  // not after 3: a new run
        #expect(Self.take(tap, after: 0, limit: 10) == nil)
        #expect(Self.take(tap, after: 9, limit: 10) == [10, 11])
        Self.publish(tap, 12...13)
        Self.publish(tap, 14...15)
        Self.publish(tap, 16...17)  // six held: the oldest run goes
        #expect(Self.take(tap, after: 11, limit: 10) == nil)
        #expect(Self.take(tap, after: 13, limit: 10) == [14, 15])
        for k in stride(from: 18, to: 1000, by: 3) { Self.publish(tap, Int64(k)...Int64(k + 2)) }
        // (the last run: 999...1001; the one before it, 996...998, went past the capacity)
        #expect(Self.take(tap, after: 995, limit: 10) == nil)
        #expect(Self.take(tap, after: 998, limit: 2) == [999, 1000])
        #expect(Self.take(tap, after: 1000, limit: 2) == [1001])
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
