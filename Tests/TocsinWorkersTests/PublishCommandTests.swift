import Foundation
import Testing
import TocsinCore
import TocsinTesting
import TocsinWorkers

/// `tocsin publish` against a running pipeline: pipelined sending, one reply per event, a summary that
/// groups rejections, and the exit status.
@Suite(.serialized) struct PublishCommandTests {
    @Test func publishesAFileAndSummarisesEveryOutcome() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let time = WallClock.now().rfc3339
        var lines = (0..<500).map { TestEvents.water(id: "pub-\($0)", time: time) }
        lines += (0..<3).map { TestEvents.water(id: "pub-\($0)", time: time) }  // duplicates
        lines.append(#"{"id":"bad-1","source":"sz.futian","kind":"sensor","type":"water_level","time":"\#(time)","location":{"lat":22.5,"lon":114.0},"values":{"level_m":"high"}}"#)
        lines.append(#"{"id":"bad-2","source":"sz.futian","kind":"sensor","type":"water_level","time":"\#(time)","location":{"lat":22.5,"lon":114.0},"values":{"level_m":"low"}}"#)
        lines.append("not json at all")
        let file = p.dir + "/events.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let child = try ChildProcess(arguments: ["publish", "--endpoint", p.config.endpoints.ingest, "--file", file, "--quiet"],
                                     logPath: p.dir + "/publish.log")
        #expect(child.wait(timeout: 60) == 1)  // some rejected
        let out = child.log
        #expect(out.contains("506 events"), "\(out)")
        #expect(out.contains("500 accepted, 3 duplicate, 3 rejected, 0 unanswered"), "\(out)")
        // The two bad values are one reason, with the value left out.
        #expect(out.contains("       2  values.level_m: expected a number, got \"…\""), "\(out)")
    }

    @Test func publishesOneEventFromFlags() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let child = try ChildProcess(arguments: [
            "publish", "--endpoint", p.config.endpoints.ingest, "--type", "report.fire", "--source", "sz.futian.shatou",
            "--lat", "22.5277", "--lon", "114.025", "--value", "injured=2", "--text", "smoke", "--quiet",
        ], logPath: p.dir + "/publish.log")
        #expect(child.wait(timeout: 30) == 0, "\(child.log)")
        #expect(child.log.contains("1 accepted"))
        let command = try p.commandClient()
        defer { command.close() }
        #expect(try command.request(#"{"op":"stats"}"#)?["events"]?["accepted"]?.int == 1)
    }

    @Test func unansweredEventsAreResentThenReported() throws {
        // Nobody listens: every event is resent, then reported unanswered, exit status 3.
        let dir = Fixtures.temporaryDirectory("tocsin-publish")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: [
            "publish", "--endpoint", "ipc://\(dir)/nobody", "--type", "water_level", "--source", "sz.futian",
            "--lat", "22.5", "--lon", "114.0", "--value", "level_m=2", "--timeout", "0.2", "--retries", "2", "--quiet",
        ], logPath: dir + "/publish.log")
        #expect(child.wait(timeout: 30) == 3, "\(child.log)")
        #expect(child.log.contains("1 unanswered"))
        #expect(child.log.contains("2 resent"))
    }
}
