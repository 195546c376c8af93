import Foundation
import Testing
import TocsinCore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// The same workers as separate processes (`tocsin worker NAME`) over tcp, sharing the data folder.
@Suite(.serialized) struct MultiProcessTests {
    /// 60 gauges 1.1 km apart, each rising through every tier (240 warnings), a fire that grows to III, and an
    /// exercise reading.
    static func scenario() -> [[UInt8]] {
        let t0 = Timestamp(micros: (WallClock.now().micros / 1_000_000 - 1800) * 1_000_000)
        var events: [String] = []
        for step in 0..<4 {
            for g in 0..<60 {
                events.append(TestEvents.water(id: "g\(g)-\(step)", level: [2.6, 3.1, 3.6, 4.1][step],
                                               time: t0.adding(seconds: Double(step * 60)).rfc3339,
                                               lat: 22.45 + Double(g) * 0.01, lon: 114.05))
            }
        }
        for i in 0..<5 {
            events.append(TestEvents.fire(id: "f-\(i)", source: "sz.nanshan.yuehai", time: t0.adding(seconds: Double(i)).rfc3339,
                                          lat: 22.515, lon: 113.94))
        }
        events.append(TestEvents.water(id: "x-1", level: 3.2, time: t0.rfc3339, lat: 22.6, lon: 114.2, status: "exercise"))
        return events.map { Array($0.utf8) }
    }

    /// What must not depend on how the workers were deployed: the warnings in order, and the final state of
    /// every task (tasks interleave with warnings in an order that depends on timing).
    static func essence(_ messages: [JSONValue]) -> [String] {
        let warnings = messages.filter { $0["topic"]?.stringValue?.contains("/warning/") == true }
        var tasks: [String: String] = [:]
        for m in messages where m["topic"]?.stringValue?.contains("/task/") == true {
            let b = m["body"] ?? .null
            tasks[b["id"]?.stringValue ?? "?"] = "\(m["topic"]?.stringValue ?? "") \(b["state"]?.stringValue ?? "")"
        }
        return warnings.map { m in
            let b = m["body"] ?? .null
            return [m["topic"]?.stringValue, b["id"]?.stringValue, b["msgType"]?.stringValue,
                    b["tier"]?.stringValue, b["owner"]?.stringValue, b["incident"]?.stringValue,
                    b["references"]?.arrayValue.map { String($0.count) }, b["evidence"]?["events"]?.int.map(String.init)]
                .map { $0 ?? "-" }.joined(separator: " ")
        } + tasks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    }

    func waitReady(_ command: String) throws {
        let client = try WireClient(endpoint: command)
        defer { client.close() }
        try client.send(#"{"op":"stats"}"#)
        for _ in 0..<150 {
            if let r = try client.reply(timeoutMilliseconds: 200), r["ok"] == true { return }
        }
        throw PipelineError("no stats from \(command)")
    }

    /// Polls `progress` until the pipeline is idle with at least `seq` feed messages, then returns `since 0`.
    func settledFeed(_ command: String, atLeast seq: Int) throws -> [JSONValue] {
        let client = try WireClient(endpoint: command)
        defer { client.close() }
        for _ in 0..<600 {
            if let p = try client.request(#"{"op":"progress"}"#, timeoutMilliseconds: 1000),
               p["idle"] == true, (p["seq"]?.int ?? 0) >= seq {
                return try client.request(#"{"op":"since","seq":0}"#)?["messages"]?.arrayValue ?? []
            }
            usleep(50_000)
        }
        throw PipelineError("pipeline did not settle")
    }

    func publish(_ events: ArraySlice<[UInt8]>, to endpoint: String) throws {
        let client = try WireClient(endpoint: endpoint)
        defer { client.close() }
        for e in events { try client.send(e) }
        for _ in events {
            let r = try #require(try client.reply(timeoutMilliseconds: 10_000))
            #expect(r["status"] == "accepted")
        }
    }

    @Test func workerProcessesGiveTheSameFeedAsOneAndSurviveKillNine() throws {
        let events = Self.scenario()
        let expectedWarnings = 240 + 2 + 1

        // One process.
        let dirA = Fixtures.temporaryDirectory("tocsin-one")
        defer { Fixtures.removeTemporary(dirA) }
        let a = try writeTCPTestConfig(dir: dirA)
        let one = try ChildProcess(arguments: ["run", "--config", a.path, "--log-level", "error"], logPath: dirA + "/log")
        defer { one.kill(SIGKILL) }
        try waitReady(a.command)
        try publish(events[...], to: a.ingest)
        let feedA = try settledFeed(a.command, atLeast: expectedWarnings)
        one.kill(SIGTERM)
        #expect(one.wait(timeout: 5) == 0)

        // One process per worker; dispatch, classify and plan each killed with SIGKILL mid-stream and restarted.
        let dirB = Fixtures.temporaryDirectory("tocsin-three")
        defer { Fixtures.removeTemporary(dirB) }
        let b = try writeTCPTestConfig(dir: dirB)
        func worker(_ name: String) throws -> ChildProcess {
            try ChildProcess(arguments: ["worker", name, "--config", b.path, "--log-level", "error"],
                             logPath: dirB + "/\(name).log")
        }
        let ingest = try worker("ingest")
        var classify = try worker("classify")
        var dispatch = try worker("dispatch")
        var plan = try worker("plan")
        defer {
            for p in [ingest, classify, dispatch, plan] { p.kill(SIGKILL) }
        }
        try waitReady(b.command)
        try publish(events[..<100], to: b.ingest)
        dispatch.kill(SIGKILL)
        _ = dispatch.wait(timeout: 5)
        try publish(events[100..<180], to: b.ingest)
        dispatch = try worker("dispatch")
        try waitReady(b.command)
        classify.kill(SIGKILL)
        _ = classify.wait(timeout: 5)
        try publish(events[180..<240], to: b.ingest)
        classify = try worker("classify")
        plan.kill(SIGKILL)
        _ = plan.wait(timeout: 5)
        try publish(events[240...], to: b.ingest)
        plan = try worker("plan")
        let feedB = try settledFeed(b.command, atLeast: expectedWarnings)

        func warningCount(_ feed: [JSONValue]) -> Int {
            feed.filter { $0["topic"]?.stringValue?.contains("/warning/") == true }.count
        }
        #expect(warningCount(feedA) == expectedWarnings)
        #expect(warningCount(feedB) == expectedWarnings)
        #expect(feedB.count > expectedWarnings)  // the plans' tasks
        let (ea, eb) = (Self.essence(feedA), Self.essence(feedB))
        #expect(ea == eb, "only one process: \(Set(ea).subtracting(eb).sorted().prefix(10)); only several: \(Set(eb).subtracting(ea).sorted().prefix(10))")
        // No message lost or repeated: seq runs 1...N, warning ids unique.
        #expect(feedB.compactMap { $0["body"]?["seq"]?.int } == Array(1...feedB.count))
        #expect(Set(feedB.compactMap { m in m["topic"]?.stringValue?.contains("/warning/") == true ? m["body"]?["id"]?.stringValue : nil }).count
                == expectedWarnings)
        #expect(!feedB.contains { ($0["topic"]?.stringValue ?? "").hasPrefix("actual/") && $0["body"]?["status"] != "actual" })
        for p in [ingest, classify, dispatch, plan] { p.kill(SIGTERM) }
        for p in [ingest, classify, dispatch, plan] { #expect(p.wait(timeout: 5) == 0) }
    }

    /// SIGTERM while a worker cannot start yet (its endpoint still taken, as right after a kill) stops it at once
    /// with status 0; before, the signal's default action ended it with status 15 (found by the crash soak, which
    /// stopped a worker it had just restarted).
    @Test func aWorkerStoppedBeforeItCouldStartExitsCleanly() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-early-stop")
        defer { Fixtures.removeTemporary(dir) }
        let config = try writeTCPTestConfig(dir: dir)
        let context = try Context(ioThreads: 1)
        defer {
            context.shutdown()
            context.terminate()
        }
        let squatter = try context.makeSocket(.router)
        defer { squatter.close() }
        try squatter.bind(config.ingest)
        let ingest = try ChildProcess(arguments: ["worker", "ingest", "--config", config.path, "--log-level", "warning"],
                                      logPath: dir + "/ingest.log")
        defer { ingest.kill(SIGKILL) }
        let deadline = Date().addingTimeInterval(20)
        while !ingest.log.contains("cannot start yet") && ingest.process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(ingest.log.contains("cannot start yet (attempt 1 of 10)"), "\(ingest.log)")
        let sent = Date()
        ingest.kill(SIGTERM)
        #expect(ingest.wait(timeout: 5) == 0, "\(ingest.log)")
        #expect(Date().timeIntervalSince(sent) < 3)
    }
}
