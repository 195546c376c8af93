import Foundation
import Testing
import TocsinCore
import TocsinTesting

extension FaultSoakTests {
    /// A command center of the subscriber scenario.
    struct Center {
        var prefix: String
        var delay = 0
        var fault: Fault = .none
        enum Fault { case none, paused, killed }
    }

    static let centers: [Center] = [
        Center(prefix: "actual/warning/city/sz.", fault: .paused),
        Center(prefix: "actual/warning/district/sz.futian.", fault: .killed),
        Center(prefix: ""),
        Center(prefix: "actual/warning/district/sz.nanshan."),
        Center(prefix: "actual/warning/district/sz.baoan."),
        Center(prefix: "actual/warning/street/sz.futian."),
        Center(prefix: "actual/warning/street/sz.longgang."),
        Center(prefix: "actual/warning/city/sz.futian.", delay: 10),
        Center(prefix: "actual/task/city/sz.", fault: .killed),
        Center(prefix: "actual/task/district/sz.yantian."),
        Center(prefix: "actual/task/street/sz.pingshan."),
        Center(prefix: "actual/", fault: .paused),
    ]

    /// Subscribers: 12 command centers follow the feed through a burst of warnings and tasks; two are paused, two
    /// are killed and restarted, one takes 10 ms per message, and dispatch (which owns the feed) is killed and
    /// restarted in the middle. Each ends with exactly the feed's messages for its prefix, in `seq` order, once
    /// each: what the live feed did not bring, `since` did.
    @Test func subscribers() throws {
        let dir = Self.folder("subscribers")
        defer { Self.remove(dir) }
        let gauges = size.burstMessages / SoakWorkload.messagesPerGauge
        let workload = SoakWorkload(perPlatform: gauges * 4 / 8, gaugeEvery: 1, tag: "b")
        let d = try SoakDeployment(dir: dir, mode: .workers)
        defer { d.killAll() }
        try workload.write(to: d.dir)
        try d.startAll()
        try d.waitReady()

        var lives = Array(repeating: 0, count: Self.centers.count)
        func start(_ n: Int) throws -> ChildProcess {
            lives[n] += 1
            let c = Self.centers[n]
            return try ChildProcess(
                executable: soakBinary("tocsin-soak"),
                arguments: ["subscriber", "--feed", d.feed, "--command", d.command, "--prefix", c.prefix,
                            "--output", dir + "/center-\(n).lines", "--delay", "\(c.delay)", "--deadline", "\(deadline)"],
                logPath: dir + "/center-\(n)-\(lives[n]).log")
        }
        var centers = try Self.centers.indices.map { try start($0) }
        defer { for c in centers { c.kill(SIGCONT); c.kill(SIGKILL) } }
        usleep(500_000)

        let rate = Double(workload.platforms[0].lines.count) / size.burstSeconds
        let platforms = try SoakPlatforms(workload, dir: d.dir, endpoint: d.ingest, window: 200, rate: rate,
                                          deadline: deadline)
        defer { platforms.killAll() }
        // The faults, at moments of the burst: pause two centers, kill two, continue the paused ones, start the
        // killed ones again, kill and restart dispatch (which owns the feed).
        let paused = Self.centers.indices.filter { Self.centers[$0].fault == .paused }
        let killed = Self.centers.indices.filter { Self.centers[$0].fault == .killed }
        let burst = size.burstSeconds
        let plan: [(at: Double, what: String)] = [
            (burst * 0.1, "pause"), (burst * 0.2, "kill"), (burst * 0.1 + size.subscriberPauseSeconds, "continue"),
            (burst * 0.5, "restart"), (burst * 0.7, "dispatch"),
        ].sorted { $0.at < $1.at }
        let started = Date()
        var seqAtFault: [String] = []
        for fault in plan {
            let wait = fault.at - Date().timeIntervalSince(started)
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            switch fault.what {
            case "pause": for n in paused { centers[n].kill(SIGSTOP) }
            case "kill":
                for n in killed {
                    centers[n].kill(SIGKILL)
                    _ = centers[n].wait(timeout: 5)
                }
            case "continue": for n in paused { centers[n].kill(SIGCONT) }
            case "restart": for n in killed { centers[n] = try start(n) }
            default: try d.killAndRestart("dispatch")
            }
            let seq = (try? d.request(#"{"op":"stats"}"#, timeout: 1))?["seq"]?.numberValue.map(Int.init)
            seqAtFault.append("\(fault.what)@\(seq.map(String.init) ?? "-")")
        }
        let underLoad = platforms.running
        #expect(underLoad, "the burst was over before the last fault")
        let results = try platforms.finish(timeout: deadline, watching: d)
        #expect(results.allSatisfy { $0.statuses.allSatisfy { $0 == "accepted" } })
        let seq = try d.settle(events: workload.total, timeout: deadline)
        let feed = try d.feed()
        #expect(feed.count == seq)
        #expect(seq >= size.burstMessages * 9 / 10, "the burst was \(seq) messages, not about \(size.burstMessages)")
        let essence = FeedEssence(feed)
        #expect(essence.problems.isEmpty, "\(essence.problems)")

        // Each center has caught up when its last line is its prefix's last message; then it is stopped.
        let expected = Self.centers.map { c in
            feed.filter { $0.topic.hasPrefix(c.prefix) }.compactMap { SoakFeedLine(topic: $0.topic, body: $0.body)?.text }
        }
        let end = Date().addingTimeInterval(deadline)
        for (n, lines) in expected.enumerated() {
            #expect(!lines.isEmpty, "no message for \(Self.centers[n].prefix): the burst does not reach it")
            let last = lines.last ?? ""
            while Date() < end, Self.lastLine(dir + "/center-\(n).lines") != last, centers[n].process.isRunning {
                usleep(50_000)
            }
        }
        var counts: [JSONValue] = []
        for (n, c) in centers.enumerated() {
            c.kill(SIGTERM)
            #expect(c.wait(timeout: 10) == 0, "center \(n) did not stop cleanly: \(c.log.suffix(400))")
            let summary = c.log.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
            counts.append((try? JSONValue.parse(summary)) ?? .null)
            let got = ((try? String(contentsOfFile: dir + "/center-\(n).lines", encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
            let want = expected[n]
            if got != want {
                let i = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
                Issue.record("""
                    center \(n) (\(Self.centers[n].prefix)): \(got.count) messages, the feed has \(want.count); \
                    first difference at line \(i + 1): got \(i < got.count ? got[i] : "nothing"), \
                    feed \(i < want.count ? want[i] : "nothing")
                    """)
            }
        }
        _ = d.stopAll()

        func total(_ key: String) -> Int { counts.reduce(0) { $0 + Int($1[key]?.numberValue ?? 0) } }
        recordFigures("subscribers", size, [
            ("centers", "\(centers.count)"), ("events", "\(workload.total)"), ("feedMessages", "\(feed.count)"),
            ("warnings", "\(essence.warningCount)"), ("tasks", "\(essence.taskCount)"),
            ("paused", "\(paused.count)"), ("pauseSeconds", "\(size.subscriberPauseSeconds)"),
            ("killedAndRestarted", "\(killed.count)"), ("dispatchKilled", "1"), ("slowMsPerMessage", "10"),
            ("slowCenterMessages", "\(expected[7].count)"), ("faultsAtFeedSeq", seqAtFault.joined(separator: ",")),
            ("messagesDelivered", "\(expected.reduce(0) { $0 + $1.count })"),
            ("deliveredLive", "\(total("live"))"), ("deliveredThroughSince", "\(total("repaired"))"),
            ("liveDuplicatesDropped", "\(total("duplicates"))"), ("sinceCalls", "\(total("sinceCalls"))"),
            ("resumedAfterRestart", "\(total("resumed"))"),
            ("perCenter", zip(Self.centers, counts).map { c, n in
                "\(c.prefix.isEmpty ? "(all)" : c.prefix) live \(Int(n["live"]?.numberValue ?? 0)) since \(Int(n["repaired"]?.numberValue ?? 0))"
                    + (c.fault == .killed ? " resumed \(Int(n["resumed"]?.numberValue ?? 0))" : "")
            }.joined(separator: "; ")),
        ])
    }

    static func lastLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").last.map(String.init)
    }
}
