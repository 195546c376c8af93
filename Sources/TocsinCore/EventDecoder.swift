// Strict decoding of event frames (PROTOCOL.md "Event") and their canonical encoding.

/// One thing wrong with an event, at a field path such as `values.level_m` or `location.lat`.
/// `description` is `path: message`, or just `message` when the path is empty (a problem with the whole frame).
public struct FieldProblem: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Why an event frame was rejected: every problem found, and the event's id when it had a valid one.
public struct EventRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The event's id; `nil` when the frame is too large, not JSON, not an object, or its `id` is itself invalid.
    public var id: String?
    public var problems: [FieldProblem]
    public init(id: String?, problems: [FieldProblem]) {
        self.id = id
        self.problems = problems
    }
    public init(id: String?, path: String = "", message: String) {
        self.init(id: id, problems: [FieldProblem(path: path, message: message)])
    }
    /// The problems' descriptions joined by `"; "`.
    public var message: String { problems.map(\.description).joined(separator: "; ") }
    public var description: String { message }
}

/// Decodes and validates event frames against the catalog and the area tree.
///
/// Every problem is collected (not just the first), in field order (`id`, `source`, `kind`, `type`, `time`,
/// `location`, `area`, `values`, `text`, `status`, `device`), then unknown fields in document order. Problems are
/// reported as `path: message`. `<json>` below is the offending JSON value rendered compactly, cut to 40
/// characters (`...` ending when cut); `"<s>"` is a JSON-quoted string.
///
/// Whole frame (path empty, rejection id `nil`):
/// - `event larger than 64 KiB` (more than 65,536 bytes, checked before parsing)
/// - `not JSON: invalid JSON at byte <offset>: <reason>` (see `JSONParseError`; includes `duplicate key "k"`)
/// - `expected a JSON object`
///
/// Any field:
/// - `<field>: required`
/// - `<field>: expected a string, got <json>` (also `a number`, `an object`)
/// - `<name>: unknown field` (the path is the unknown field's name, e.g. `colour: unknown field`;
///   `location.<name>: unknown field` inside `location`; an empty name is written `""`: `"": unknown field`)
///
/// Per field:
/// - `id: empty`, `id: longer than 128 bytes`, `id: contains a control character` (U+0000-001F, U+007F-009F),
///   `id: contains a bidirectional control character` (U+061C, U+200E-200F, U+202A-202E, U+2066-2069)
///   — any problem with `id` makes the rejection's id `nil`
/// - `source: "<s>" is not an area path`, `source: sz.nowhere is not a registered area`
/// - `kind: unknown value "<s>" (expected sensor or report)`,
///   `kind: report does not match type water_level (sensor)`
/// - `type: unknown event type "water_lvl"` (the other fields are still validated)
/// - `time: <text> is not an RFC 3339 time` (text cut to 40 characters),
///   `time: more than 5 min in the future` (relative to `now`; the limit is `maxFutureSeconds`, written as
///   `N min` when a whole number of minutes, else `N s`)
/// - `location: expected an object, got <json>`, `location.lat: 91 is out of range [-90, 90]`,
///   `location.lon: -180.5 is out of range [-180, 180]`, `location.lat: expected a finite number`
/// - `area: "<s>" is not an area path`, `area: sz.nanshan.yuehai is not within source sz.futian`,
///   `area: sz.futian.nowhere is not a registered area`
/// - `values: expected an object, got <json>`, `values.levle_m: unknown value for water_level`,
///   `values.level_m: required`, `values.level_m: expected a number, got "high"`,
///   `values.level_m: expected a finite number` (e.g. `1e309`)
/// - `text: longer than 4096 bytes`
/// - `status: unknown value "real" (expected actual, exercise or test)`
/// - `device: longer than 128 bytes`
///
/// Optional fields may be omitted but not `null` (`text: expected a string, got null`).
public struct EventDecoder: Sendable {
    public static let maxEventBytes = 65_536
    public static let maxIdBytes = 128
    public static let maxTextBytes = 4096
    public static let maxDeviceBytes = 128

    public var catalog: Catalog {
        didSet { lexicon = DecoderLexicon(catalog: catalog, areas: areas) }
    }
    public var areas: AreaTree {
        didSet { lexicon = DecoderLexicon(catalog: catalog, areas: areas) }
    }
    public var maxFutureSeconds: Double
    /// The catalog's type names and the registered paths, for the common path's lookups by bytes.
    private(set) var lexicon: DecoderLexicon

    public init(catalog: Catalog, areas: AreaTree, maxFutureSeconds: Double = 300) {
        self.catalog = catalog
        self.areas = areas
        self.maxFutureSeconds = maxFutureSeconds
        lexicon = DecoderLexicon(catalog: catalog, areas: areas)
    }

    public func decode(_ bytes: [UInt8], now: Timestamp) -> Result<Event, EventRejection> {
        bytes.withUnsafeBytes { decode($0, now: now) }
    }

    public func decode(_ text: String, now: Timestamp) -> Result<Event, EventRejection> {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0), now: now) }
    }

    public func decode(_ buffer: UnsafeRawBufferPointer, now: Timestamp) -> Result<Event, EventRejection> {
        decode(buffer, now: now, details: true)
    }

    /// `decode(_:now:)` for readers of neither `text` nor `device` (ingest, which journals the frame as sent, and
    /// the incident engine): the same events are accepted and refused, with the same rejections, but those two
    /// come back nil. Each worker made their strings for every event, for nothing (about a twentieth of the
    /// classify thread).
    public func decodeWithoutDetails(_ buffer: UnsafeRawBufferPointer, now: Timestamp) -> Result<Event, EventRejection> {
        decode(buffer, now: now, details: false)
    }

    private func decode(_ buffer: UnsafeRawBufferPointer, now: Timestamp, details: Bool) -> Result<Event, EventRejection> {
        if buffer.count > Self.maxEventBytes {
            return .failure(EventRejection(id: nil, message: "event larger than 64 KiB"))
        }
        if let event = decodeCommon(buffer, now: now, details: details) { return .success(event) }
        let decoded = decodeTree(buffer, now: now)
        guard !details, case .success(var event) = decoded else { return decoded }
        event.text = nil
        event.device = nil
        return .success(event)
    }

    /// The full path: a `JSONValue` tree, then `decode(object:now:)`.
    private func decodeTree(_ buffer: UnsafeRawBufferPointer, now: Timestamp) -> Result<Event, EventRejection> {
        let root: JSONValue
        do {
            root = try JSONValue.parse(buffer)
        } catch {
            return .failure(EventRejection(id: nil, message: "not JSON: \(error)"))
        }
        guard case .object(let object) = root else {
            return .failure(EventRejection(id: nil, message: "expected a JSON object"))
        }
        return decode(object: object, now: now)
    }

    /// Validates an already parsed object (the size limit is not checked here).
    public func decode(object: JSONObject, now: Timestamp) -> Result<Event, EventRejection> {
        var problems: [FieldProblem] = []
        @inline(__always) func problem(_ path: String, _ message: String) {
            problems.append(FieldProblem(path: path, message: message))
        }

        var idV: JSONValue?, sourceV: JSONValue?, kindV: JSONValue?, typeV: JSONValue?, timeV: JSONValue?
        var locationV: JSONValue?, areaV: JSONValue?, valuesV: JSONValue?, textV: JSONValue?
        var statusV: JSONValue?, deviceV: JSONValue?
        var unknownFields: [String] = []
        for m in object.members {
            switch m.key {
            case "id": idV = m.value
            case "source": sourceV = m.value
            case "kind": kindV = m.value
            case "type": typeV = m.value
            case "time": timeV = m.value
            case "location": locationV = m.value
            case "area": areaV = m.value
            case "values": valuesV = m.value
            case "text": textV = m.value
            case "status": statusV = m.value
            case "device": deviceV = m.value
            default: unknownFields.append(m.key)
            }
        }

        /// The string of a field, or nil after recording why not.
        func string(_ v: JSONValue?, _ path: String, required: Bool) -> String? {
            switch v {
            case .string(let s)?: return s
            case nil:
                if required { problem(path, "required") }
                return nil
            case let other?:
                problem(path, "expected a string, got \(other.abbreviated())")
                return nil
            }
        }

        // id
        var id: String?
        if let s = string(idV, "id", required: true) {
            if s.isEmpty {
                problem("id", "empty")
            } else if s.utf8.count > Self.maxIdBytes {
                problem("id", "longer than \(Self.maxIdBytes) bytes")
            } else if Self.containsControlCharacter(s) {
                problem("id", "contains a control character")
            } else if Self.containsBidiControl(s.utf8) {
                problem("id", "contains a bidirectional control character")
            } else {
                id = s
            }
        }

        // source
        var source: AreaPath?
        var sourceSyntax: AreaPath?
        if let s = string(sourceV, "source", required: true) {
            if let path = AreaPath(s) {
                sourceSyntax = path
                if areas.contains(path) {
                    source = path
                } else {
                    problem("source", "\(s) is not a registered area")
                }
            } else {
                problem("source", "\(Self.quoted(s)) is not an area path")
            }
        }

        // kind
        var kind: EventKind?
        if let s = string(kindV, "kind", required: true) {
            if let k = EventKind(rawValue: s) {
                kind = k
            } else {
                problem("kind", "unknown value \(Self.quoted(s)) (expected sensor or report)")
            }
        }

        // type
        var spec: EventTypeSpec?
        if let s = string(typeV, "type", required: true) {
            if let t = catalog.types[s] {
                spec = t
            } else {
                problem("type", "unknown event type \(Self.quoted(s))")
            }
        }
        if let kind, let spec, kind != spec.kind {
            problem("kind", "\(kind.rawValue) does not match type \(spec.name) (\(spec.kind.rawValue))")
        }

        // time
        var time: Timestamp?
        if let s = string(timeV, "time", required: true) {
            if let t = Timestamp(rfc3339: s) {
                if Self.isAhead(t, of: now, by: maxFutureSeconds) {
                    problem("time", "more than \(Self.durationText(maxFutureSeconds)) in the future")
                } else {
                    time = t
                }
            } else {
                problem("time", "\(Self.abbreviate(s)) is not an RFC 3339 time")
            }
        }

        // location
        var location: GeoPoint?
        switch locationV {
        case nil:
            problem("location", "required")
        case .object(let o)?:
            func coordinate(_ name: String, limit: Double) -> Double? {
                let path = "location." + name
                switch o[name] {
                case nil:
                    problem(path, "required")
                case .number(let x)?:
                    if !x.isFinite {
                        problem(path, "expected a finite number")
                    } else if x < -limit || x > limit {
                        let l = JSONWriter.numberText(limit)
                        problem(path, "\(JSONWriter.numberText(x)) is out of range [-\(l), \(l)]")
                    } else {
                        return x
                    }
                case let other?:
                    problem(path, "expected a number, got \(other.abbreviated())")
                }
                return nil
            }
            let lat = coordinate("lat", limit: 90)
            let lon = coordinate("lon", limit: 180)
            for m in o.members where m.key != "lat" && m.key != "lon" {
                problem("location." + Self.pathName(m.key), "unknown field")
            }
            if let lat, let lon { location = GeoPoint(lat: lat, lon: lon) }
        case let other?:
            problem("location", "expected an object, got \(other.abbreviated())")
        }

        // area
        var area: AreaPath?
        if let s = string(areaV, "area", required: false) {
            if let path = AreaPath(s) {
                if let sourceSyntax, !path.isWithin(sourceSyntax) {
                    problem("area", "\(s) is not within source \(sourceSyntax)")
                } else if !areas.contains(path) {
                    problem("area", "\(s) is not a registered area")
                } else {
                    area = path
                }
            } else {
                problem("area", "\(Self.quoted(s)) is not an area path")
            }
        }

        // values
        var values = EventValues()
        switch valuesV {
        case nil:
            if let spec {
                for v in spec.values where !v.optional { problem("values." + v.name, "required") }
            }
        case .object(let o)?:
            for m in o.members {
                if let spec, spec.value(named: m.key) == nil {
                    problem("values." + Self.pathName(m.key), "unknown value for \(spec.name)")
                    continue
                }
                switch m.value {
                case .number(let x):
                    if x.isFinite {
                        values.append(m.key, x)  // (the parser refuses a repeated key)
                    } else {
                        problem("values." + Self.pathName(m.key), "expected a finite number")
                    }
                default:
                    problem("values." + Self.pathName(m.key), "expected a number, got \(m.value.abbreviated())")
                }
            }
            if let spec {
                for v in spec.values where !v.optional && o[v.name] == nil { problem("values." + v.name, "required") }
            }
        case let other?:
            problem("values", "expected an object, got \(other.abbreviated())")
        }

        // text
        let text = string(textV, "text", required: false)
        if let text, text.utf8.count > Self.maxTextBytes {
            problem("text", "longer than \(Self.maxTextBytes) bytes")
        }

        // status
        var status = Status.actual
        if let s = string(statusV, "status", required: false) {
            if let st = Status(rawValue: s) {
                status = st
            } else {
                problem("status", "unknown value \(Self.quoted(s)) (expected actual, exercise or test)")
            }
        }

        // device
        let device = string(deviceV, "device", required: false)
        if let device, device.utf8.count > Self.maxDeviceBytes {
            problem("device", "longer than \(Self.maxDeviceBytes) bytes")
        }

        for name in unknownFields { problem(Self.pathName(name), "unknown field") }

        guard problems.isEmpty, let id, let source, let kind, let spec, let time, let location else {
            if problems.isEmpty { problem("", "invalid event") }  // unreachable: every nil above records a problem
            return .failure(EventRejection(id: id, problems: problems))
        }
        return .success(
            Event(
                id: id, source: source, kind: kind, type: spec.name, time: time, location: location,
                area: area ?? source, values: values, text: text, status: status, device: device))
    }

    // MARK: The common case, without a JSON tree

    /// Decodes a valid event straight from its bytes: no `JSONValue` tree, no strings for keys, no dictionary but
    /// `values`. It takes the common case only: known fields, each once; strings of printable ASCII without
    /// escapes; every field valid. At the first thing that is not, it returns nil without saying why, and the
    /// full path (`JSONValue.parse`, then `decode(object:now:)`) decides and words every problem. It therefore
    /// accepts nothing that path rejects and gives the same event (`EventDecoderTests` runs both on valid and
    /// broken frames); printable ASCII keeps the content rules for text (control and bidirectional characters)
    /// in that path alone. It costs about half of the full path, which ingest pays once per event and the classify
    /// worker again. Keep it in step with `decode(object:now:)`: a new rule there is a new check here.
    /// Without `details`, `text` and `device` are checked but not kept (`decodeWithoutDetails`).
    func decodeCommon(_ buffer: UnsafeRawBufferPointer, now: Timestamp, details: Bool = true) -> Event? {
        guard let base = buffer.baseAddress, buffer.count > 0, buffer.count <= Self.maxEventBytes else { return nil }
        var scan = CommonEventScan(JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: buffer.count))
        guard scan.scan(), let id = scan.id, let source = scan.source, let kind = scan.kind, let type = scan.type,
              let time = scan.time, let lat = scan.lat, let lon = scan.lon
        else { return nil }
        let s = scan.s
        // The checks of `decode(object:now:)`, in its order. Printable ASCII ids hold no control character.
        guard id.count >= 1, id.count <= Self.maxIdBytes else { return nil }
        // Only registered areas pass, and those are valid paths: no syntax check of its own is needed.
        guard let sourcePath = lexicon.path(s.p + source.lowerBound, count: source.count) else { return nil }
        let eventKind: EventKind
        if s.bytes(kind, equalWord: "sensor") {
            eventKind = .sensor
        } else if s.bytes(kind, equalWord: "report") {
            eventKind = .report
        } else {
            return nil
        }
        guard let entry = lexicon.type(s.p + type.lowerBound, count: type.count), entry.spec.kind == eventKind
        else { return nil }
        guard let micros = Timestamp.parseRFC3339(UnsafeBufferPointer(start: s.p + time.lowerBound, count: time.count))
        else { return nil }
        let when = Timestamp(micros: micros)
        guard !Self.isAhead(when, of: now, by: maxFutureSeconds) else { return nil }
        guard lat.isFinite, lon.isFinite, lat >= -90, lat <= 90, lon >= -180, lon <= 180 else { return nil }
        var areaPath = sourcePath
        if let area = scan.area {
            guard let path = lexicon.path(s.p + area.lowerBound, count: area.count), path.isWithin(sourcePath)
            else { return nil }
            areaPath = path
        }
        // (The spec is read through its entry: a copy of it would count a reference on each of its arrays.)
        guard entry.spec.values.count <= 64, let (values, seen) = scan.values(of: entry) else { return nil }
        for (index, v) in entry.spec.values.enumerated() where !v.optional && seen & (1 << index) == 0 { return nil }
        if let text = scan.text, text.count > Self.maxTextBytes { return nil }
        var eventStatus = Status.actual
        if let status = scan.status {
            if s.bytes(status, equalWord: "actual") {
                eventStatus = .actual
            } else if s.bytes(status, equalWord: "exercise") {
                eventStatus = .exercise
            } else if s.bytes(status, equalWord: "test") {
                eventStatus = .test
            } else {
                return nil
            }
        }
        if let device = scan.device, device.count > Self.maxDeviceBytes { return nil }
        return Event(
            id: s.string(id), source: sourcePath, kind: eventKind, type: entry.spec.name, time: when,
            location: GeoPoint(lat: lat, lon: lon), area: areaPath, values: values,
            text: details ? scan.text.map(s.string) : nil, status: eventStatus, device: details ? scan.device.map(s.string) : nil)
    }

    // MARK: Helpers

    /// Whether `t` is more than `seconds` after `now`. Without overflow: the classify worker decodes with `now` at
    /// the largest timestamp, where `t - now` traps for a time before 1970.
    static func isAhead(_ t: Timestamp, of now: Timestamp, by seconds: Double) -> Bool {
        let (difference, overflow) = t.micros.subtractingReportingOverflow(now.micros)
        if overflow { return t.micros > now.micros }
        return Double(difference) / 1_000_000 > seconds
    }

    /// A member name as written in a problem's path: an empty name as `""`, which an empty path (a problem with
    /// the whole frame) or a path ending in `.` would not show.
    static func pathName(_ name: String) -> String { name.isEmpty ? "\"\"" : name }

    /// True when the UTF-8 `bytes` hold a Unicode bidirectional control (Bidi_Control: U+061C, U+200E, U+200F,
    /// U+202A-202E, U+2066-2069). Invisible, they reorder how an id shows in a console or a log ("Trojan Source",
    /// CVE-2021-42574); the contract's "no control characters" covers them. Zero-width characters (U+200B-200D,
    /// U+2060, U+FEFF) are format characters, not controls, and stay allowed.
    static func containsBidiControl(_ bytes: some Sequence<UInt8>) -> Bool {
        var before: UInt8 = 0, previous: UInt8 = 0
        for b in bytes {
            if previous == 0xD8 && b == 0x9C { return true }  // U+061C
            if before == 0xE2 && previous == 0x80 && (b == 0x8E || b == 0x8F || (0xAA...0xAE).contains(b)) { return true }
            if before == 0xE2 && previous == 0x81 && (0xA6...0xA9).contains(b) { return true }
            before = previous
            previous = b
        }
        return false
    }

    /// True when `s` holds a C0 control (U+0000-001F), DEL (U+007F) or a C1 control (U+0080-009F).
    static func containsControlCharacter(_ s: String) -> Bool {
        var previous: UInt8 = 0
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F { return true }
            if previous == 0xC2 && b >= 0x80 && b <= 0x9F { return true }
            previous = b
        }
        return false
    }

    static func quoted(_ s: String) -> String { JSONValue.string(s).abbreviated() }

    static func abbreviate(_ s: String, limit: Int = 40) -> String {
        guard s.count > limit else { return s }
        return String(s.prefix(limit - 3)) + "..."
    }

    static func durationText(_ seconds: Double) -> String {
        if seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 {
            return "\(JSONWriter.numberText(seconds / 60)) min"
        }
        return "\(JSONWriter.numberText(seconds)) s"
    }
}

/// The canonical JSON of an event: fields in PROTOCOL.md order (`id`, `source`, `kind`, `type`, `time`,
/// `location` {`lat`, `lon`}, `area`, `values`, `text`, `status`, `device`), `area`, `values` (keys sorted) and
/// `status` always written, `text` and `device` only when present, `time` in UTC (`Timestamp.rfc3339`).
/// `EventDecoder.decode(EventEncoder.encode(e))` gives back `e` for any event the decoder accepts.
public enum EventEncoder {
    public static func encode(_ event: Event) -> [UInt8] {
        var w = JSONWriter(capacity: 384)
        encode(event, into: &w)
        return w.bytes
    }

    public static func encodeString(_ event: Event) -> String { String(decoding: encode(event), as: UTF8.self) }

    public static func encode(_ event: Event, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", event.id)
        w.field("source", event.source.rawValue)
        w.field("kind", event.kind.rawValue)
        w.field("type", event.type)
        w.field("time", event.time.rfc3339)
        w.key("location")
        w.beginObject()
        w.field("lat", event.location.lat)
        w.field("lon", event.location.lon)
        w.endObject()
        w.field("area", event.area.rawValue)
        w.key("values")
        w.beginObject()
        if event.values.count == 1, let only = event.values.first {
            w.field(only.key, only.value)
        } else if !event.values.isEmpty {
            for (k, v) in event.values.sorted(by: { $0.key < $1.key }) { w.field(k, v) }
        }
        w.endObject()
        w.field("text", ifPresent: event.text)
        w.field("status", event.status.rawValue)
        w.field("device", ifPresent: event.device)
        w.endObject()
    }
}

/// The syntax half of `EventDecoder.decodeCommon`: one pass over an event object that records where each field's
/// value is (byte ranges, the two coordinates, where `values` starts) and gives up (false) at anything outside the
/// common case: an unknown or repeated field, a value of another JSON type, a string with an escape or with a
/// byte outside printable ASCII. Syntax errors give up too; the full parser then reports them.
private struct CommonEventScan {
    var s: JSONParser
    var id: Range<Int>?, source: Range<Int>?, kind: Range<Int>?, type: Range<Int>?, time: Range<Int>?
    var area: Range<Int>?, text: Range<Int>?, status: Range<Int>?, device: Range<Int>?
    var lat: Double?, lon: Double?
    /// Where the `values` object starts: read by `values(of:)` once the type (its value names) is known.
    var valuesAt: Int?

    init(_ parser: JSONParser) { s = parser }

    private static var quote: UInt8 { UInt8(ascii: "\"") }

    /// Skips whitespace and takes `c` if it comes next.
    private mutating func next(_ c: UInt8) -> Bool {
        s.skipWhitespace()
        guard s.i < s.end, s.p[s.i] == c else { return false }
        s.i += 1
        return true
    }

    /// A string of printable ASCII (0x20-0x7E) without escapes, from its opening quote; nil otherwise.
    private mutating func ascii() -> Range<Int>? { s.plainString() }

    /// The member names of an event and of its location.
    private enum Name {
        case id, source, kind, type, time, area, text, status, device, values, location, lat, lon
    }

    /// Each name with its quotes as the little-endian word of its first bytes, and how many bytes that is.
    private struct NameWord {
        var word: UInt64, mask: UInt64, count: Int, name: Name
        init(_ text: StaticString, _ name: Name) {
            count = text.utf8CodeUnitCount + 2
            precondition(count <= 8)
            word = UInt64(Self.quote)
            for k in 0..<text.utf8CodeUnitCount { word |= UInt64(text.utf8Start[k]) << UInt64(8 * (k + 1)) }
            word |= UInt64(Self.quote) << UInt64(8 * (count - 1))
            mask = count == 8 ? .max : (1 << UInt64(8 * count)) - 1
            self.name = name
        }
        static let quote = UInt8(ascii: "\"")
    }

    private static let id = NameWord("id", .id), source = NameWord("source", .source)
    private static let kind = NameWord("kind", .kind), type = NameWord("type", .type)
    private static let time = NameWord("time", .time), text = NameWord("text", .text)
    private static let lat = NameWord("lat", .lat), lon = NameWord("lon", .lon), area = NameWord("area", .area)
    private static let values = NameWord("values", .values), status = NameWord("status", .status)
    private static let device = NameWord("device", .device)

    /// A member name of the event or its location and its colon; nil for any other name (or none). A name that
    /// fits in a word with its quotes is matched by the eight bytes it starts (its first letter picks the one or
    /// few it can be): scanning each name as a string and comparing it took about 130 instructions per member,
    /// twice per event (ingest and classify decode it).
    private mutating func name() -> Name? {
        s.skipWhitespace()
        if s.i + 8 <= s.end {
            let w = UnsafeRawPointer(s.p + s.i).loadUnaligned(as: UInt64.self)
            @inline(__always) func matches(_ n: NameWord) -> Bool { w & n.mask == n.word }
            var found: NameWord?
            switch UInt8(truncatingIfNeeded: w >> 8) {
            case UInt8(ascii: "i"): found = matches(Self.id) ? Self.id : nil
            case UInt8(ascii: "s"): found = matches(Self.source) ? Self.source : matches(Self.status) ? Self.status : nil
            case UInt8(ascii: "k"): found = matches(Self.kind) ? Self.kind : nil
            case UInt8(ascii: "t"):
                found = matches(Self.type) ? Self.type : matches(Self.time) ? Self.time : matches(Self.text) ? Self.text : nil
            case UInt8(ascii: "l"): found = matches(Self.lat) ? Self.lat : matches(Self.lon) ? Self.lon : nil
            case UInt8(ascii: "a"): found = matches(Self.area) ? Self.area : nil
            case UInt8(ascii: "v"): found = matches(Self.values) ? Self.values : nil
            case UInt8(ascii: "d"): found = matches(Self.device) ? Self.device : nil
            default: found = nil
            }
            if let n = found {
                s.i += n.count
                guard next(UInt8(ascii: ":")) else { return nil }
                s.skipWhitespace()
                return n.name
            }
        }
        guard let k = key() else { return nil }
        switch k.count {
        case 2 where s.bytes(k, equalWord: "id"): return .id
        case 3 where s.bytes(k, equalWord: "lat"): return .lat
        case 3 where s.bytes(k, equalWord: "lon"): return .lon
        case 4 where s.bytes(k, equalWord: "kind"): return .kind
        case 4 where s.bytes(k, equalWord: "type"): return .type
        case 4 where s.bytes(k, equalWord: "time"): return .time
        case 4 where s.bytes(k, equalWord: "area"): return .area
        case 4 where s.bytes(k, equalWord: "text"): return .text
        case 6 where s.bytes(k, equalWord: "source"): return .source
        case 6 where s.bytes(k, equalWord: "status"): return .status
        case 6 where s.bytes(k, equalWord: "device"): return .device
        case 6 where s.bytes(k, equalWord: "values"): return .values
        case 8 where s.bytes(k, equalWord: "location"): return .location
        default: return nil
        }
    }

    /// A member name and its colon.
    private mutating func key() -> Range<Int>? {
        s.skipWhitespace()
        guard let k = ascii(), next(UInt8(ascii: ":")) else { return nil }
        s.skipWhitespace()
        return k
    }

    /// A number (the full parser's grammar and conversion).
    private mutating func number() -> Double? {
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "-") || (s.p[s.i] >= 0x30 && s.p[s.i] <= 0x39) else { return nil }
        do throws(JSONParseError) { return try s.parseNumber() } catch { return nil }
    }

    /// The value of a string field whose slot holds `current`: nil when the field came before (a repeated key).
    private mutating func first(_ current: Range<Int>?) -> Range<Int>? {
        current == nil ? ascii() : nil
    }

    /// The whole object, then nothing but whitespace.
    mutating func scan() -> Bool {
        guard next(UInt8(ascii: "{")) else { return false }
        repeat {
            guard let k = name() else { return false }
            let ok: Bool
            switch k {
            case .id:
                id = first(id)
                ok = id != nil
            case .source:
                source = first(source)
                ok = source != nil
            case .kind:
                kind = first(kind)
                ok = kind != nil
            case .type:
                type = first(type)
                ok = type != nil
            case .time:
                time = first(time)
                ok = time != nil
            case .area:
                area = first(area)
                ok = area != nil
            case .text:
                text = first(text)
                ok = text != nil
            case .status:
                status = first(status)
                ok = status != nil
            case .device:
                device = first(device)
                ok = device != nil
            case .location: ok = location()
            case .values: ok = skipValues()
            case .lat, .lon: ok = false
            }
            guard ok else { return false }
        } while next(UInt8(ascii: ","))
        guard next(UInt8(ascii: "}")) else { return false }
        s.skipWhitespace()
        return s.i == s.end
    }

    /// `{"lat": x, "lon": y}` in either order, nothing else.
    private mutating func location() -> Bool {
        guard lat == nil, lon == nil, next(UInt8(ascii: "{")) else { return false }
        repeat {
            switch name() {
            case .lat? where lat == nil:
                lat = number()
                if lat == nil { return false }
            case .lon? where lon == nil:
                lon = number()
                if lon == nil { return false }
            default:
                return false
            }
        } while next(UInt8(ascii: ","))
        return next(UInt8(ascii: "}")) && lat != nil && lon != nil
    }

    /// An object of numbers, checked for syntax only and read again by `values(of:)`.
    private mutating func skipValues() -> Bool {
        guard valuesAt == nil, s.i < s.end, s.p[s.i] == UInt8(ascii: "{") else { return false }
        valuesAt = s.i
        s.i += 1
        if next(UInt8(ascii: "}")) { return true }
        repeat {
            guard key() != nil, number() != nil else { return false }
        } while next(UInt8(ascii: ","))
        return next(UInt8(ascii: "}"))
    }

    /// The `values` object read against `spec` (every name one of its values, each once, every number finite),
    /// with a bit per value of the spec that was given; `([:], 0)` when there was none. Nil otherwise.
    mutating func values(of entry: DecoderLexicon.TypeEntry) -> (values: EventValues, seen: UInt64)? {
        guard let valuesAt else { return ([:], 0) }
        let valueSpecs = entry.spec.values  // (the value list alone, not a copy of the whole spec)
        var values = EventValues()
        var seen: UInt64 = 0
        s.i = valuesAt + 1
        while true {
            s.skipWhitespace()
            guard s.i < s.end, s.p[s.i] == Self.quote else { break }
            guard let name = key(),
                  let index = valueSpecs.firstIndex(where: { s.bytes(name, equalText: $0.name) }),
                  seen & (1 << index) == 0, let x = number(), x.isFinite
            else { return nil }
            seen |= 1 << index
            values.append(valueSpecs[index].name, x)  // (`seen` refuses a repeated name)
            _ = next(UInt8(ascii: ","))
        }
        return (values, seen)
    }
}
