import Foundation
import Testing
import TocsinCore
import TocsinTesting
import TocsinWorkers

/// Incidents and warnings end to end: events in at the ingest endpoint, warnings out on the feed, queries
/// and acknowledgements on the command endpoint, time driven by a virtual clock.
@Suite(.serialized) struct IncidentWireTests {
    /// An hour ago, whole seconds: recent enough for ingest, far enough that ticks stay in the past.
    let t0 = Timestamp(micros: (WallClock.now().micros / 1_000_000 - 3600) * 1_000_000)

    func at(_ seconds: Double) -> String { t0.adding(seconds: seconds).rfc3339 }

    @Test func risingGaugeGivesAlertThenUpdatesUpToCityAndSinceReplaysTheFeed() throws {
        let p = try TestPipeline(liveClock: false)
        defer { p.stop() }
        let cc = try CommandCenter(p, subscribe: "actual/warning/")
        defer { cc.close() }
        let platform = try p.client()
        defer { platform.close() }
        try p.tick(t0, center: cc)
        for (i, level) in [2.6, 3.1, 3.6, 4.1].enumerated() {
            let r = try #require(try platform.request(TestEvents.water(id: "g-\(i)", level: level, time: at(Double(i) * 60))))
            #expect(r["status"] == "accepted")
            try cc.waitIdle()
        }
        let seen = try cc.received()
        #expect(seen.map(\.topic) == [
            "actual/warning/street/sz.futian.shatou.", "actual/warning/district/sz.futian.shatou.",
            "actual/warning/city/sz.futian.shatou.", "actual/warning/city/sz.futian.shatou.",
        ])
        let bodies = seen.map(\.body)
        #expect(bodies.map { $0["msgType"]?.stringValue } == ["alert", "update", "update", "update"])
        #expect(bodies.map { $0["tier"]?.stringValue } == ["IV", "III", "II", "I"])
        #expect(bodies.map { $0["color"]?.stringValue } == ["blue", "yellow", "orange", "red"])
        #expect(bodies.map { $0["owner"]?.stringValue } == ["sz.futian.shatou", "sz.futian", "sz", "sz"])
        #expect(Set(bodies.compactMap { $0["incident"]?.stringValue }).count == 1)
        let ids = bodies.compactMap { $0["id"]?.stringValue }
        for (i, b) in bodies.enumerated() {
            #expect(b["references"] == .array(ids.prefix(i).map { .string($0) }))
            #expect(b["escalated"] == false)
            #expect(b["event"] == "flood")
            #expect(b["category"] == "natural_disaster")
            #expect(b["capCategory"] == ["Met"])
        }
        let seqs = bodies.compactMap { $0["seq"]?.int }
        #expect(seqs.count == 4 && seqs.first == 1 && zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 })
        #expect(bodies.last?["evidence"]?["events"]?.int == 4)
        #expect(bodies.last?["evidence"]?["sample"] == ["g-0", "g-1", "g-2", "g-3"])

        // `since 0` returns exactly what the subscriber saw; a prefix filters it.
        let since = try cc.request(#"{"op":"since","seq":0,"prefix":"actual/warning/"}"#)
        let messages = since["messages"]?.arrayValue ?? []
        #expect(messages.map { $0["topic"]?.stringValue ?? "" } == seen.map(\.topic))
        #expect(messages.map { $0["body"] ?? .null } == bodies)
        // The feed also carries the flood plan's tasks, numbered in the same sequence.
        let everything = try cc.request(#"{"op":"since","seq":0}"#)
        let all = everything["messages"]?.arrayValue ?? []
        #expect(all.compactMap { $0["body"]?["seq"]?.int } == Array(1...all.count))
        #expect(all.contains { $0["topic"]?.stringValue?.hasPrefix("actual/task/") == true })
        #expect(everything["last"]?.int == all.count)
        let district = try cc.request(#"{"op":"since","seq":0,"prefix":"actual/warning/district/sz.futian."}"#)
        #expect(district["messages"]?.arrayValue?.count == 1)
        let later = try cc.request(#"{"op":"since","seq":\#(seqs[1]),"prefix":"actual/warning/"}"#)
        #expect(later["messages"]?.arrayValue?.compactMap { $0["body"]?["seq"]?.int } == Array(seqs[2...]))

        // `active` shows the latest warning of the open incident.
        let active = try cc.request(#"{"op":"active"}"#)
        #expect(active["warnings"]?.arrayValue?.map { $0["id"] } == [.string(ids[3])])
        #expect((active["tasks"]?.arrayValue?.count ?? 0) > 0)
        let stats = try cc.request(#"{"op":"stats"}"#)
        #expect(stats["warnings"]?.int == 4)
        #expect(stats["seq"]?.int == all.count)
        #expect(stats["tasks"]?.int == all.count - 4)
        #expect(stats["events"]?["accepted"]?.int == 4)
    }

    @Test func unacknowledgedStreetWarningEscalatesAfterFiveMinutesAcknowledgedOneDoesNot() throws {
        let p = try TestPipeline(liveClock: false)
        defer { p.stop() }
        let cc = try CommandCenter(p, subscribe: "actual/warning/")
        defer { cc.close() }
        let platform = try p.client()
        defer { platform.close() }
        try p.tick(t0, center: cc)
        // Two fires 5 km apart: two incidents, two street warnings (tier IV).
        #expect(try platform.request(TestEvents.fire(id: "f-1", time: at(0)))?["status"] == "accepted")
        #expect(try platform.request(TestEvents.fire(id: "f-2", source: "sz.nanshan.yuehai", time: at(0),
                                                    lat: 22.515, lon: 113.94))?["status"] == "accepted")
        try cc.waitIdle()
        let alerts = try cc.received()
        #expect(alerts.count == 2)
        let shatou = try #require(alerts.first { $0.topic == "actual/warning/street/sz.futian.shatou." }?.body)
        let yuehai = try #require(alerts.first { $0.topic == "actual/warning/street/sz.nanshan.yuehai." }?.body)

        // The wrong area cannot acknowledge; the owner's district can.
        let wrong = try cc.request(#"{"op":"ack","warning":"\#(yuehai["id"]!.stringValue!)","by":"sz.futian"}"#)
        #expect(wrong["ok"] == false)
        #expect(wrong["error"]?.stringValue?.contains("does not own") == true)
        let ack = try cc.request(#"{"op":"ack","warning":"\#(yuehai["id"]!.stringValue!)","by":"sz.nanshan"}"#)
        #expect(ack["ok"] == true)
        #expect(ack["warning"]?["acknowledgedBy"] == "sz.nanshan")
        let unknown = try cc.request(#"{"op":"ack","warning":"w-999","by":"sz"}"#)
        #expect(unknown["error"] == "unknown warning \"w-999\"")

        try p.tick(t0.adding(seconds: 299), center: cc)
        #expect(try cc.received().isEmpty)
        try p.tick(t0.adding(seconds: 300), center: cc)
        let escalated = try cc.received()
        #expect(escalated.count == 1)
        let e = try #require(escalated.first)
        #expect(e.topic == "actual/warning/district/sz.futian.shatou.")
        #expect(e.body["msgType"] == "update")
        #expect(e.body["escalated"] == true)
        #expect(e.body["tier"] == "IV")
        #expect(e.body["owner"] == "sz.futian")
        #expect(e.body["references"] == [shatou["id"]!])
        #expect(try cc.request(#"{"op":"stats"}"#)["escalations"]?.int == 1)
    }

    /// Warnings, acknowledgements and tasks are durable: after a restart on the same data folder the
    /// acknowledged warning does not escalate, the other one does, and `since` and `active` carry on.
    @Test func acknowledgementsAndTasksSurviveARestart() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-restart")
        defer { Fixtures.removeTemporary(dir) }
        var ids: [String] = []
        var tasksBefore = 0
        do {
            let p = try TestPipeline(liveClock: false, directory: dir)
            let cc = try CommandCenter(p, subscribe: "actual/warning/")
            let platform = try p.client()
            try p.tick(t0, center: cc)
            _ = try platform.request(TestEvents.fire(id: "r-1", time: at(0)))
            _ = try platform.request(TestEvents.fire(id: "r-2", source: "sz.nanshan.yuehai", time: at(0), lat: 22.515, lon: 113.94))
            try cc.waitIdle()
            ids = try cc.received().compactMap { $0.body["id"]?.stringValue }.sorted()
            #expect(ids.count == 2)
            #expect(try cc.request(#"{"op":"ack","warning":"\#(ids[0])","by":"sz"}"#)["ok"] == true)
            tasksBefore = try cc.request(#"{"op":"active"}"#)["tasks"]?.arrayValue?.count ?? 0
            #expect(tasksBefore > 0)
            platform.close()
            cc.close()
            p.stop()
        }
        let p = try TestPipeline(liveClock: false, directory: dir)
        defer { p.stop() }
        let cc = try CommandCenter(p, subscribe: "actual/warning/")
        defer { cc.close() }
        let active = try cc.request(#"{"op":"active"}"#)
        #expect(active["warnings"]?.arrayValue?.compactMap { $0["id"]?.stringValue }.sorted() == ids)
        #expect(active["tasks"]?.arrayValue?.count == tasksBefore)
        try p.tick(t0.adding(seconds: 300), center: cc)
        let escalated = try cc.received()
        #expect(escalated.count == 1)
        #expect(escalated.first?.body["references"] == [.string(ids[1])])
        let since = try cc.request(#"{"op":"since","seq":0,"prefix":"actual/warning/"}"#)
        #expect(since["messages"]?.arrayValue?.count == 3)
    }

    /// The `step` op (PROTOCOL.md "Task"; errors as docs/protocol.md lists them): checked against the task as
    /// published, then applied by the plan worker, whose new state follows on the feed.
    @Test func stepMovesATaskAndRefusesWhatItMustNot() throws {
        let p = try TestPipeline(liveClock: false)
        defer { p.stop() }
        let cc = try CommandCenter(p, subscribe: "actual/task/")
        defer { cc.close() }
        let platform = try p.client()
        defer { platform.close() }
        try p.tick(t0, center: cc)
        _ = try platform.request(TestEvents.fire(id: "s-1", time: at(0)))
        try cc.waitIdle()
        let tasks = try cc.request(#"{"op":"active"}"#)["tasks"]?.arrayValue ?? []
        let task = try #require(tasks.first)
        let id = try #require(task["id"]?.stringValue)
        let owner = try #require(task["owner"]?.stringValue)
        #expect(task["state"] == "ready")
        #expect(try cc.request(#"{"op":"step","task":"t-none","by":"sz","state":"done"}"#)["error"] == "unknown task \"t-none\"")
        let wrong = try cc.request(#"{"op":"step","task":"\#(id)","by":"sz.nanshan","state":"done"}"#)
        #expect(wrong["error"] == .string("sz.nanshan does not own task \(id) (owner \(owner))"))
        let bad = try cc.request(#"{"op":"step","task":"\#(id)","by":"\#(owner)","state":"finished"}"#)
        #expect(bad["error"] == "state: expected acknowledged or done, got \"finished\"")
        let ok = try cc.request(#"{"op":"step","task":"\#(id)","by":"\#(owner)","state":"done"}"#)
        #expect(ok["ok"] == true)
        #expect(ok["task"] == .string(id))
        try cc.waitIdle()
        let done = try cc.received().last { $0.body["id"] == .string(id) }
        #expect(done?.body["state"] == "done")
        #expect(done?.body["by"] == .string(owner))
        let again = try cc.request(#"{"op":"step","task":"\#(id)","by":"\#(owner)","state":"done"}"#)
        #expect(again["error"] == .string("task \(id) is done"))
        #expect(try cc.request(#"{"op":"active"}"#)["tasks"]?.arrayValue?.contains { $0["id"] == .string(id) } == false)
    }

    @Test func exerciseEventsNeverReachActualTopics() throws {
        let p = try TestPipeline(liveClock: false)
        defer { p.stop() }
        let cc = try CommandCenter(p)
        defer { cc.close() }
        let platform = try p.client()
        defer { platform.close() }
        try p.tick(t0, center: cc)
        for (i, level) in [2.6, 3.6, 4.5].enumerated() {
            _ = try platform.request(TestEvents.water(id: "x-\(i)", level: level, time: at(Double(i) * 60), status: "exercise"))
        }
        _ = try platform.request(TestEvents.fire(id: "xf-1", injured: 12, time: at(0), status: "exercise"))
        try cc.waitIdle()
        try p.tick(t0.adding(seconds: 3 * 3600), center: cc)  // escalations and quiet closes too
        let seen = try cc.received()
        #expect(!seen.isEmpty)
        #expect(seen.contains { $0.body["tier"] == "I" })
        #expect(seen.allSatisfy { $0.topic.hasPrefix("exercise/") && $0.body["status"] == "exercise" })
        let since = try cc.request(#"{"op":"since","seq":0,"prefix":"actual/"}"#)
        #expect(since["messages"] == [])
    }

    @Test func closeCancelsAndCAPValidates() throws {
        let p = try TestPipeline(liveClock: false)
        defer { p.stop() }
        let cc = try CommandCenter(p, subscribe: "actual/warning/")
        defer { cc.close() }
        let platform = try p.client()
        defer { platform.close() }
        try p.tick(t0, center: cc)
        _ = try platform.request(TestEvents.fire(id: "c-1", injured: 4, time: at(0)))
        _ = try platform.request(TestEvents.fire(id: "c-2", injured: 7, time: at(30), lat: 22.5279))
        try cc.waitIdle()
        let alerts = try cc.received()
        let last = try #require(alerts.last?.body)
        #expect(last["tier"] == "I")
        let incident = try #require(last["incident"]?.stringValue)

        let denied = try cc.request(#"{"op":"close","incident":"\#(incident)","by":"sz.futian.shatou"}"#)
        #expect(denied["ok"] == false)
        let closed = try cc.request(#"{"op":"close","incident":"\#(incident)","by":"sz"}"#)
        #expect(closed["ok"] == true)
        try cc.waitIdle()
        let cancel = try #require(try cc.received(waiting: 500).last)
        #expect(cancel.body["msgType"] == "cancel")
        #expect(cancel.body["references"]?.arrayValue?.count == alerts.count)
        #expect(try cc.request(#"{"op":"active"}"#)["warnings"] == [])

        for warning in alerts.map(\.body) + [cancel.body] {
            let reply = try cc.request(#"{"op":"cap","warning":"\#(warning["id"]!.stringValue!)"}"#)
            let xml = try #require(reply["xml"]?.stringValue)
            #expect(xml.contains("<identifier>\(warning["id"]!.stringValue!)</identifier>"))
            #expect(try validatesAgainstCAPSchema(xml))
        }
        #expect(try cc.request(#"{"op":"cap","warning":"w-nope"}"#)["error"] == "unknown warning \"w-nope\"")
        #expect(try cc.request(#"{"op":"since"}"#)["error"] == "missing field \"seq\"")
    }
}

/// Runs `xmllint --schema` on `xml` with the official CAP 1.2 schema kept in Tests/Fixtures/cap.
func validatesAgainstCAPSchema(_ xml: String) throws -> Bool {
    let path = NSTemporaryDirectory() + "cap-\(UUID().uuidString).xml"
    try xml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
    process.arguments = ["--noout", "--schema", Fixtures.repositoryRoot + "/Tests/Fixtures/cap/CAP-v1.2.xsd", path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}
