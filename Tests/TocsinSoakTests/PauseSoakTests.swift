import Foundation
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting

extension FaultSoakTests {
    /// Pause: one worker process at a time is stopped with SIGSTOP and continued with SIGCONT (ingest every other
    /// time, then classify, dispatch and plan in turn) while 8 platforms publish at a steady rate. During an ingest
    /// pause nothing is journaled and the platforms time out and resend; afterwards every event is journaled
    /// exactly once, in each platform's order, and the feed is that of a fault-free run.
    @Test func pause() throws {
        let dir = Self.folder("pause")
        defer { Self.remove(dir) }
        let workload = SoakWorkload(perPlatform: size.pauseEvents / 8, gaugeEvery: 25, tag: "s")
        let reference = try referenceFeed(workload, dir: dir, timeout: deadline)

        let d = try SoakDeployment(dir: dir + "/faults", mode: .workers)
        defer { d.killAll() }
        try workload.write(to: d.dir)
        try d.startAll()
        try d.waitReady()
        let gap = size.isFull ? 3.0 : 1.5
        let turns = ["ingest", "classify", "ingest", "dispatch", "ingest", "plan"]
        let victims = (0..<size.pauses).map { turns[$0 % turns.count] }
        // Load through the whole schedule and a little after.
        let duration = Double(size.pauses) * (size.pauseSeconds + gap) + 2 * gap
        let rate = Double(size.pauseEvents / 8) / duration
        let platforms = try SoakPlatforms(workload, dir: d.dir, endpoint: d.ingest, window: 100, timeout: 1,
                                          maxTimeout: 4, rate: rate, deadline: deadline)
        defer { platforms.killAll() }
        let journal = try JournalReader(path: d.journalPath)
        defer { try? journal.close() }
        var journaledWhileIngestPaused = 0
        var pausedUnderLoad = 0
        for victim in victims {
            usleep(UInt32(gap * 1_000_000))
            d.signal(victim, SIGSTOP)
            usleep(100_000)
            let before = try journal.lastSeq()
            usleep(UInt32(size.pauseSeconds * 1_000_000) - 100_000)
            let after = try journal.lastSeq()
            if platforms.running { pausedUnderLoad += 1 }
            d.signal(victim, SIGCONT)
            if victim == "ingest" { journaledWhileIngestPaused += Int(after - before) }
        }
        let results = try platforms.finish(timeout: deadline, watching: d)
        let seq = try d.settle(events: workload.total, timeout: deadline)
        let feed = try d.feed()
        let stops = d.stopAll()

        let check = try JournalCheck(journalPath: d.journalPath, workload: workload, results: results)
        #expect(pausedUnderLoad == victims.count, "the platforms finished before the pauses did")
        // The pauses bit: ingest journaled nothing while stopped, and the platforms timed out and resent.
        #expect(journaledWhileIngestPaused == 0)
        #expect(check.resent > 0, "no platform timed out and resent")
        #expect(check.unanswered == 0 && check.rejected == 0, "unanswered \(check.unanswered), rejected \(check.rejected)")
        #expect(check.lost.isEmpty, "acknowledged but not journaled: \(check.lost.prefix(10))")
        #expect(check.duplicated.isEmpty, "journaled twice: \(check.duplicated.prefix(10))")
        #expect(check.unknown.isEmpty, "journaled but never sent: \(check.unknown.prefix(10))")
        #expect(check.disorder.isEmpty, "per-platform order broken: \(check.disorder)")
        #expect(check.rows == workload.total)
        let essence = FeedEssence(feed)
        #expect(essence.problems.isEmpty, "\(essence.problems)")
        #expect(feed.count == seq)
        #expect(essence.warningCount > 0 && essence.warningCount == reference.warningCount)
        let differences = essence.differences(from: reference)
        #expect(differences.isEmpty, "feed differs from the fault-free run: \(differences)")
        #expect(stops.allSatisfy { $0.status == 0 }, "\(stops)")

        recordFigures("pause", size, [
            ("platforms", "\(workload.platforms.count)"), ("events", "\(workload.total)"),
            ("pauses", "\(victims.count)"), ("pauseSeconds", "\(size.pauseSeconds)"),
            ("paused", victims.joined(separator: ",")), ("ratePerPlatform", String(format: "%.0f", rate)),
            ("eventsResent", "\(check.resent)"), ("firstReplyDuplicate", "\(check.firstReplyDuplicate)"),
            ("reconnects", "\(results.reduce(0) { $0 + ($1.summary["reconnects"]?.numberValue.map(Int.init) ?? 0) })"),
            ("journaledWhileIngestPaused", "\(journaledWhileIngestPaused)"),
            ("journalRows", "\(check.rows)"), ("lost", "\(check.lost.count)"), ("duplicated", "\(check.duplicated.count)"),
            ("orderBroken", "\(check.disorder.count)"), ("feedMessages", "\(feed.count)"),
            ("warnings", "\(essence.warningCount)"), ("feedDifferences", "\(differences.count)"),
        ])
    }
}
