import Foundation
import Synchronization
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting

/// The fault suite (issue 9): Tocsin's promises under SIGKILL, SIGSTOP and SIGTERM of its processes, with real
/// platform and command-center processes on loopback. Short sizes in `make test`; `TOCSIN_SOAK=full` (`make soak`)
/// runs the full ones. Figures go to `out/soak-<scenario>-<size>.json`; docs/reliability.md keeps the last ones.
@Suite(.serialized) struct FaultSoakTests {
    let size = SoakSize.current

    /// A fresh folder for one scenario, removed afterwards unless `TOCSIN_SOAK_KEEP` is set (to read the logs).
    static func folder(_ name: String) -> String {
        Fixtures.temporaryDirectory("tocsin-soak-\(name)")
    }

    static func remove(_ dir: String) {
        if ProcessInfo.processInfo.environment["TOCSIN_SOAK_KEEP"] == nil { Fixtures.removeTemporary(dir) }
    }

    /// The crash scenario's events and their fault-free feed, made once for both modes.
    static let crashFixture = Mutex<(SoakWorkload, FeedEssence)?>(nil)

    /// Seconds any one wait of a scenario may take before it counts as a hang.
    var deadline: Double { size.isFull ? 1800 : 120 }

    /// Crash: 8 platforms publish while the processes are killed with SIGKILL at random moments and restarted
    /// (`single`: `tocsin run`; `workers`: each of ingest, classify, dispatch and plan, as many times each).
    /// Nothing acknowledged is lost, nothing is journaled twice, each platform's order is kept, and the feed's
    /// warnings are those of a fault-free run, none lost or repeated.
    @Test(arguments: SoakMode.allCases)
    func crash(mode: SoakMode) throws {
        let dir = Self.folder("crash-\(mode)")
        defer { Self.remove(dir) }
        let (workload, reference) = try Self.crashFixture.withLock { cached in
            if let cached { return cached }
            let workload = SoakWorkload(perPlatform: size.crashEvents / 8, gaugeEvery: 25, tag: "c")
            let made = (workload, try referenceFeed(workload, dir: dir, timeout: deadline))
            cached = made
            return made
        }

        let d = try SoakDeployment(dir: dir + "/faults", mode: mode)
        defer { d.killAll() }
        try workload.write(to: d.dir)
        try d.startAll()
        try d.waitReady()
        var random = SoakRandom()
        // Each process dies `crashKills` times at a random point of its own work: ingest (and `tocsin run`) when
        // the journal reaches a random share of the events, classify, dispatch and plan when the feed reaches a
        // random share of the fault-free run's feed, so that they too die in the middle of their work.
        let total = workload.total
        var fronts: [(at: Double, name: String)] = []
        var backs: [(at: Double, name: String)] = []
        for name in mode.processNames {
            for _ in 0..<size.crashKills {
                let kill = (at: Double.random(in: 0.02...0.95, using: &random), name: name)
                if name == "run" || name == "ingest" { fronts.append(kill) } else { backs.append(kill) }
            }
        }
        fronts.sort { $0.at < $1.at }
        backs.sort { $0.at < $1.at }
        let scheduled = fronts.count + backs.count
        let started = ContinuousClock.now
        let platforms = try SoakPlatforms(workload, dir: d.dir, endpoint: d.ingest, window: 200, deadline: deadline)
        defer { platforms.killAll() }
        let journal = try JournalReader(path: d.journalPath)
        defer { try? journal.close() }
        var killedWhileLoaded = 0
        var feedShare = 0.0
        var feedAsked = Date.distantPast
        let end = Date().addingTimeInterval(deadline)
        while !(fronts.isEmpty && backs.isEmpty), Date() < end {
            try d.checkAlive()
            var victim: String?
            if let kill = fronts.first, Double(try journal.lastSeq()) / Double(total) >= kill.at {
                victim = fronts.removeFirst().name
            } else if let kill = backs.first {
                if Date().timeIntervalSince(feedAsked) > 0.02 {
                    feedAsked = Date()
                    let seq = (try? d.request(#"{"op":"stats"}"#, timeout: 0.5))?["seq"]?.numberValue ?? 0
                    feedShare = max(feedShare, seq / Double(reference.messageCount))
                }
                if feedShare >= kill.at { victim = backs.removeFirst().name }
            }
            guard let name = victim else {
                usleep(2_000)
                continue
            }
            usleep(UInt32.random(in: 0...20_000, using: &random))
            if platforms.running { killedWhileLoaded += 1 }
            try d.killAndRestart(name)
        }
        let results = try platforms.finish(timeout: deadline, watching: d)
        let loadSeconds = seconds(ContinuousClock.now - started)
        let seq = try d.settle(events: total, timeout: deadline)
        let feed = try d.feed()
        let stops = d.stopAll()

        let check = try JournalCheck(journalPath: d.journalPath, workload: workload, results: results)
        #expect(check.unanswered == 0 && check.rejected == 0, "unanswered \(check.unanswered), rejected \(check.rejected)")
        #expect(check.lost.isEmpty, "acknowledged but not journaled: \(check.lost.prefix(10))")
        #expect(check.duplicated.isEmpty, "journaled twice: \(check.duplicated.prefix(10))")
        #expect(check.unknown.isEmpty, "journaled but never sent: \(check.unknown.prefix(10))")
        #expect(check.disorder.isEmpty, "per-platform order broken: \(check.disorder)")
        #expect(check.rows == total)
        #expect(check.acceptedCounter == check.rows, "stats accepted \(check.acceptedCounter), journal rows \(check.rows)")
        let essence = FeedEssence(feed)
        #expect(essence.problems.isEmpty, "\(essence.problems)")
        #expect(feed.count == seq)
        #expect(essence.warningCount > 0 && essence.warningCount == reference.warningCount,
                "warnings: \(essence.warningCount), fault-free \(reference.warningCount)")
        let differences = essence.differences(from: reference)
        #expect(differences.isEmpty, "feed differs from the fault-free run: \(differences)")
        #expect(d.kills == scheduled)
        #expect(stops.allSatisfy { $0.status == 0 }, "\(stops)")

        recordFigures("crash-\(mode)", size, [
            ("seed", "\(random.seed)"), ("platforms", "\(workload.platforms.count)"), ("events", "\(total)"),
            ("kills", "\(d.kills)"), ("killsPerProcess", "\(size.crashKills)"), ("killedWhilePlatformsSent", "\(killedWhileLoaded)"),
            ("processStarts", "\(d.starts)"), ("loadSeconds", String(format: "%.1f", loadSeconds)),
            ("eventsResent", "\(check.resent)"), ("firstReplyDuplicate", "\(check.firstReplyDuplicate)"),
            ("reconnects", "\(results.reduce(0) { $0 + ($1.summary["reconnects"]?.numberValue.map(Int.init) ?? 0) })"),
            ("journalRows", "\(check.rows)"), ("lost", "\(check.lost.count)"), ("duplicated", "\(check.duplicated.count)"),
            ("orderBroken", "\(check.disorder.count)"), ("feedMessages", "\(feed.count)"),
            ("warnings", "\(essence.warningCount)"), ("tasks", "\(essence.taskCount)"),
            ("feedDifferences", "\(differences.count)"),
        ])
    }
}
