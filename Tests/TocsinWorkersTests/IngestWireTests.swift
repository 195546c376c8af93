import Foundation
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting
import TocsinWorkers

/// A bad event sent over the wire, the id its rejection must carry, and the start of its error.
struct BadEvent: Sendable, CustomTestStringConvertible {
    var name: String
    var frame: String
    var id: String?
    var error: String
    var testDescription: String { name }
}

/// A valid event's JSON with one field replaced or added.
private func event(_ changes: [String: String] = [:], drop: [String] = []) -> String {
    var fields: [(String, String)] = [
        ("id", #""e-1""#), ("source", #""sz.futian""#), ("kind", #""sensor""#), ("type", #""water_level""#),
        ("time", #""2026-07-01T08:30:00Z""#), ("location", #"{"lat":22.52,"lon":114.05}"#),
        ("values", #"{"level_m":2.7}"#),
    ]
    for (k, v) in changes {
        if let i = fields.firstIndex(where: { $0.0 == k }) { fields[i].1 = v } else { fields.append((k, v)) }
    }
    fields.removeAll { drop.contains($0.0) }
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

let badEvents: [BadEvent] = [
    .init(name: "not JSON", frame: "level 3m", id: nil, error: "not JSON"),
    .init(name: "truncated JSON", frame: #"{"id":"e-1""#, id: nil, error: "not JSON"),
    .init(name: "array", frame: "[1,2]", id: nil, error: "expected a JSON object"),
    .init(name: "string", frame: #""hello""#, id: nil, error: "expected a JSON object"),
    .init(name: "empty frame", frame: "", id: nil, error: "not JSON"),
    .init(name: "duplicate key", frame: #"{"id":"a","id":"b"}"#, id: nil, error: "not JSON"),
    .init(name: "NaN literal", frame: event(["values": #"{"level_m":NaN}"#]), id: nil, error: "not JSON"),
    .init(name: "missing id", frame: event(drop: ["id"]), id: nil, error: "id: required"),
    .init(name: "numeric id", frame: event(["id": "42"]), id: nil, error: "id: expected a string"),
    .init(name: "empty id", frame: event(["id": #""""#]), id: nil, error: "id: empty"),
    .init(name: "long id", frame: event(["id": "\"" + String(repeating: "x", count: 129) + "\""]), id: nil,
          error: "id: longer than 128 bytes"),
    .init(name: "control character in id", frame: event(["id": #""e\u0001""#]), id: nil,
          error: "id: contains a control character"),
    .init(name: "missing source", frame: event(drop: ["source"]), id: "e-1", error: "source: required"),
    .init(name: "unregistered source", frame: event(["source": #""sz.nowhere""#]), id: "e-1",
          error: "source: sz.nowhere is not a registered area"),
    .init(name: "upper-case source", frame: event(["source": #""SZ.Futian""#]), id: "e-1", error: "source:"),
    .init(name: "missing kind", frame: event(drop: ["kind"]), id: "e-1", error: "kind: required"),
    .init(name: "unknown kind", frame: event(["kind": #""gauge""#]), id: "e-1", error: "kind: unknown value"),
    .init(name: "kind mismatch", frame: event(["kind": #""report""#]), id: "e-1",
          error: "kind: report does not match type water_level (sensor)"),
    .init(name: "missing type", frame: event(drop: ["type"]), id: "e-1", error: "type: required"),
    .init(name: "unknown type", frame: event(["type": #""water_lvl""#]), id: "e-1",
          error: "type: unknown event type \"water_lvl\""),
    .init(name: "missing time", frame: event(drop: ["time"]), id: "e-1", error: "time: required"),
    .init(name: "time without zone", frame: event(["time": #""2026-07-01T08:30:00""#]), id: "e-1",
          error: "time: 2026-07-01T08:30:00 is not an RFC 3339 time"),
    .init(name: "month 13", frame: event(["time": #""2026-13-01T08:30:00Z""#]), id: "e-1", error: "time:"),
    .init(name: "time far in the future", frame: event(["time": #""2099-01-01T00:00:00Z""#]), id: "e-1",
          error: "time: more than 5 min in the future"),
    .init(name: "time as a number", frame: event(["time": "1782894600"]), id: "e-1", error: "time: expected a string"),
    .init(name: "missing location", frame: event(drop: ["location"]), id: "e-1", error: "location: required"),
    .init(name: "latitude out of range", frame: event(["location": #"{"lat":90.0001,"lon":114.05}"#]), id: "e-1",
          error: "location.lat: 90.0001 is out of range [-90, 90]"),
    .init(name: "longitude out of range", frame: event(["location": #"{"lat":22.5,"lon":-180.5}"#]), id: "e-1",
          error: "location.lon: -180.5 is out of range [-180, 180]"),
    .init(name: "latitude as text", frame: event(["location": #"{"lat":"22.5","lon":114.05}"#]), id: "e-1",
          error: "location.lat: expected a number"),
    .init(name: "extra key in location", frame: event(["location": #"{"lat":22.5,"lon":114.05,"alt":3}"#]), id: "e-1",
          error: "location.alt: unknown field"),
    .init(name: "area outside source", frame: event(["area": #""sz.nanshan.yuehai""#]), id: "e-1",
          error: "area: sz.nanshan.yuehai is not within source sz.futian"),
    .init(name: "value as text", frame: event(["values": #"{"level_m":"high"}"#]), id: "e-1",
          error: #"values.level_m: expected a number, got "high""#),
    .init(name: "value too large", frame: event(["values": #"{"level_m":1e309}"#]), id: "e-1",
          error: "values.level_m: expected a finite number"),
    .init(name: "missing value", frame: event(["values": "{}"]), id: "e-1", error: "values.level_m: required"),
    .init(name: "misspelt value", frame: event(["values": #"{"levle_m":2.7}"#]), id: "e-1",
          error: "values.levle_m: unknown value for water_level"),
    .init(name: "values not an object", frame: event(["values": "[2.7]"]), id: "e-1", error: "values: expected an object"),
    .init(name: "unknown field", frame: event(["colour": #""red""#]), id: "e-1", error: "colour: unknown field"),
    .init(name: "unknown status", frame: event(["status": #""real""#]), id: "e-1",
          error: "status: unknown value \"real\""),
    .init(name: "text too long", frame: event(["text": "\"" + String(repeating: "t", count: 4097) + "\""]), id: "e-1",
          error: "text: longer than 4096 bytes"),
    .init(name: "device too long", frame: event(["device": "\"" + String(repeating: "d", count: 129) + "\""]),
          id: "e-1", error: "device: longer than 128 bytes"),
    .init(name: "oversized frame", frame: event(["text": "\"" + String(repeating: "t", count: 70_000) + "\""]),
          id: nil, error: "event larger than 64 KiB"),
]

@Suite(.serialized) struct IngestWireTests {
    @Test func acceptsThenAnswersDuplicate() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let client = try p.client()
        defer { client.close() }
        let first = try #require(try client.request(TestEvents.water(id: "w-1", time: nowText())))
        #expect(first["status"] == "accepted")
        #expect(first["id"] == "w-1")
        let again = try #require(try client.request(TestEvents.water(id: "w-1", time: nowText())))
        #expect(again["status"] == "duplicate")
        // Another platform may use the same id.
        let other = try #require(try client.request(TestEvents.water(id: "w-1", source: "sz.nanshan", time: nowText())))
        #expect(other["status"] == "accepted")
    }

    @Test func rejectsEveryBadEventWithItsFieldPathAndKeepsServing() throws {
        #expect(badEvents.count >= 40)
        let p = try TestPipeline()
        defer { p.stop() }
        let client = try p.client()
        defer { client.close() }
        for bad in badEvents {
            let reply = try #require(try client.request(bad.frame), "no reply to \(bad.name)")
            #expect(reply["status"] == "rejected", "\(bad.name)")
            if let id = bad.id { #expect(reply["id"] == .string(id), "\(bad.name)") } else { #expect(reply["id"] == .null, "\(bad.name)") }
            let error = reply["error"]?.stringValue ?? ""
            #expect(error.hasPrefix(bad.error) || error.contains(bad.error), "\(bad.name): got \(error)")
        }
        // Still serving, and every reply kind counted.
        let ok = try #require(try client.request(TestEvents.water(id: "after", time: nowText())))
        #expect(ok["status"] == "accepted")
        let command = try p.commandClient()
        defer { command.close() }
        let stats = try #require(try command.request(#"{"op":"stats"}"#))
        #expect(stats["ok"] == true)
        #expect(stats["events"]?["rejected"]?.int == badEvents.count)
        #expect(stats["events"]?["oversized"]?.int == 1)
        #expect(stats["events"]?["accepted"]?.int == 1)
    }

    @Test func multiFrameMessageIsRejectedWithNullID() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let client = try p.client()
        defer { client.close() }
        try client.socket.send([Array(TestEvents.water(id: "a", time: nowText()).utf8), Array("extra".utf8)])
        let reply = try #require(try client.reply())
        #expect(reply["status"] == "rejected")
        #expect(reply["id"] == .null)
        #expect(reply["error"]?.stringValue?.contains("one frame") == true)
    }

    @Test func pipelinedEventsEachGetOneReply() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let client = try p.client()
        defer { client.close() }
        let n = 3000
        let time = nowText()
        for i in 0..<n { try client.send(TestEvents.water(id: "p-\(i)", time: time)) }
        var statuses: [String: Int] = [:]
        var ids = Set<String>()
        for _ in 0..<n {
            let r = try #require(try client.reply())
            statuses[r["status"]?.stringValue ?? "?", default: 0] += 1
            ids.insert(r["id"]?.stringValue ?? "?")
        }
        #expect(statuses == ["accepted": n])
        #expect(ids.count == n)
        #expect(try client.reply(timeoutMilliseconds: 200) == nil)
        // The journal holds each once, in order.
        let journal = try SQLiteJournal(path: p.config.dataPath + "/journal.sqlite")
        defer { try? journal.close() }
        let records = try journal.read(after: 0, limit: n + 10)
        #expect(records.map(\.eventID) == (0..<n).map { "p-\($0)" })
    }

    @Test func commandEndpointAnswersEveryRequest() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let command = try p.commandClient()
        defer { command.close() }
        let stats = try #require(try command.request(#"{"op":"stats"}"#))
        #expect(stats["ok"] == true)
        for key in ["accepted", "duplicate", "rejected", "oversized", "unauthorised"] {
            #expect(stats["events"]?[key]?.int == 0, "\(key)")
        }
        for key in ["warnings", "tasks", "escalations", "seq"] { #expect(stats[key]?.int == 0, "\(key)") }
        let unknown = try #require(try command.request(#"{"op":"launch"}"#))
        #expect(unknown["ok"] == false)
        #expect(unknown["error"] == "unknown op \"launch\"")
        let notJSON = try #require(try command.request("stats please"))
        #expect(notJSON["ok"] == false)
        #expect(notJSON["error"]?.stringValue?.hasPrefix("not JSON") == true)
        let noOp = try #require(try command.request(#"{"seq":0}"#))
        #expect(noOp["error"] == "missing field \"op\"")
    }
}

func nowText() -> String { WallClock.now().rfc3339 }
