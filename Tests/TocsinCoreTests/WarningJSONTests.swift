import Foundation
import Testing
import TocsinCore

@Suite struct WarningJSONTests {
    typealias M = Make

    /// Alert IV, update III (district), escalation, acknowledged update, cancel of a flood at Shatou.
    static func sampleWarnings() throws -> [Warning] {
        var p = IncidentPipeline()
        var ws = p.feed(M.event("g0", "water_level", values: ["level_m": 2.6]))
        ws += p.tick(M.time(300))
        ws += p.feed(M.event("g1", "water_level", at: 400, M.offset(M.here, east: 120), values: ["level_m": 3.2]))
        try p.book.acknowledge(ws.last!.id, by: M.futian, at: M.time(450.25))
        ws[ws.count - 1] = p.book.latestWarnings[0]
        ws += p.close("inc-1", at: M.time(900))
        return ws
    }

    @Test func fieldNamesAndOrderAreTheContract() throws {
        let w = try Self.sampleWarnings()[0]
        let value = try JSONValue.parse(w.json)
        let keys = try #require(value.objectValue?.keys)
        #expect(
            keys == [
                "id", "seq", "incident", "msgType", "references", "status", "tier", "color", "category", "capCategory",
                "event", "headline", "instruction", "area", "level", "owner", "location", "sent", "evidence",
                "escalated",
            ])
        #expect(value["location"]?.objectValue?.keys == ["lat", "lon", "radiusM"])
        #expect(value["evidence"]?.objectValue?.keys == ["events", "first", "last", "sample"])
        #expect(
            w.jsonString
                == #"{"id":"w-1","seq":1,"incident":"inc-1","msgType":"alert","references":[],"status":"actual","tier":"IV","color":"blue","category":"natural_disaster","capCategory":["Met"],"event":"flood","headline":"Flood warning IV (blue) in Shatou","instruction":"Keep away from rivers, underpasses and low-lying roads; move vehicles to high ground; follow the instructions of on-site responders.","area":"sz.futian.shatou","level":"street","owner":"sz.futian.shatou","location":{"lat":22.5277,"lon":114.025,"radiusM":50},"sent":"2026-07-01T08:30:00Z","evidence":{"events":1,"first":"2026-07-01T08:30:00Z","last":"2026-07-01T08:30:00Z","sample":["g0"]},"escalated":false}"#
        )
    }

    /// The plan worker reads of each warning only what the plan book needs: the same as the full decoder gives,
    /// for alerts, updates, escalations, acknowledged warnings and cancels; in other forms (spaced, reordered) too;
    /// bytes that are not a warning give nil (the worker then decodes in full and reports the error).
    @Test func activationReadsWhatTheFullDecoderReads() throws {
        let warnings = try Self.sampleWarnings()
        #expect(Set(warnings.map(\.msgType)).count == 3 && warnings.contains { $0.escalated } && warnings.contains { $0.isAcknowledged })
        for w in warnings {
            let read = try #require(Warning.Activation(json: w.json))
            #expect(read == Warning.Activation(try Warning(json: w.json)))
            #expect(read == Warning.Activation(w))
            let spaced = w.jsonString.replacingOccurrences(of: #"",""#, with: #"" , ""#)
            #expect(Warning.Activation(json: Array(spaced.utf8)) == read)
        }
        let text = warnings[0].jsonString
        let nested = text.replacingOccurrences(of: #""references":[]"#, with: #""references":["w-0","x]\"{"]"#)
        #expect(nested != text)
        #expect(Warning.Activation(json: Array(nested.utf8)) == Warning.Activation(warnings[0]))
        for bad in ["", "{}", "[]", String(text.dropLast()), text + "{", text.replacingOccurrences(of: #""tier":"IV""#, with: #""tier":"V""#),
                    text.replacingOccurrences(of: #""sent":"#, with: #""sant":"#),
                    text.replacingOccurrences(of: #""location":{"#, with: #""location":[{"#)] {
            #expect(Warning.Activation(json: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func acknowledgementExtensionFields() throws {
        let acked = try Self.sampleWarnings()[2]
        let value = try JSONValue.parse(acked.json)
        #expect(value["acknowledgedBy"] == "sz.futian")
        #expect(value["acknowledgedAt"] == "2026-07-01T08:37:30.25Z")
        #expect(value.objectValue?.keys.suffix(3) == ["escalated", "acknowledgedBy", "acknowledgedAt"])
    }

    @Test func roundTrip() throws {
        let ws = try Self.sampleWarnings()
        #expect(ws.map(\.msgType) == [.alert, .update, .update, .cancel])
        #expect(ws[1].escalated)
        for w in ws {
            let back = try Warning(json: w.json)
            #expect(back == w)
            #expect(back.topic == w.topic)
            #expect(back.jsonString == w.jsonString)
        }
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var key: String
        var value: JSONValue?
        var error: String
        var testDescription: String { error }
    }

    static let badCases: [BadCase] = [
        BadCase(key: "tier", value: "V", error: #"tier: unknown value "V" (expected IV, III, II, I)"#),
        BadCase(key: "color", value: "red", error: "color: red does not match tier IV"),
        BadCase(key: "msgType", value: "ack", error: #"msgType: unknown value "ack" (expected alert, update, cancel)"#),
        BadCase(key: "seq", value: "1", error: #"seq: expected a finite number, got "1""#),
        BadCase(key: "seq", value: 1.5, error: "seq: expected a non-negative integer"),
        BadCase(key: "area", value: "SZ", error: #"area: "SZ" is not an area path"#),
        BadCase(key: "sent", value: "yesterday", error: "sent: yesterday is not an RFC 3339 time"),
        BadCase(key: "references", value: [1], error: "references[0]: expected a string, got 1"),
        BadCase(key: "capCategory", value: ["Weather"], error: #"capCategory[0]: unknown value "Weather""#),
        BadCase(key: "escalated", value: nil, error: "escalated: required"),
        BadCase(key: "location", value: ["lat": 1, "lon": 2], error: "location.radiusM: required"),
    ]

    @Test(arguments: badCases)
    func decodingErrors(_ c: BadCase) throws {
        let w = try Self.sampleWarnings()[0]
        guard case .object(var o) = try JSONValue.parse(w.json) else { throw WarningDecodingError(path: "", message: "") }
        o[c.key] = c.value
        #expect(throws: WarningDecodingError.self) { try Warning(json: .object(o)) }
        do {
            _ = try Warning(json: .object(o))
        } catch {
            #expect(error.description == c.error)
        }
    }

    @Test func unknownFieldsAreIgnored() throws {
        let w = try Self.sampleWarnings()[0]
        guard case .object(var o) = try JSONValue.parse(w.json) else { return }
        o["futureField"] = [1, 2]
        #expect(try Warning(json: .object(o)) == w)
        #expect(throws: WarningDecodingError.self) { try Warning(json: Array("[]".utf8)) }
        #expect(throws: WarningDecodingError.self) { try Warning(json: Array("{".utf8)) }
    }

    @Test func incidentChangesAreCodable() throws {
        var p = IncidentPipeline()
        _ = p.feed(M.event("a", "report.fire", values: ["injured": 1]))
        _ = p.close("inc-1", at: M.time(10))
        for c in p.changes {
            let data = try JSONEncoder().encode(c)
            #expect(try JSONDecoder().decode(IncidentChange.self, from: data) == c)
        }
    }
}
