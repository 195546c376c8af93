import Testing
import TocsinCore

private typealias F = CoreFixtures

/// Boundary values at the ingest decoder, one table: numbers at the edges of `Double`, coordinates at their limits,
/// times at 1970, 2038, 9999, leap seconds and without zone, ids with bidirectional and zero-width characters,
/// look-alike letters in area paths, NUL, invalid UTF-8 and duplicate keys. Every case is one field of a valid event
/// replaced (or a whole frame) and its exact outcome: accepted with the decoded value, or the exact rejection.
///
/// Decisions these cases pin (see `docs/protocol.md`):
/// - Numbers are IEEE doubles, correctly rounded: an integer above 2^53 is accepted as the nearest double
///   (9007199254740993 -> 9007199254740992), an underflow as (signed) zero, an overflow (`1e309`) is not finite
///   and rejected; `-0` keeps its sign.
/// - A leap second is accepted only at 23:59:60 UTC on the last day of a month, as 23:59:59.999999; an instant
///   outside years 0001-9999 in UTC is not an RFC 3339 time (it could not be written back).
/// - An id may not hold bidirectional controls (they are control characters, and reorder how the id shows);
///   zero-width characters are format characters and allowed. `text` and `device` take both.
/// - Area paths are ASCII: a Cyrillic or full-width look-alike is "not an area path".
@Suite struct BoundaryValueTests {
    /// The decoded value of the field a case is about.
    enum Decoded: Sendable, CustomStringConvertible {
        /// `values.level_m`, compared bit for bit (so `-0.0` is not `0.0`).
        case level(Double)
        case lat(Double)
        case lon(Double)
        /// `time`, in microseconds since 1970.
        case time(Int64)
        case id(String)
        case text(String)
        case device(String)
        case source(String)
        case area(String)

        func matches(_ e: Event) -> Bool {
            switch self {
            case .level(let x): e.values["level_m"]?.bitPattern == x.bitPattern
            case .lat(let x): e.location.lat.bitPattern == x.bitPattern
            case .lon(let x): e.location.lon.bitPattern == x.bitPattern
            case .time(let micros): e.time.micros == micros
            case .id(let s): e.id == s
            case .text(let s): e.text == s
            case .device(let s): e.device == s
            case .source(let s): e.source.rawValue == s
            case .area(let s): e.area.rawValue == s
            }
        }

        var description: String {
            switch self {
            case .level(let x): "level_m \(x)"
            case .lat(let x): "lat \(x)"
            case .lon(let x): "lon \(x)"
            case .time(let m): "time \(m) µs"
            case .id(let s): "id \(JSONWriter.quoted(s))"
            case .text(let s): "text \(JSONWriter.quoted(s))"
            case .device(let s): "device \(JSONWriter.quoted(s))"
            case .source(let s): "source \(s)"
            case .area(let s): "area \(s)"
            }
        }
    }

    enum Outcome: Sendable {
        case accepted(Decoded)
        /// The rejection's whole message and its id.
        case rejected(String, id: String?)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var frame: [UInt8]
        var outcome: Outcome
        /// The decoder's clock: 2026-07-01T09:00:00Z unless a case needs a later one.
        var now = F.now
        var testDescription: String { name }
    }

    // MARK: Case builders

    /// A valid sensor event with one field replaced by raw JSON.
    static func sensor(_ field: String, _ raw: String) -> [UInt8] { Array(F.sensor([field: raw]).utf8) }

    static func level(_ raw: String, _ outcome: Outcome) -> Case {
        Case(name: "values.level_m \(raw.prefix(40))", frame: sensor("values", #"{"level_m":\#(raw)}"#), outcome: outcome)
    }
    static func level(_ raw: String, _ x: Double) -> Case { level(raw, .accepted(.level(x))) }
    static func level(_ raw: String, rejected message: String) -> Case {
        level(raw, .rejected("values.level_m: " + message, id: "e1"))
    }
    /// A number that is not JSON: the parser's reason at the number's first byte plus `at`.
    static func level(_ raw: String, notJSON reason: String, at: Int = 0) -> Case {
        let frame = sensor("values", #"{"level_m":\#(raw)}"#)
        let offset = byteOffset(of: #""level_m":"#, in: frame) + 10 + at
        return Case(name: "values.level_m \(raw)", frame: frame,
                    outcome: .rejected("not JSON: invalid JSON at byte \(offset): \(reason)", id: nil))
    }

    static func coordinate(_ name: String, _ raw: String, _ outcome: Outcome) -> Case {
        let other = name == "lat" ? #""lon":114.05"# : #""lat":22.54"#
        return Case(name: "location.\(name) \(raw)", frame: sensor("location", #"{"\#(name)":\#(raw),\#(other)}"#),
                    outcome: outcome)
    }

    /// `time` set to the JSON string literal `literal` (quotes and escapes included).
    static func time(_ literal: String, _ outcome: Outcome) -> Case {
        Case(name: "time \(literal)", frame: sensor("time", literal), outcome: outcome)
    }
    static func time(_ text: String, micros: Int64) -> Case { time("\"\(text)\"", .accepted(.time(micros))) }
    /// Accepted when the clock reads 2040-01-01T00:00:00Z.
    static func timeIn2040(_ text: String, micros: Int64) -> Case {
        var c = time(text, micros: micros)
        c.now = Timestamp(micros: 2_208_988_800_000_000)
        return c
    }
    static func notRFC3339(_ text: String) -> Case {
        time("\"\(text)\"", .rejected("time: \(text) is not an RFC 3339 time", id: "e1"))
    }
    static func future(_ text: String) -> Case {
        time("\"\(text)\"", .rejected("time: more than 5 min in the future", id: "e1"))
    }

    /// A string field set to the JSON string literal `literal`.
    static func string(_ field: String, _ literal: String, _ outcome: Outcome) -> Case {
        Case(name: "\(field) \(literal.prefix(50))", frame: sensor(field, literal), outcome: outcome)
    }

    static func frame(_ name: String, _ bytes: [UInt8], _ outcome: Outcome) -> Case {
        Case(name: name, frame: bytes, outcome: outcome)
    }

    /// Invalid UTF-8 inside `text`: rejected as not JSON at the first byte of the bad sequence.
    static func badUTF8(_ name: String, _ bytes: [UInt8], badAt k: Int) -> Case {
        let prefix = Array(F.sensor(["text": nil]).dropLast().utf8) + Array(#","text":""#.utf8)
        let frame = prefix + bytes + Array(#""}"#.utf8)
        return Case(name: "invalid UTF-8: \(name)", frame: frame,
                    outcome: .rejected("not JSON: invalid JSON at byte \(prefix.count + k): invalid UTF-8", id: nil))
    }

    /// The byte offset of the `occurrence`-th `needle` in `frame` (1-based), or -1.
    static func byteOffset(of needle: String, in frame: [UInt8], occurrence: Int = 1) -> Int {
        let n = Array(needle.utf8)
        var seen = 0
        for start in 0...(frame.count - n.count) where Array(frame[start..<(start + n.count)]) == n {
            seen += 1
            if seen == occurrence { return start }
        }
        return -1
    }

    /// A frame with a repeated name: rejected as not JSON at the repeat (the `occurrence`-th `needle`).
    static func duplicate(_ name: String, _ json: String, key: String, at needle: String, occurrence: Int = 2) -> Case {
        let frame = Array(json.utf8)
        let offset = byteOffset(of: needle, in: frame, occurrence: occurrence)
        return Case(name: "duplicate key: \(name)", frame: frame,
                    outcome: .rejected("not JSON: invalid JSON at byte \(offset): duplicate key \(key)", id: nil))
    }

    // MARK: Numbers

    static let numbers: [Case] = [
        level("0", 0.0),
        level("-0", -0.0),
        level("-0.0", -0.0),
        level("0.0", 0.0),
        level("0e0", 0.0),
        level("-0e-5", -0.0),
        level("1E3", 1000),
        level("1e+3", 1000),
        level("1e-3", 0.001),
        level("0.1", 0.1),
        level("123.456e-2", 1.23456),
        level("0.30000000000000004", 0.30000000000000004),
        level(" 3.2 ", 3.2),
        level("5e-324", Double.leastNonzeroMagnitude),
        level("4.9406564584124654e-324", Double.leastNonzeroMagnitude),
        level("3e-324", Double.leastNonzeroMagnitude),
        level("2e-324", 0.0),
        level("2.2250738585072014e-308", Double.leastNormalMagnitude),
        level("1e-320", 1e-320),
        level("1e-400", 0.0),
        level("-1e-400", -0.0),
        level("1e-99999999999999999999", 0.0),
        level("0." + String(repeating: "0", count: 400) + "1", 0.0),
        level("1.7976931348623157e308", Double.greatestFiniteMagnitude),
        level("1.7976931348623158e308", Double.greatestFiniteMagnitude),
        level("1e308", 1e308),
        level("9007199254740992", 9_007_199_254_740_992),
        level("9007199254740993", 9_007_199_254_740_992),
        level("9007199254740995", 9_007_199_254_740_996),
        level("-9007199254740993", -9_007_199_254_740_992),
        level("18446744073709551616", 18_446_744_073_709_551_616.0),
        level("100000000000000000000000", 1e23),
        level("123456789012345678901234567890", 1.2345678901234568e29),
        level("1.7976931348623159e308", rejected: "expected a finite number"),
        level("1e309", rejected: "expected a finite number"),
        level("-1e309", rejected: "expected a finite number"),
        level("1e99999999999999999999", rejected: "expected a finite number"),
        level("1" + String(repeating: "0", count: 400), rejected: "expected a finite number"),
        level(#""3.2""#, rejected: #"expected a number, got "3.2""#),
        level("null", rejected: "expected a number, got null"),
        level("true", rejected: "expected a number, got true"),
        level("[3.2]", rejected: "expected a number, got [3.2]"),
        level("{}", rejected: "expected a number, got {}"),
        level("01", notJSON: "leading zero in number"),
        level("-01", notJSON: "leading zero in number"),
        level("1.", notJSON: "expected a digit", at: 2),
        level("1.e5", notJSON: "expected a digit", at: 2),
        level("1e", notJSON: "expected a digit", at: 2),
        level("1e+", notJSON: "expected a digit", at: 3),
        level("-", notJSON: "expected a digit", at: 1),
        level("--1", notJSON: "expected a digit", at: 1),
        level(".5", notJSON: "unexpected character '.'"),
        level("+1", notJSON: "unexpected character '+'"),
        level("0x10", notJSON: "expected ',' or '}'", at: 1),
        level("1_000", notJSON: "expected ',' or '}'", at: 1),
        level("1e5.5", notJSON: "expected ',' or '}'", at: 3),
        level("NaN", notJSON: "NaN and Infinity are not valid JSON"),
        level("Infinity", notJSON: "NaN and Infinity are not valid JSON"),
        level("-Infinity", notJSON: "NaN and Infinity are not valid JSON"),
        level("-NaN", notJSON: "NaN and Infinity are not valid JSON"),
    ]

    // MARK: Coordinates

    static let coordinates: [Case] = [
        coordinate("lat", "90", .accepted(.lat(90))),
        coordinate("lat", "-90", .accepted(.lat(-90))),
        coordinate("lat", "9e1", .accepted(.lat(90))),
        coordinate("lat", "-0.0", .accepted(.lat(-0.0))),
        coordinate("lat", "5e-324", .accepted(.lat(Double.leastNonzeroMagnitude))),
        coordinate("lat", "90.0000001", .rejected("location.lat: 90.0000001 is out of range [-90, 90]", id: "e1")),
        coordinate("lat", "-90.0000001", .rejected("location.lat: -90.0000001 is out of range [-90, 90]", id: "e1")),
        coordinate("lat", "1e2", .rejected("location.lat: 100 is out of range [-90, 90]", id: "e1")),
        coordinate("lat", "9007199254740993", .rejected(
            "location.lat: \(JSONWriter.numberText(9_007_199_254_740_992)) is out of range [-90, 90]", id: "e1")),
        coordinate("lat", "1e309", .rejected("location.lat: expected a finite number", id: "e1")),
        coordinate("lat", "-1e309", .rejected("location.lat: expected a finite number", id: "e1")),
        coordinate("lat", #""22.54""#, .rejected(#"location.lat: expected a number, got "22.54""#, id: "e1")),
        coordinate("lat", "null", .rejected("location.lat: expected a number, got null", id: "e1")),
        coordinate("lon", "180", .accepted(.lon(180))),
        coordinate("lon", "-180", .accepted(.lon(-180))),
        coordinate("lon", "180.000000000000001", .accepted(.lon(180))),
        coordinate("lon", "-0", .accepted(.lon(-0.0))),
        coordinate("lon", "1e-400", .accepted(.lon(0))),
        coordinate("lon", "180.00000000000003",
                   .rejected("location.lon: 180.00000000000003 is out of range [-180, 180]", id: "e1")),
        coordinate("lon", "-180.5", .rejected("location.lon: -180.5 is out of range [-180, 180]", id: "e1")),
        coordinate("lon", "1e309", .rejected("location.lon: expected a finite number", id: "e1")),
    ]

    // MARK: Times (now is 2026-07-01T09:00:00Z; at most 5 min ahead)

    static let s2026: Int64 = 1_782_894_600_000_000  // 2026-07-01T08:30:00Z

    static let times: [Case] = [
        time("1970-01-01T00:00:00Z", micros: 0),
        time("1970-01-01T00:00:00.000001Z", micros: 1),
        time("1969-12-31T23:59:59.999999Z", micros: -1),
        time("1969-12-31T23:59:59Z", micros: -1_000_000),
        time("1970-01-01T08:00:00+08:00", micros: 0),
        time("0001-01-01T00:00:00Z", micros: -62_135_596_800_000_000),
        time("0001-01-01T00:00:00-01:00", micros: -62_135_593_200_000_000),
        notRFC3339("0001-01-01T00:00:00+01:00"),
        notRFC3339("0000-01-01T00:00:00Z"),
        notRFC3339("10000-01-01T00:00:00Z"),
        timeIn2040("2038-01-19T03:14:07Z", micros: 2_147_483_647_000_000),
        timeIn2040("2038-01-19T03:14:08Z", micros: 2_147_483_648_000_000),
        timeIn2040("2038-01-19T11:14:08+08:00", micros: 2_147_483_648_000_000),
        future("2038-01-19T03:14:08Z"),
        future("2106-02-07T06:28:16Z"),
        future("9999-12-31T23:59:59Z"),
        future("9999-12-31T23:59:59.999999Z"),
        notRFC3339("9999-12-31T23:59:59-00:01"),
        time("2016-12-31T23:59:60Z", micros: 1_483_228_799_999_999),
        time("2016-12-31T23:59:60.5Z", micros: 1_483_228_799_999_999),
        time("2017-01-01T07:59:60+08:00", micros: 1_483_228_799_999_999),
        time("2015-06-30T23:59:60Z", micros: 1_435_708_799_999_999),
        time("2026-06-30T23:59:60Z", micros: 1_782_863_999_999_999),
        notRFC3339("2016-12-31T12:59:60Z"),
        notRFC3339("2016-12-30T23:59:60Z"),
        notRFC3339("2016-12-31T23:59:60+08:00"),
        notRFC3339("2016-12-31T23:59:61Z"),
        notRFC3339("2026-07-01T08:30:00"),
        notRFC3339("2026-07-01T08:30:00.5"),
        notRFC3339("2026-07-01T08:30Z"),
        notRFC3339("2026-07-01"),
        notRFC3339("2026-07-01T08:30:00+0800"),
        notRFC3339("2026-07-01T08:30:00+08"),
        notRFC3339("2026-07-01T08:30:00+24:00"),
        notRFC3339("2026-07-01T08:30:00 UTC"),
        notRFC3339(" 2026-07-01T08:30:00Z"),
        notRFC3339("2026-07-01T08:30:00Z "),
        notRFC3339("２０２６-07-01T08:30:00Z"),
        notRFC3339("٢٠٢٦-07-01T08:30:00Z"),
        time("2026-07-01T08:30:00+23:59", micros: s2026 - 86_340_000_000),
        future("2026-07-01T08:30:00-23:59"),
        time("2026-07-01T08:30:00.000000001Z", micros: s2026),
        time("2026-07-01T08:30:00.9999999Z", micros: s2026 + 999_999),
        time("2026-07-01 08:30:00Z", micros: s2026),
        time("2026-07-01t08:30:00z", micros: s2026),
        time("2024-02-29T12:00:00Z", micros: 1_709_208_000_000_000),
        time("2000-02-29T00:00:00Z", micros: 951_782_400_000_000),
        notRFC3339("2026-02-29T12:00:00Z"),
        notRFC3339("1900-02-29T00:00:00Z"),
        notRFC3339("2026-04-31T00:00:00Z"),
        notRFC3339("2026-07-01T24:00:00Z"),
        time("2026-07-01T09:05:00Z", micros: 1_782_896_700_000_000),
        future("2026-07-01T09:05:00.000001Z"),
        time(#""2026-07-01T08:30:00Z\u0000""#, .rejected("time: 2026-07-01T08:30:00Z\u{0} is not an RFC 3339 time", id: "e1")),
        time("0", .rejected("time: expected a string, got 0", id: "e1")),
        time("1782894600", .rejected("time: expected a string, got 1782894600", id: "e1")),
    ]

    // MARK: Ids, text and device

    static let maxASCII = String(repeating: "i", count: 128)
    static let maxWide = String(repeating: "文", count: 42) + "ab"  // 128 bytes
    static let maxText = String(repeating: "文", count: 1365) + "a"  // 4096 bytes

    static let strings: [Case] = [
        string("id", "\"\(maxASCII)\"", .accepted(.id(maxASCII))),
        string("id", "\"\(maxASCII)i\"", .rejected("id: longer than 128 bytes", id: nil)),
        string("id", "\"\(maxWide)\"", .accepted(.id(maxWide))),
        string("id", "\"\(String(repeating: "文", count: 43))\"", .rejected("id: longer than 128 bytes", id: nil)),
        string("id", #""e\u202e1""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", "\"e\u{202E}1\"", .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u202a1""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u20661""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u20691""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u200f1""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u061c1""#, .rejected("id: contains a bidirectional control character", id: nil)),
        string("id", #""e\u202f1""#, .accepted(.id("e\u{202F}1"))),  // narrow no-break space, not a control
        string("id", #""e\u200b1""#, .accepted(.id("e\u{200B}1"))),
        string("id", "\"e\u{200B}1\"", .accepted(.id("e\u{200B}1"))),
        string("id", #""\u200b""#, .accepted(.id("\u{200B}"))),
        string("id", #""e\ufeff1""#, .accepted(.id("e\u{FEFF}1"))),
        string("id", "\"👨\u{200D}👩\u{200D}👧\"", .accepted(.id("👨\u{200D}👩\u{200D}👧"))),
        string("id", #""\ud83d\ude92""#, .accepted(.id("🚒"))),
        string("id", #""e\u00a01""#, .accepted(.id("e\u{A0}1"))),
        string("id", #""\uffff""#, .accepted(.id("\u{FFFF}"))),
        string("id", #"" ""#, .accepted(.id(" "))),
        string("id", #""e\u00001""#, .rejected("id: contains a control character", id: nil)),
        string("id", #""e\u001f1""#, .rejected("id: contains a control character", id: nil)),
        string("id", #""e\u00851""#, .rejected("id: contains a control character", id: nil)),
        string("id", #""e\u009f1""#, .rejected("id: contains a control character", id: nil)),
        string("id", #""\ud83d""#, .rejected("not JSON: invalid JSON at byte 7: lone surrogate", id: nil)),
        string("id", #""\ude92x""#, .rejected("not JSON: invalid JSON at byte 7: lone surrogate", id: nil)),
        string("id", #""""#, .rejected("id: empty", id: nil)),
        string("text", #""a\u202eb\u200dc""#, .accepted(.text("a\u{202E}b\u{200D}c"))),
        string("text", #""a\u0000b""#, .accepted(.text("a\u{0}b"))),
        string("text", "\"\(maxText)\"", .accepted(.text(maxText))),
        string("text", "\"\(maxText)a\"", .rejected("text: longer than 4096 bytes", id: "e1")),
        string("device", "\"\(maxASCII)\"", .accepted(.device(maxASCII))),
        string("device", "\"\(maxASCII)d\"", .rejected("device: longer than 128 bytes", id: "e1")),
        string("device", #""gauge\u202e-7""#, .accepted(.device("gauge\u{202E}-7"))),
    ]

    // MARK: Area paths: look-alikes and near misses

    static func notAPath(_ field: String, _ text: String) -> Case {
        string(field, JSONWriter.quoted(text), .rejected("\(field): \(JSONWriter.quoted(text)) is not an area path", id: "e1"))
    }

    static let areaPaths: [Case] = [
        notAPath("source", "sz.fut\u{0456}an"),  // Cyrillic і
        notAPath("source", "\u{0455}z.futian"),  // Cyrillic ѕ
        notAPath("source", "sz.futi\u{0430}n"),  // Cyrillic а
        notAPath("source", "sz.fut\u{0131}an"),  // dotless ı
        notAPath("source", "\u{FF53}\u{FF5A}.futian"),  // full-width ｓｚ
        notAPath("source", "SZ.FUTIAN"),
        notAPath("source", "sz.futian\u{200B}"),
        notAPath("source", "sz.futian "),
        notAPath("source", "sz..futian"),
        notAPath("source", "sz."),
        notAPath("source", ".sz"),
        notAPath("source", "sz.futian.shatou.x"),
        notAPath("source", "sz\u{0}"),
        notAPath("source", "sz\u{2024}futian"),  // one dot leader, not a full stop
        string("source", "\"\(String(repeating: "a", count: 129))\"",
               .rejected("source: \"\(String(repeating: "a", count: 36))... is not an area path", id: "e1")),
        string("source", #""sz.\u0066utian""#, .accepted(.source("sz.futian"))),
        string("source", #""sz.nowhere""#, .rejected("source: sz.nowhere is not a registered area", id: "e1")),
        notAPath("area", "sz.futian.sh\u{0430}tou"),  // Cyrillic а
        notAPath("area", "sz.futian.shat\u{03BF}u"),  // Greek ο
        notAPath("area", "sz.futian.shatou\u{301}"),  // a combining accent after the last letter
        string("area", #""sz.futian.shatou""#, .accepted(.area("sz.futian.shatou"))),
        string("area", #""sz.futian.nowhere""#, .rejected("area: sz.futian.nowhere is not a registered area", id: "e1")),
        string("area", #""sz.futianx""#, .rejected("area: sz.futianx is not within source sz.futian", id: "e1")),
    ]

    // MARK: Duplicate keys, NUL, invalid UTF-8, empty names

    static let base = F.sensor()

    static let frames: [Case] = [
        duplicate("id", #"{"id":"e1","id":"e2"}"#, key: #""id""#, at: #""id""#),
        duplicate("id spelled with an escape", #"{"id":"e1","\u0069d":"e2"}"#, key: #""id""#, at: #""\u0069d""#,
                  occurrence: 1),
        duplicate("values", String(base.dropLast()) + #","values":{"level_m":2}}"#, key: #""values""#, at: #""values""#),
        duplicate("lat", F.sensor(["location": #"{"lat":1,"lon":2,"lat":3}"#]), key: #""lat""#, at: #""lat""#),
        duplicate("level_m", F.sensor(["values": #"{"level_m":1,"level_m":1}"#]), key: #""level_m""#, at: #""level_m""#),
        duplicate("unknown field", String(F.sensor(["colour": #""red""#]).dropLast()) + #","colour":"red"}"#,
                  key: #""colour""#, at: #""colour""#),
        duplicate("empty name", #"{"":1,"":2}"#, key: #""""#, at: #""""#),
        // Names are compared as Swift strings, by canonical equivalence: a composed and a decomposed é are one name.
        duplicate("é composed, then decomposed", "{\"\u{E9}\":1,\"e\u{301}\":2}", key: "\"e\u{301}\"",
                  at: "\"e\u{301}\"", occurrence: 1),
        frame("empty field name", Array(F.sensor(["": "1"]).utf8), .rejected(#""": unknown field"#, id: "e1")),
        frame("empty field name among others, found by fuzzing",
              Array(#"{"id":"e-5","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","":{"lat":22.54,"lon":114.05},"values":{"level_m":2}}"#.utf8),
              .rejected(#"location: required; "": unknown field"#, id: "e-5")),
        frame("empty location field name", Array(F.sensor(["location": #"{"lat":1,"lon":2,"":3}"#]).utf8),
              .rejected(#"location."": unknown field"#, id: "e1")),
        frame("empty value name", Array(F.sensor(["values": #"{"level_m":1,"":3}"#]).utf8),
              .rejected(#"values."": unknown value for water_level"#, id: "e1")),
        frame("NUL frame", [0], .rejected("not JSON: invalid JSON at byte 0: unexpected byte 0x00", id: nil)),
        frame("NUL after the object", Array(base.utf8) + [0],
              .rejected("not JSON: invalid JSON at byte \(base.utf8.count): unexpected data after the JSON value", id: nil)),
        frame("raw NUL in a string", Array(#"{"id":"e"#.utf8) + [0] + Array(#"1"}"#.utf8),
              .rejected("not JSON: invalid JSON at byte 8: control character in string", id: nil)),
        frame("raw NUL in a key", Array(#"{"i"#.utf8) + [0] + Array(#"d":"e1"}"#.utf8),
              .rejected("not JSON: invalid JSON at byte 3: control character in string", id: nil)),
        frame("byte order mark", [0xEF, 0xBB, 0xBF] + Array(base.utf8),
              .rejected("not JSON: invalid JSON at byte 0: unexpected byte 0xEF", id: nil)),
        frame("empty frame", [], .rejected("not JSON: invalid JSON at byte 0: unexpected end of input", id: nil)),
        badUTF8("C3 28 (lead byte without continuation)", [0xC3, 0x28], badAt: 0),
        badUTF8("C0 AF (overlong /)", [0xC0, 0xAF], badAt: 0),
        badUTF8("E0 80 AF (overlong, three bytes)", [0xE0, 0x80, 0xAF], badAt: 0),
        badUTF8("ED A0 80 (a UTF-16 surrogate)", [0x61, 0xED, 0xA0, 0x80], badAt: 1),
        badUTF8("F4 90 80 80 (above U+10FFFF)", [0xF4, 0x90, 0x80, 0x80], badAt: 0),
        badUTF8("F8 88 80 80 80 (five bytes)", [0xF8, 0x88, 0x80, 0x80, 0x80], badAt: 0),
        badUTF8("FF", [0x61, 0x62, 0xFF], badAt: 2),
        badUTF8("lone continuation byte", [0x80], badAt: 0),
        badUTF8("truncated before the closing quote", [0x61, 0xE6, 0x96], badAt: 1),
        frame("invalid UTF-8 in a key", Array(#"{"co"#.utf8) + [0xFC] + Array(#"lour":1}"#.utf8),
              .rejected("not JSON: invalid JSON at byte 4: invalid UTF-8", id: nil)),
    ]

    static let cases: [Case] = numbers + coordinates + times + strings + areaPaths + frames

    @Test(arguments: BoundaryValueTests.cases)
    func boundary(_ c: Case) {
        let result = F.decoder.decode(c.frame, now: c.now)
        switch (c.outcome, result) {
        case (.accepted(let expected), .success(let event)):
            #expect(expected.matches(event), "decoded \(event), expected \(expected)")
        case (.rejected(let message, let id), .failure(let rejection)):
            #expect(rejection.message == message)
            #expect(rejection.id == id, "\(rejection)")
        default:
            Issue.record("expected \(c.outcome), got \(result)")
        }
        // The tree-based path agrees with whatever path the byte decoder took.
        if let value = try? JSONValue.parse(c.frame), case .object(let object) = value {
            #expect(F.decoder.decode(object: object, now: c.now) == result)
        }
    }

    @Test func tableIsLarge() {
        #expect(Self.cases.count >= 150)
    }

    /// The classify worker decodes journaled events with no time limit (`now` at the largest timestamp); an event
    /// from before 1970 must not overflow the "too far ahead" check.
    @Test func noTimeLimitTakesTimesBefore1970() throws {
        let frame = Self.sensor("time", #""0001-01-01T00:00:00Z""#)
        let event = try F.decoder.decode(frame, now: Timestamp(micros: .max)).get()
        #expect(event.time.micros == -62_135_596_800_000_000)
    }
}
