import Testing
import TocsinCore

private typealias F = CoreFixtures
private func s(_ changes: KeyValuePairs<String, String?> = [:]) -> String { F.sensor(changes) }
private func r(_ changes: KeyValuePairs<String, String?> = [:]) -> String { F.report(changes) }
private func rawBytes(_ prefix: String, _ middle: [UInt8], _ suffix: String) -> [UInt8] {
    Array(prefix.utf8) + middle + Array(suffix.utf8)
}

private let nested65 = String(repeating: "[", count: 65) + "1" + String(repeating: "]", count: 65)
private let longText = String(repeating: "a", count: 70_000)
private let sz = AreaPath("sz")!, futian = AreaPath("sz.futian")!, shatou = AreaPath("sz.futian.shatou")!
private let nanshan = AreaPath("sz.nanshan")!, yuehai = AreaPath("sz.nanshan.yuehai")!
private let loc = GeoPoint(lat: 22.54, lon: 114.05)
private let t0830 = F.ts("2026-07-01T08:30:00Z")
private let maxText = String(repeating: "文", count: 1365) + "a"  // 4096 bytes
private let maxId = String(repeating: "i", count: 128)
private let exactlyMax: String = {
    let base = s()
    return String(base.dropLast()) + String(repeating: " ", count: 65_536 - base.utf8.count) + "}"
}()

@Suite struct EventDecoderTests {
    /// One expected problem: its exact path and a substring of its message.
    struct ExpectedProblem: Sendable {
        var path: String
        var contains: String
    }

    struct BadEvent: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var id: String?
        var expected: [ExpectedProblem]
        var testDescription: String { name }

        init(_ name: String, _ json: String, id: String?, _ expected: (String, String)...) {
            self.init(name, bytes: Array(json.utf8), id: id, expected)
        }
        init(_ name: String, bytes: [UInt8], id: String?, _ expected: [(String, String)]) {
            self.name = name
            self.bytes = bytes
            self.id = id
            self.expected = expected.map { ExpectedProblem(path: $0.0, contains: $0.1) }
        }
    }

    static let badEvents: [BadEvent] = [
        // Whole-frame problems: id is always nil.
        BadEvent("oversize frame", s(["text": "\"\(longText)\""]), id: nil, ("", "event larger than 64 KiB")),
        BadEvent("oversize by one byte", s() + String(repeating: " ", count: 65_537 - s().utf8.count), id: nil,
                 ("", "event larger than 64 KiB")),
        BadEvent("not JSON", "hello", id: nil, ("", "not JSON: invalid JSON at byte 0: unexpected character 'h'")),
        BadEvent("empty frame", "", id: nil, ("", "not JSON: invalid JSON at byte 0: unexpected end of input")),
        BadEvent("whitespace only", " \n ", id: nil, ("", "unexpected end of input")),
        BadEvent("array of events", "[\(s())]", id: nil, ("", "expected a JSON object")),
        BadEvent("top-level string", #""e1""#, id: nil, ("", "expected a JSON object")),
        BadEvent("top-level null", "null", id: nil, ("", "expected a JSON object")),
        BadEvent("duplicate key", #"{"id":"e1","id":"e2"}"#, id: nil, ("", #"invalid JSON at byte 11: duplicate key "id""#)),
        BadEvent("duplicate key in values", s(["values": #"{"level_m":1,"level_m":2}"#]), id: nil,
                 ("", #"duplicate key "level_m""#)),
        BadEvent("trailing comma in location", s(["location": #"{"lat":22.54,"lon":114.05,}"#]), id: nil,
                 ("", "expected a string key")),
        BadEvent("missing comma in location", s(["location": #"{"lat":22.54 "lon":114.05}"#]), id: nil,
                 ("", "expected ',' or '}'")),
        BadEvent("trailing garbage", s() + " x", id: nil, ("", "unexpected data after the JSON value")),
        BadEvent("two objects", s() + s(), id: nil, ("", "unexpected data after the JSON value")),
        BadEvent("invalid UTF-8 in text", bytes: rawBytes(#"{"id":"e1","text":""#, [0xC3, 0x28], #""}"#), id: nil,
                 [("", "invalid UTF-8")]),
        BadEvent("overlong UTF-8 in id", bytes: rawBytes(#"{"id":""#, [0xC0, 0xAF], #""}"#), id: nil,
                 [("", "invalid JSON at byte 7: invalid UTF-8")]),
        BadEvent("Latin-1 byte in key", bytes: rawBytes(#"{"colo"#, [0xFC], #"r":1}"#), id: nil, [("", "invalid UTF-8")]),
        BadEvent("lone surrogate escape", s(["text": #""fire \ud83d here""#]), id: nil, ("", "lone surrogate")),
        BadEvent("raw control character", s(["text": "\"a\tb\""]), id: nil, ("", "control character in string")),
        BadEvent("NaN literal", s(["location": #"{"lat":NaN,"lon":114.05}"#]), id: nil,
                 ("", "NaN and Infinity are not valid JSON")),
        BadEvent("Infinity literal", s(["values": #"{"level_m":Infinity}"#]), id: nil, ("", "NaN and Infinity")),
        BadEvent("-Infinity literal", s(["location": #"{"lat":22.5,"lon":-Infinity}"#]), id: nil, ("", "NaN and Infinity")),
        BadEvent("leading zero", s(["values": #"{"level_m":01.5}"#]), id: nil, ("", "leading zero in number")),
        BadEvent("nesting deeper than 64", s(["values": #"{"level_m":\#(nested65)}"#]), id: nil,
                 ("", "nesting deeper than 64")),
        BadEvent("single-quoted strings", "{'id':'e1'}", id: nil, ("", "expected a string key")),

        // Field problems with a valid id: the rejection carries it.
        BadEvent("1e309 value", s(["values": #"{"level_m":1e309}"#]), id: "e1", ("values.level_m", "expected a finite number")),
        BadEvent("-1e309 latitude", s(["location": #"{"lat":-1e309,"lon":114}"#]), id: "e1",
                 ("location.lat", "expected a finite number")),
        BadEvent("lat 90.0001", s(["location": #"{"lat":90.0001,"lon":114.05}"#]), id: "e1",
                 ("location.lat", "90.0001 is out of range [-90, 90]")),
        BadEvent("lat 91", s(["location": #"{"lat":91,"lon":114.05}"#]), id: "e1", ("location.lat", "91 is out of range [-90, 90]")),
        BadEvent("lon -180.5", s(["location": #"{"lat":22.5,"lon":-180.5}"#]), id: "e1",
                 ("location.lon", "-180.5 is out of range [-180, 180]")),
        BadEvent("both coordinates out of range", s(["location": #"{"lat":-91,"lon":181}"#]), id: "e1",
                 ("location.lat", "-91 is out of range"), ("location.lon", "181 is out of range")),
        BadEvent("lat missing", s(["location": #"{"lon":114.05}"#]), id: "e1", ("location.lat", "required")),
        BadEvent("location extra key", s(["location": #"{"lat":22.5,"lon":114.05,"alt":12}"#]), id: "e1",
                 ("location.alt", "unknown field")),
        BadEvent("location as array", s(["location": "[22.54,114.05]"]), id: "e1",
                 ("location", "expected an object, got [22.54,114.05]")),
        BadEvent("lat as string", s(["location": #"{"lat":"22.54","lon":114.05}"#]), id: "e1",
                 ("location.lat", #"expected a number, got "22.54""#)),
        BadEvent("location missing", s(["location": nil]), id: "e1", ("location", "required")),
        BadEvent("area outside source", s(["area": #""sz.nanshan.yuehai""#]), id: "e1",
                 ("area", "sz.nanshan.yuehai is not within source sz.futian")),
        BadEvent("area above source", s(["area": #""sz""#]), id: "e1", ("area", "sz is not within source sz.futian")),
        BadEvent("area sibling prefix", s(["area": #""sz.futianx""#]), id: "e1", ("area", "is not within source sz.futian")),
        BadEvent("area not registered", s(["area": #""sz.futian.nowhere""#]), id: "e1",
                 ("area", "sz.futian.nowhere is not a registered area")),
        BadEvent("area not a path", s(["area": #""SZ.Futian""#]), id: "e1", ("area", #""SZ.Futian" is not an area path"#)),
        BadEvent("source not registered", s(["source": #""sz.nowhere""#]), id: "e1",
                 ("source", "sz.nowhere is not a registered area")),
        BadEvent("source not a path", s(["source": #""sz..futian""#]), id: "e1", ("source", #""sz..futian" is not an area path"#)),
        BadEvent("source missing", s(["source": nil]), id: "e1", ("source", "required")),
        BadEvent("source as number", s(["source": "7"]), id: "e1", ("source", "expected a string, got 7")),
        BadEvent("time in the future", s(["time": #""2026-07-01T09:05:01Z""#]), id: "e1", ("time", "more than 5 min in the future")),
        BadEvent("future time with offset", s(["time": #""2026-07-01T17:05:00.5+08:00""#]), id: "e1",
                 ("time", "more than 5 min in the future")),
        BadEvent("time without zone", s(["time": #""2026-07-01T08:30:00""#]), id: "e1",
                 ("time", "2026-07-01T08:30:00 is not an RFC 3339 time")),
        BadEvent("month 13", s(["time": #""2026-13-01T00:00:00Z""#]), id: "e1",
                 ("time", "2026-13-01T00:00:00Z is not an RFC 3339 time")),
        BadEvent("February 30", s(["time": #""2026-02-30T08:00:00Z""#]), id: "e1", ("time", "is not an RFC 3339 time")),
        BadEvent("hour 24", s(["time": #""2026-07-01T24:00:00Z""#]), id: "e1", ("time", "is not an RFC 3339 time")),
        BadEvent("time as epoch number", s(["time": "1782894600"]), id: "e1", ("time", "expected a string, got 1782894600")),
        BadEvent("time missing", s(["time": nil]), id: "e1", ("time", "required")),
        BadEvent("bad kind", s(["kind": #""sensr""#]), id: "e1", ("kind", #"unknown value "sensr" (expected sensor or report)"#)),
        BadEvent("kind missing", s(["kind": nil]), id: "e1", ("kind", "required")),
        BadEvent("kind mismatch", s(["kind": #""report""#]), id: "e1", ("kind", "report does not match type water_level (sensor)")),
        BadEvent("report kind mismatch", r(["kind": #""sensor""#]), id: "r1",
                 ("kind", "sensor does not match type report.fire (report)")),
        BadEvent("unknown type", s(["type": #""water_lvl""#]), id: "e1", ("type", #"unknown event type "water_lvl""#)),
        BadEvent("unknown type still validates the rest",
                 s(["type": #""water_lvl""#, "location": #"{"lat":91,"lon":114}"#, "values": #"{"level_m":"high"}"#]),
                 id: "e1", ("type", "unknown event type"), ("location.lat", "out of range"),
                 ("values.level_m", #"expected a number, got "high""#)),
        BadEvent("type missing", s(["type": nil]), id: "e1", ("type", "required")),
        BadEvent("type as array", s(["type": #"["water_level"]"#]), id: "e1", ("type", #"expected a string, got ["water_level"]"#)),
        BadEvent("unknown value name", s(["values": #"{"levle_m":1.2}"#]), id: "e1",
                 ("values.levle_m", "unknown value for water_level"), ("values.level_m", "required")),
        BadEvent("missing required value", s(["values": "{}"]), id: "e1", ("values.level_m", "required")),
        BadEvent("values missing", s(["values": nil]), id: "e1", ("values.level_m", "required")),
        BadEvent("value as string", s(["values": #"{"level_m":"high"}"#]), id: "e1",
                 ("values.level_m", #"expected a number, got "high""#)),
        BadEvent("value as bool", s(["values": #"{"level_m":true}"#]), id: "e1", ("values.level_m", "expected a number, got true")),
        BadEvent("value as null", s(["values": #"{"level_m":null}"#]), id: "e1", ("values.level_m", "expected a number, got null")),
        BadEvent("long offending value is cut", s(["values": #"{"level_m":"\#(String(repeating: "x", count: 60))"}"#]),
                 id: "e1", ("values.level_m", #"expected a number, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."#)),
        BadEvent("values as array", s(["values": "[1.2]"]), id: "e1", ("values", "expected an object, got [1.2]")),
        BadEvent("illness without cases", r(["type": #""report.illness""#, "values": "{}"]), id: "r1",
                 ("values.cases", "required")),
        BadEvent("gas without required ppm",
                 s(["type": #""gas_concentration""#, "values": #"{"lel_pct":12}"#]), id: "e1", ("values.ppm", "required")),
        BadEvent("text too long", r(["text": "\"\(String(repeating: "a", count: 4097))\""]), id: "r1",
                 ("text", "longer than 4096 bytes")),
        BadEvent("text too long in bytes", r(["text": "\"\(String(repeating: "火", count: 1366))\""]), id: "r1",
                 ("text", "longer than 4096 bytes")),
        BadEvent("text as number", r(["text": "5"]), id: "r1", ("text", "expected a string, got 5")),
        BadEvent("text null", r(["text": "null"]), id: "r1", ("text", "expected a string, got null")),
        BadEvent("status real", s(["status": #""real""#]), id: "e1",
                 ("status", #"unknown value "real" (expected actual, exercise or test)"#)),
        BadEvent("status capitalised", s(["status": #""Actual""#]), id: "e1", ("status", #"unknown value "Actual""#)),
        BadEvent("unknown field", s(["colour": #""red""#]), id: "e1", ("colour", "unknown field")),
        BadEvent("two unknown fields", s(["colour": #""red""#, "Time": #""x""#]), id: "e1",
                 ("colour", "unknown field"), ("Time", "unknown field")),
        BadEvent("device too long", s(["device": "\"\(String(repeating: "d", count: 129))\""]), id: "e1",
                 ("device", "longer than 128 bytes")),
        BadEvent("device as number", s(["device": "42"]), id: "e1", ("device", "expected a string, got 42")),

        // Problems with the id itself: the rejection's id is nil.
        BadEvent("id too long", s(["id": "\"\(String(repeating: "i", count: 129))\""]), id: nil, ("id", "longer than 128 bytes")),
        BadEvent("id with escaped control", s(["id": #""e\u00071""#]), id: nil, ("id", "contains a control character")),
        BadEvent("id with DEL", s(["id": "\"e\u{7F}1\""]), id: nil, ("id", "contains a control character")),
        BadEvent("id with C1 control", s(["id": #""e\u00851""#]), id: nil, ("id", "contains a control character")),
        BadEvent("id missing", s(["id": nil]), id: nil, ("id", "required")),
        BadEvent("id as number", s(["id": "42"]), id: nil, ("id", "expected a string, got 42")),
        BadEvent("id empty", s(["id": #""""#]), id: nil, ("id", "empty")),
        BadEvent("bad id and more", s(["id": "42", "kind": #""report""#, "colour": "1"]), id: nil,
                 ("id", "expected a string, got 42"), ("kind", "does not match type water_level"), ("colour", "unknown field")),
        BadEvent("everything wrong",
                 #"{"id":"x","source":"sz.nowhere","kind":"report","type":"water_lvl","time":"2026-13-01T00:00:00Z","location":{"lat":91,"lon":0},"status":"real","colour":"red"}"#,
                 id: "x", ("source", "not a registered area"), ("type", "unknown event type"), ("time", "not an RFC 3339 time"),
                 ("location.lat", "out of range"), ("status", "unknown value"), ("colour", "unknown field")),
    ]

    @Test(arguments: EventDecoderTests.badEvents)
    func rejectsBadEvent(_ c: BadEvent) throws {
        let result = F.decoder.decode(c.bytes, now: F.now)
        guard case .failure(let rejection) = result else {
            Issue.record("accepted: \(result)")
            return
        }
        #expect(rejection.id == c.id, "\(rejection)")
        #expect(rejection.problems.map(\.path).sorted() == c.expected.map(\.path).sorted(), "\(rejection)")
        for e in c.expected {
            #expect(
                rejection.problems.contains { $0.path == e.path && $0.message.contains(e.contains) },
                "no problem at \(e.path) containing \(e.contains): \(rejection)")
        }
        #expect(rejection.message == rejection.problems.map(\.description).joined(separator: "; "))
    }

    @Test func badEventTableIsLarge() {
        #expect(Self.badEvents.count >= 45)
    }

    struct GoodEvent: Sendable, CustomTestStringConvertible {
        var name: String
        var json: String
        var expected: Event
        var testDescription: String { name }
    }

    static let goodEvents: [GoodEvent] = [
        GoodEvent(name: "minimal sensor", json: s(), expected: Event(
            id: "e1", source: futian, kind: .sensor, type: "water_level", time: t0830, location: loc,
            values: ["level_m": 1.2])),
        GoodEvent(name: "sensor with area and +08:00 time",
                  json: s(["time": #""2026-07-01T16:30:00+08:00""#, "area": #""sz.futian.shatou""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level", time: t0830,
                                  location: loc, area: shatou, values: ["level_m": 1.2])),
        GoodEvent(name: "gas, optional value omitted",
                  json: s(["type": #""gas_concentration""#, "values": #"{"ppm":75}"#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "gas_concentration", time: t0830,
                                  location: loc, values: ["ppm": 75])),
        GoodEvent(name: "gas with optional value and device",
                  json: s(["type": #""gas_concentration""#, "values": #"{"lel_pct":22.5,"ppm":120}"#, "device": #""gas-0042""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "gas_concentration", time: t0830,
                                  location: loc, values: ["ppm": 120, "lel_pct": 22.5], device: "gas-0042")),
        GoodEvent(name: "fire report with unicode text",
                  json: r(["source": #""sz.nanshan""#, "area": #""sz.nanshan.yuehai""#, "text": #""三楼厨房起火 🔥 有人被困""#]),
                  expected: Event(id: "r1", source: nanshan, kind: .report, type: "report.fire", time: t0830,
                                  location: loc, area: yuehai, text: "三楼厨房起火 🔥 有人被困")),
        GoodEvent(name: "exercise fire report with injured",
                  json: r(["values": #"{"injured":3}"#, "status": #""exercise""#, "device": #""app-7""#]),
                  expected: Event(id: "r1", source: futian, kind: .report, type: "report.fire", time: t0830,
                                  location: loc, values: ["injured": 3], status: .exercise, device: "app-7")),
        GoodEvent(name: "illness report, fractional +08:00 time",
                  json: r(["type": #""report.illness""#, "values": #"{"cases":12}"#, "time": #""2026-07-01T16:45:30.5+08:00""#]),
                  expected: Event(id: "r1", source: futian, kind: .report, type: "report.illness",
                                  time: Timestamp(micros: t0830.micros + 930_500_000), location: loc, values: ["cases": 12])),
        GoodEvent(name: "nanosecond time truncated to microseconds",
                  json: s(["time": #""2026-07-01T08:30:00.123456789Z""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level",
                                  time: Timestamp(micros: t0830.micros + 123_456), location: loc, values: ["level_m": 1.2])),
        GoodEvent(name: "test status and escaped text",
                  json: r(["status": #""test""#, "text": #""line 1\nline 2 \"quoted\" caf\u00e9 \ud83d\ude92 a\/b""#]),
                  expected: Event(id: "r1", source: futian, kind: .report, type: "report.fire", time: t0830, location: loc,
                                  text: "line 1\nline 2 \"quoted\" café 🚒 a/b", status: .test)),
        GoodEvent(name: "boundary coordinates, explicit area = source, actual status",
                  json: s(["location": #"{"lon":180,"lat":-90}"#, "area": #""sz.futian""#, "status": #""actual""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level", time: t0830,
                                  location: GeoPoint(lat: -90, lon: 180), values: ["level_m": 1.2])),
        GoodEvent(name: "time exactly 5 min ahead, lower-case t and z",
                  json: s(["time": #""2026-07-01t09:05:00z""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level",
                                  time: F.ts("2026-07-01T09:05:00Z"), location: loc, values: ["level_m": 1.2])),
        GoodEvent(name: "fields reordered, whitespace",
                  json: """
                    {
                      "values": { "level_m": -0.25 },
                      "location": { "lat": 22.54, "lon": 114.05 },
                      "time": "2026-07-01 08:30:00Z",
                      "type": "water_level", "kind": "sensor",
                      "source": "sz", "area": "sz.nanshan.yuehai",
                      "id": "事件-1"
                    }
                    """,
                  expected: Event(id: "事件-1", source: sz, kind: .sensor, type: "water_level", time: t0830, location: loc,
                                  area: yuehai, values: ["level_m": -0.25])),
        GoodEvent(name: "leap second", json: s(["time": #""2016-12-31T23:59:60Z""#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level",
                                  time: Timestamp(micros: 1_483_228_799_999_999), location: loc, values: ["level_m": 1.2])),
        GoodEvent(name: "frame of exactly 64 KiB", json: exactlyMax, expected: Event(
            id: "e1", source: futian, kind: .sensor, type: "water_level", time: t0830, location: loc,
            values: ["level_m": 1.2])),
        GoodEvent(name: "longest id, text and device",
                  json: r(["id": "\"\(maxId)\"", "text": "\"\(maxText)\"", "device": "\"\(maxId)\""]),
                  expected: Event(id: maxId, source: futian, kind: .report, type: "report.fire", time: t0830, location: loc,
                                  text: maxText, device: maxId)),
        GoodEvent(name: "awkward numbers",
                  json: s(["location": #"{"lat":1e-7,"lon":-0.0}"#, "values": #"{"level_m":12345678901234567890}"#]),
                  expected: Event(id: "e1", source: futian, kind: .sensor, type: "water_level", time: t0830,
                                  location: GeoPoint(lat: 1e-7, lon: -0.0), values: ["level_m": 12345678901234567890.0])),
        GoodEvent(name: "empty text, old time",
                  json: r(["text": #""""#, "time": #""1999-12-31T23:59:59.999999-12:00""#]),
                  expected: Event(id: "r1", source: futian, kind: .report, type: "report.fire",
                                  time: F.ts("2000-01-01T11:59:59.999999Z"), location: loc, text: "")),
    ]

    @Test(arguments: EventDecoderTests.goodEvents)
    func decodesAndRoundTrips(_ c: GoodEvent) throws {
        let event = try F.decoder.decode(Array(c.json.utf8), now: F.now).get()
        #expect(event == c.expected)
        let encoded = EventEncoder.encode(event)
        let again = try F.decoder.decode(encoded, now: F.now).get()
        #expect(again == event, "\(EventEncoder.encodeString(event))")
        #expect(EventEncoder.encode(again) == encoded)
        // The String and raw-buffer overloads agree.
        #expect(try F.decoder.decode(c.json, now: F.now).get() == event)
        #expect(try encoded.withUnsafeBytes { try F.decoder.decode($0, now: F.now).get() } == event)
    }

    @Test func goodEventTableIsLarge() {
        #expect(Self.goodEvents.count >= 10)
    }

    @Test func canonicalEncoding() throws {
        let e = Event(
            id: "e\"1", source: AreaPath("sz.futian")!, kind: .report, type: "report.fire",
            time: Timestamp(micros: 1_782_894_600_250_000), location: GeoPoint(lat: 22.54, lon: 114),
            values: ["b": 2, "a": 1.5], text: "x\ny", status: .exercise, device: "d1")
        #expect(EventEncoder.encodeString(e) == #"""
            {"id":"e\"1","source":"sz.futian","kind":"report","type":"report.fire","time":"2026-07-01T08:30:00.25Z","location":{"lat":22.54,"lon":114},"area":"sz.futian","values":{"a":1.5,"b":2},"text":"x\ny","status":"exercise","device":"d1"}
            """#)
        let minimal = Event(
            id: "e1", source: AreaPath("sz")!, kind: .sensor, type: "water_level", time: Timestamp(micros: 0),
            location: GeoPoint(lat: 0, lon: 0))
        #expect(EventEncoder.encodeString(minimal) == #"""
            {"id":"e1","source":"sz","kind":"sensor","type":"water_level","time":"1970-01-01T00:00:00Z","location":{"lat":0,"lon":0},"area":"sz","values":{},"status":"actual"}
            """#)
    }

    @Test func problemAndRejectionDescriptions() {
        let p = FieldProblem(path: "values.level_m", message: "required")
        #expect(p.description == "values.level_m: required")
        #expect(FieldProblem(path: "", message: "expected a JSON object").description == "expected a JSON object")
        let r = EventRejection(id: "e1", problems: [p, FieldProblem(path: "colour", message: "unknown field")])
        #expect(r.message == "values.level_m: required; colour: unknown field")
        #expect(r.description == r.message)
    }

    @Test func problemsComeInFieldOrderThenUnknownFields() throws {
        let json = #"{"colour":1,"values":{"level_m":"x"},"id":"e1","location":{"lat":91,"lon":0},"source":"sz.x","kind":"k","type":"water_level","time":"t"}"#
        guard case .failure(let r) = F.decoder.decode(Array(json.utf8), now: F.now) else {
            Issue.record("accepted")
            return
        }
        #expect(r.problems.map(\.path) == ["source", "kind", "time", "location.lat", "values.level_m", "colour"])
        #expect(r.message == #"source: sz.x is not a registered area; kind: unknown value "k" (expected sensor or report); time: t is not an RFC 3339 time; location.lat: 91 is out of range [-90, 90]; values.level_m: expected a number, got "x"; colour: unknown field"#)
    }

    @Test func futureLimitIsConfigurable() {
        let strict = EventDecoder(catalog: F.catalog, areas: F.areas, maxFutureSeconds: 90)
        let json = Array(s(["time": #""2026-07-01T09:01:31Z""#]).utf8)
        guard case .failure(let r) = strict.decode(json, now: F.now) else {
            Issue.record("accepted")
            return
        }
        #expect(r.message == "time: more than 90 s in the future")
        let lenient = EventDecoder(catalog: F.catalog, areas: F.areas, maxFutureSeconds: 600)
        #expect((try? lenient.decode(json, now: F.now).get()) != nil)
        let tenMinutes = Array(s(["time": #""2026-07-01T09:10:01Z""#]).utf8)
        if case .failure(let r2) = lenient.decode(tenMinutes, now: F.now) {
            #expect(r2.message == "time: more than 10 min in the future")
        } else {
            Issue.record("accepted")
        }
    }

    @Test func decodesAPreparsedObject() throws {
        let value = try JSONValue.parse(s())
        let event = try F.decoder.decode(object: value.objectValue!, now: F.now).get()
        #expect(event.id == "e1" && event.area == futian && event.status == .actual)
    }

    /// Random byte mutations of valid frames: the decoder never traps, every rejection has problems, and whatever
    /// is accepted still round-trips through the encoder.
    @Test func mutatedFramesAreHandled() throws {
        let seeds = Self.goodEvents.prefix(13).map { Array($0.json.utf8) }
        let alphabet: [UInt8] = Array(#"{}[]:,"\\/u0123456789.eE+-ntfa "#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xED, 0xFF]
        var x: UInt64 = 42
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        var accepted = 0
        for round in 0..<6000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...next(3) {
                let at = next(bytes.count)
                switch next(3) {
                case 0: bytes[at] = alphabet[next(alphabet.count)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[next(alphabet.count)], at: at)
                }
            }
            switch F.decoder.decode(bytes, now: F.now) {
            case .success(let e):
                accepted += 1
                #expect(try F.decoder.decode(EventEncoder.encode(e), now: F.now).get() == e)
            case .failure(let r):
                #expect(!r.problems.isEmpty)
            }
            if let v = try? JSONValue.parse(bytes) {
                #expect(try JSONValue.parse(v.serialized()) == v)
            }
        }
        #expect(accepted > 0)
    }
}

@Suite struct EventInitTests {
    /// An event made without an area happened at its source; with one, there; the defaults are the contract's.
    @Test func areaDefaultsToTheSource() throws {
        let source = try #require(AreaPath("sz.futian.shatou")), elsewhere = try #require(AreaPath("sz.nanshan"))
        let at = Timestamp(micros: 1_782_000_000_000_000), place = GeoPoint(lat: 22.53, lon: 114.02)
        let plain = Event(id: "e-1", source: source, kind: .sensor, type: "water_level", time: at, location: place)
        #expect(plain.area == source && plain.values.isEmpty && plain.text == nil && plain.device == nil)
        #expect(plain.status == .actual)
        let placed = Event(id: "e-2", source: source, kind: .report, type: "report.fire", time: at, location: place,
                           area: elsewhere, values: ["count": 3], text: "smoke", status: .exercise, device: "d-1")
        #expect(placed.area == elsewhere && placed.source == source && placed.values["count"] == 3)
        #expect(placed.text == "smoke" && placed.status == .exercise && placed.device == "d-1" && placed.kind == .report)
    }
}
