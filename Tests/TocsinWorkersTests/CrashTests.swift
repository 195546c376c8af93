import Foundation
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// `tocsin run` as a child process: killed with SIGKILL mid-stream, nothing it acknowledged is lost.
@Suite(.serialized) struct CrashTests {
    func startTocsin(_ config: String, dir: String) throws -> ChildProcess {
        let child = try ChildProcess(arguments: ["run", "--config", config, "--log-level", "error"],
                                     logPath: dir + "/tocsin.log")
        // Ready when `stats` answers.
        let command = try WireClient(endpoint: "ipc://\(dir)/command")
        defer { command.close() }
        try command.send(#"{"op":"stats"}"#)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let reply = try command.reply(timeoutMilliseconds: 200), reply["ok"] == true { return child }
            if !child.process.isRunning { break }
        }
        child.kill(SIGKILL)
        Issue.record("tocsin did not become ready: \(child.log)")
        throw PipelineError("not ready")
    }

    @Test func killNineLosesNothingAcknowledged() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-crash")
        defer { Fixtures.removeTemporary(dir) }
        let config = try writeTestConfig(dir: dir)
        let total = 20_000
        let time = WallClock.now().rfc3339
        let events = (0..<total).map { Array(TestEvents.water(id: "k-\($0)", level: 1.0, time: time).utf8) }

        // First life: pipeline everything, SIGKILL after about 5,000 acknowledgements.
        var acked = Set<String>()
        do {
            let child = try startTocsin(config, dir: dir)
            let client = try WireClient(endpoint: "ipc://\(dir)/ingest")
            defer { client.close() }
            var next = 0
            var killed = false
            while !killed {
                while next < total && next - acked.count < 2000 {
                    try client.send(events[next])
                    next += 1
                }
                guard let reply = try client.reply(timeoutMilliseconds: 5000) else { break }
                if reply["status"] == "accepted", let id = reply["id"]?.stringValue { acked.insert(id) }
                if acked.count >= 5000 {
                    child.kill(SIGKILL)
                    killed = true
                }
            }
            #expect(killed)
            #expect(child.wait(timeout: 5) != nil)
            // Acks that were already on their way before the kill count too.
            while let reply = try client.reply(timeoutMilliseconds: 100) {
                if reply["status"] == "accepted", let id = reply["id"]?.stringValue { acked.insert(id) }
            }
        }
        #expect(acked.count >= 5000)
        #expect(acked.count < total)

        // Second life on the same data folder: resend all 20,000.
        let child = try startTocsin(config, dir: dir)
        let client = try WireClient(endpoint: "ipc://\(dir)/ingest")
        var statuses: [String: String] = [:]
        var next = 0
        while statuses.count < total {
            while next < total && next - statuses.count < 2000 {
                try client.send(events[next])
                next += 1
            }
            guard let reply = try client.reply(timeoutMilliseconds: 10_000) else { break }
            if let id = reply["id"]?.stringValue, let status = reply["status"]?.stringValue { statuses[id] = status }
        }
        client.close()
        #expect(statuses.count == total)
        let lostAcks = acked.filter { statuses[$0] != "duplicate" }
        #expect(lostAcks.isEmpty, "acknowledged before the kill but not in the journal: \(lostAcks.prefix(5))")
        #expect(statuses.values.allSatisfy { $0 == "accepted" || $0 == "duplicate" })

        // SIGTERM stops it cleanly, within 2 s, with incidents still being worked through.
        let stopping = ContinuousClock.now
        child.kill(SIGTERM)
        #expect(child.wait(timeout: 5) == 0)
        #expect(ContinuousClock.now - stopping < .seconds(2))

        // The journal holds each id exactly once.
        let journal = try SQLiteJournal(path: dir + "/data/journal.sqlite")
        defer { try? journal.close() }
        let records = try journal.read(after: 0, limit: total * 2)
        #expect(records.count == total)
        #expect(Set(records.map(\.eventID)).count == total)
        #expect(records.map(\.seq) == (1...Int64(total)).map { $0 })
    }
}
