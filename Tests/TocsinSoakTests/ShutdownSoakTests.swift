import Foundation
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting

extension FaultSoakTests {
    /// Shutdown: Tocsin is started, loaded and stopped with SIGTERM again and again, on one data folder, in turn as
    /// one `tocsin run` and as four worker processes (all four signalled at once). Every process exits with status
    /// 0 within 2 s, and at the end every event a platform was told about is journaled exactly once, in order, and
    /// the feed is that of a fault-free run.
    @Test func shutdown() throws {
        let dir = Self.folder("shutdown")
        defer { Self.remove(dir) }
        let workload = SoakWorkload(perPlatform: size.shutdownEvents / 8, gaugeEvery: 25, tag: "t")
        let reference = try referenceFeed(workload, dir: dir, timeout: deadline)

        let d = try SoakDeployment(dir: dir + "/faults", mode: .single)
        defer { d.killAll() }
        try workload.write(to: d.dir)
        var random = SoakRandom()
        // About 2 s per life (start, 0.4-1 s of load, stop); the load lasts through them all.
        let rate = Double(size.shutdownEvents / 8) / (Double(size.shutdowns) * 2.0)
        let platforms = try SoakPlatforms(workload, dir: d.dir, endpoint: d.ingest, window: 100, timeout: 0.25,
                                          maxTimeout: 0.5, rate: rate, deadline: deadline)
        defer { platforms.killAll() }
        var exits: [(name: String, status: Int32?, seconds: Double)] = []
        var journaledPerLife: [Int] = []
        var journal: JournalReader?
        defer { try? journal?.close() }
        for round in 0..<size.shutdowns {
            try d.startAll(round % 2 == 0 ? .single : .workers)
            try d.waitReady()
            if journal == nil { journal = try JournalReader(path: d.journalPath) }
            // Under load: once ingest journals again (the platforms reconnect after their time-out), SIGTERM comes
            // 0.4-1 s later, and events must have been journaled in between.
            let life = try journal?.lastSeq() ?? 0
            let end = Date().addingTimeInterval(30)
            while try (journal?.lastSeq() ?? 0) == life, platforms.running, Date() < end {
                try d.checkAlive()
                usleep(5_000)
            }
            let before = try journal?.lastSeq() ?? 0
            usleep(UInt32.random(in: 400_000...1_000_000, using: &random))
            let stops = d.stopAll(timeout: 5)
            exits += stops
            journaledPerLife.append(Int(try journal?.lastSeq() ?? 0) - Int(before))
        }
        try d.startAll(.single)
        let results = try platforms.finish(timeout: deadline, watching: d)
        let seq = try d.settle(events: workload.total, timeout: deadline)
        let feed = try d.feed()
        exits += d.stopAll()

        let slow = exits.filter { $0.status != 0 || $0.seconds > 2 }
        #expect(slow.isEmpty, "not a clean exit within 2 s: \(slow.prefix(10))")
        #expect(journaledPerLife.allSatisfy { $0 > 0 }, "a SIGTERM without load: events journaled before each \(journaledPerLife)")
        let check = try JournalCheck(journalPath: d.journalPath, workload: workload, results: results)
        #expect(check.unanswered == 0 && check.rejected == 0, "unanswered \(check.unanswered), rejected \(check.rejected)")
        #expect(check.lost.isEmpty, "acknowledged but not journaled: \(check.lost.prefix(10))")
        #expect(check.duplicated.isEmpty, "journaled twice: \(check.duplicated.prefix(10))")
        #expect(check.unknown.isEmpty, "journaled but never sent: \(check.unknown.prefix(10))")
        #expect(check.disorder.isEmpty, "per-platform order broken: \(check.disorder)")
        #expect(check.rows == workload.total)
        let essence = FeedEssence(feed)
        #expect(essence.problems.isEmpty, "\(essence.problems)")
        #expect(feed.count == seq)
        let differences = essence.differences(from: reference)
        #expect(essence.warningCount > 0 && essence.warningCount == reference.warningCount)
        #expect(differences.isEmpty, "feed differs from the fault-free run: \(differences)")

        let times = exits.map(\.seconds).sorted()
        recordFigures("shutdown", size, [
            ("seed", "\(random.seed)"), ("sigterms", "\(size.shutdowns)"), ("processExits", "\(exits.count)"),
            ("exitMedianSeconds", String(format: "%.3f", times[times.count / 2])),
            ("exitMaxSeconds", String(format: "%.3f", times.last ?? 0)),
            ("uncleanOrSlow", "\(slow.count)"), ("events", "\(workload.total)"),
            ("journaledBeforeSigtermMin", "\(journaledPerLife.min() ?? 0)"),
            ("eventsResent", "\(check.resent)"), ("journalRows", "\(check.rows)"), ("lost", "\(check.lost.count)"),
            ("duplicated", "\(check.duplicated.count)"), ("orderBroken", "\(check.disorder.count)"),
            ("feedMessages", "\(feed.count)"), ("warnings", "\(essence.warningCount)"),
            ("feedDifferences", "\(differences.count)"),
        ])
    }
}
