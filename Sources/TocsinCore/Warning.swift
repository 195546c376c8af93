// Warnings: what a command center receives about an incident (PROTOCOL.md "Warning"), CAP-shaped.

/// One warning on the feed. Built only by `WarningBook`, from an `Incident` (or decoded from its own JSON).
///
/// The drill fence is a property of the types: `status` is a `let` that `WarningBook` copies from the
/// incident, whose own `status` is a `let` fixed by the events (events of another status never join an
/// incident); `topic` is derived from `status`. So only `actual` events can lead to an `actual/` topic.
///
/// Extensions to the wire table (PROTOCOL.md allows new optional fields): `acknowledgedBy` and
/// `acknowledgedAt`, present in the JSON once the warning has been acknowledged (the `ack` op).
public struct Warning: Sendable, Hashable, Codable, Identifiable {
    public enum MessageType: String, Sendable, Hashable, Codable, CaseIterable {
        /// The first warning of an incident.
        case alert
        /// Tier, owner or area changed, or an escalation.
        case update
        /// The incident closed.
        case cancel

        /// The CAP 1.2 `<msgType>`: `Alert`, `Update`, `Cancel`.
        public var capValue: String {
            switch self {
            case .alert: "Alert"
            case .update: "Update"
            case .cancel: "Cancel"
            }
        }
    }

    /// The incident's centre and extent.
    public struct Location: Sendable, Hashable, Codable {
        public var lat: Double
        public var lon: Double
        public var radiusM: Double
        public init(lat: Double, lon: Double, radiusM: Double) {
            self.lat = lat
            self.lon = lon
            self.radiusM = radiusM
        }
    }

    /// What the warning rests on.
    public struct Evidence: Sendable, Hashable, Codable {
        /// The number of events of the incident.
        public var events: Int
        public var first: Timestamp
        public var last: Timestamp
        /// Up to 5 ids of the incident's first events.
        public var sample: [String]
        public init(events: Int, first: Timestamp, last: Timestamp, sample: [String]) {
            self.events = events
            self.first = first
            self.last = last
            self.sample = sample
        }
    }

    // The stored properties are declared words first, the one-byte ones last: in the contract's order, padding
    // made a warning 257 bytes; in this order it is 231, and an incident's array of one takes a 272-byte block of
    // the allocator instead of 304. `CodingKeys` keeps the contract's order for the encoded form.

    /// `w-<n>`, unique.
    public let id: String
    /// The feed sequence number.
    public internal(set) var seq: Int64
    /// The incident's id.
    public let incident: String
    /// Ids of all earlier warnings of the incident, oldest first.
    public let references: [String]
    public let capCategory: [CAPCategory]
    /// The incident type, e.g. `flood`.
    public let event: String
    public let headline: String
    public let instruction: String
    /// The incident's area.
    public let area: AreaPath
    /// The owning area: the ancestor of `area` at `level` (`area` itself when it is above that level).
    public let owner: AreaPath
    public let location: Location
    public let sent: Timestamp
    public let evidence: Evidence
    /// Extension: who acknowledged the warning (the owner or one of its ancestors).
    public internal(set) var acknowledgedBy: AreaPath?
    /// Extension: when it was acknowledged.
    public internal(set) var acknowledgedAt: Timestamp?
    public let msgType: MessageType
    public let status: Status
    public let tier: Tier
    public let category: Category
    /// The owning command level.
    public let level: Level
    /// True when the owner is above the tier's own level because a lower owner did not acknowledge in time.
    public let escalated: Bool

    private enum CodingKeys: String, CodingKey {
        case id, seq, incident, msgType, references, status, tier, category, capCategory, event, headline
        case instruction, area, level, owner, location, sent, evidence, escalated, acknowledgedBy, acknowledgedAt
    }

    /// The colour of the tier: `blue`, `yellow`, `orange`, `red`.
    public var color: String { tier.color }

    /// The feed topic: `<status>/warning/<level>/<area>.` (the incident's area, then a final `.`).
    public var topic: String { FeedKind.topic(status: status, kind: "warning", level: level, area: area) }

    public var isAcknowledged: Bool { acknowledgedAt != nil }

    /// A warning about `incident`: status, category, CAP categories, event, area, location and evidence come
    /// from it; `owner` is the area's ancestor at `level` (the book passes its shared copy). Internal: only
    /// `WarningBook` issues warnings.
    init(
        id: String, seq: Int64, about incident: Incident, msgType: MessageType, references: [String], tier: Tier,
        headline: String, instruction: String, level: Level, owner: AreaPath? = nil, escalated: Bool, sent: Timestamp
    ) {
        self.id = id
        self.seq = seq
        self.incident = incident.id
        self.msgType = msgType
        self.references = references
        self.status = incident.status
        self.tier = tier
        self.category = incident.category
        self.capCategory = incident.capCategories
        self.event = incident.type
        self.headline = headline
        self.instruction = instruction
        self.area = incident.area
        self.level = level
        self.owner = owner ?? incident.area.ancestor(at: level)
        self.location = Location(
            lat: Self.rounded(incident.center.lat, places: 6), lon: Self.rounded(incident.center.lon, places: 6),
            radiusM: Self.rounded(incident.radiusM, places: 1))
        self.sent = sent
        self.evidence = Evidence(
            events: incident.eventCount, first: incident.firstTime, last: incident.lastTime, sample: incident.sampleIDs)
        self.escalated = escalated
        self.acknowledgedBy = nil
        self.acknowledgedAt = nil
    }

    /// The full initializer, for decoding.
    init(
        id: String, seq: Int64, incident: String, msgType: MessageType, references: [String], status: Status,
        tier: Tier, category: Category, capCategory: [CAPCategory], event: String, headline: String,
        instruction: String, area: AreaPath, level: Level, owner: AreaPath, location: Location, sent: Timestamp,
        evidence: Evidence, escalated: Bool, acknowledgedBy: AreaPath?, acknowledgedAt: Timestamp?
    ) {
        self.id = id
        self.seq = seq
        self.incident = incident
        self.msgType = msgType
        self.references = references
        self.status = status
        self.tier = tier
        self.category = category
        self.capCategory = capCategory
        self.event = event
        self.headline = headline
        self.instruction = instruction
        self.area = area
        self.level = level
        self.owner = owner
        self.location = location
        self.sent = sent
        self.evidence = evidence
        self.escalated = escalated
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
    }

    /// `x` rounded to `places` decimals (the wire needs no more: 1e-6 degrees is about 0.1 m).
    static func rounded(_ x: Double, places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (x * scale).rounded() / scale
    }
}

// MARK: - JSON

/// Why a JSON object is not a warning: `path: message`, e.g. `tier: unknown value "V"`.
public struct WarningDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

extension Warning {
    /// Writes the warning as one JSON object with exactly the field names of PROTOCOL.md's Warning table, in its
    /// order, times in RFC 3339 (UTC); then the extension fields, only when set.
    public func write(to w: inout JSONWriter) { write(to: &w, codableForm: false) }

    /// `codableForm`: exactly as the `Codable` conformance encodes it (no `color`, times as `{"micros": N}`), the
    /// form of the stored snapshots (`WarningBook.threadSnapshot`); otherwise the wire form.
    func write(to w: inout JSONWriter, codableForm: Bool) {
        w.beginObject()
        w.field("id", id)
        w.field("seq", Int(seq))
        w.field("incident", incident)
        w.field("msgType", msgType.rawValue)
        w.key("references")
        w.beginArray()
        for r in references { w.value(r) }
        w.endArray()
        w.field("status", status.rawValue)
        w.field("tier", tier.rawValue)
        if !codableForm { w.field("color", color) }
        w.field("category", category.rawValue)
        w.key("capCategory")
        w.beginArray()
        for c in capCategory { w.value(c.rawValue) }
        w.endArray()
        w.field("event", event)
        w.field("headline", headline)
        w.field("instruction", instruction)
        w.field("area", area.rawValue)
        w.field("level", level.rawValue)
        w.field("owner", owner.rawValue)
        w.key("location")
        w.beginObject()
        w.field("lat", location.lat)
        w.field("lon", location.lon)
        w.field("radiusM", location.radiusM)
        w.endObject()
        w.field("sent", sent, codableForm: codableForm)
        w.key("evidence")
        w.beginObject()
        w.field("events", evidence.events)
        w.field("first", evidence.first, codableForm: codableForm)
        w.field("last", evidence.last, codableForm: codableForm)
        w.key("sample")
        w.beginArray()
        for s in evidence.sample { w.value(s) }
        w.endArray()
        w.endObject()
        w.field("escalated", escalated)
        if let acknowledgedBy { w.field("acknowledgedBy", acknowledgedBy.rawValue) }
        if let acknowledgedAt { w.field("acknowledgedAt", acknowledgedAt, codableForm: codableForm) }
        w.endObject()
    }

    /// The warning as compact JSON bytes (the feed body).
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 1024)
        write(to: &w)
        return w.bytes
    }

    /// The warning as a compact JSON string.
    public var jsonString: String { String(decoding: json, as: UTF8.self) }

    /// Decodes a warning from its JSON bytes.
    public init(json bytes: [UInt8]) throws(WarningDecodingError) {
        if let warning = Self(recordJSON: bytes) {
            self = warning
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw WarningDecodingError(path: "", message: "not JSON: \(error)")
        }
        try self.init(json: value)
    }

    /// Decodes a warning from a parsed JSON object as `write(to:)` produces it. Fields beyond the wire table
    /// and its extensions are ignored (a newer writer may add optional fields); `color` must match `tier`.
    public init(json value: JSONValue) throws(WarningDecodingError) {
        guard case .object(let o) = value else {
            throw WarningDecodingError(path: "", message: "expected a JSON object, got \(value.abbreviated())")
        }
        let r = JSONFields(object: o, prefix: "")
        let tier: Tier = try r.enumValue("tier")
        let color = try r.string("color")
        guard color == tier.color else {
            throw WarningDecodingError(path: "color", message: "\(color) does not match tier \(tier.rawValue)")
        }
        let loc = try r.object("location")
        let ev = try r.object("evidence")
        let seq = try r.number("seq")
        guard seq >= 0, seq == seq.rounded(), seq < 9_007_199_254_740_992 else {
            throw WarningDecodingError(path: "seq", message: "expected a non-negative integer")
        }
        let events = try ev.number("events")
        guard events >= 0, events == events.rounded(), events < 9_007_199_254_740_992 else {
            throw WarningDecodingError(path: "evidence.events", message: "expected a non-negative integer")
        }
        var caps: [CAPCategory] = []
        for (i, s) in try r.strings("capCategory").enumerated() {
            guard let c = CAPCategory(rawValue: s) else {
                throw WarningDecodingError(path: "capCategory[\(i)]", message: "unknown value \(JSONWriter.quoted(s))")
            }
            caps.append(c)
        }
        let location = Location(lat: try loc.number("lat"), lon: try loc.number("lon"), radiusM: try loc.number("radiusM"))
        let evidence = Evidence(
            events: Int(events), first: try ev.time("first"), last: try ev.time("last"), sample: try ev.strings("sample"))
        let acknowledgedBy: AreaPath? = r.has("acknowledgedBy") ? try r.area("acknowledgedBy") : nil
        let acknowledgedAt: Timestamp? = r.has("acknowledgedAt") ? try r.time("acknowledgedAt") : nil
        self.init(
            id: try r.string("id"), seq: Int64(seq), incident: try r.string("incident"),
            msgType: try r.enumValue("msgType"), references: try r.strings("references"),
            status: try r.enumValue("status"), tier: tier, category: try r.enumValue("category"), capCategory: caps,
            event: try r.string("event"), headline: try r.string("headline"),
            instruction: try r.string("instruction"), area: try r.area("area"), level: try r.enumValue("level"),
            owner: try r.area("owner"), location: location, sent: try r.time("sent"), evidence: evidence,
            escalated: try r.bool("escalated"), acknowledgedBy: acknowledgedBy, acknowledgedAt: acknowledgedAt)
    }
}

extension Warning {
    /// The members of a warning: the twenty of the wire table (all required), then the two extensions.
    fileprivate static let memberNames: [StaticString] = [
        "id", "seq", "incident", "msgType", "references", "status", "tier", "color", "category", "capCategory",
        "event", "headline", "instruction", "area", "level", "owner", "location", "sent", "evidence", "escalated",
        "acknowledgedBy", "acknowledgedAt",
    ]
    private static let locationNames: [StaticString] = ["lat", "lon", "radiusM"]

    /// What a warning tells the plan book (`PlanBook.warningIssued`): whose incident, which plan, how serious,
    /// where and when. Read from a feed message with the rest passed over (the full decode was a tenth of the
    /// plan worker's work per warned incident).
    public struct Activation: Sendable, Hashable {
        public var incident: String
        public var msgType: MessageType
        public var status: Status
        public var tier: Tier
        /// The incident type: the plan's.
        public var event: String
        public var area: AreaPath
        public var level: Level
        public var sent: Timestamp

        public init(_ w: Warning) {
            self.init(incident: w.incident, msgType: w.msgType, status: w.status, tier: w.tier, event: w.event,
                      area: w.area, level: w.level, sent: w.sent)
        }

        init(incident: String, msgType: MessageType, status: Status, tier: Tier, event: String, area: AreaPath,
             level: Level, sent: Timestamp) {
            self.incident = incident
            self.msgType = msgType
            self.status = status
            self.tier = tier
            self.event = event
            self.area = area
            self.level = level
            self.sent = sent
        }

        /// Nil when `bytes` are not a warning object with these members as `Warning.json` writes them (the full
        /// decoder then reports what is wrong).
        public init?(json bytes: [UInt8]) {
            let read: Self? = JSONRecordScanner.read(bytes) { r in
                var incident: String?, msgType: MessageType?, status: Status?, tier: Tier?, event: String?
                var area: AreaPath?, level: Level?, sent: Timestamp?
                let seen = r.object(Warning.memberNames) { r, k in
                    switch k {
                    case 2: incident = r.string(); return incident != nil
                    case 3: msgType = r.enumValue(); return msgType != nil
                    case 5: status = r.enumValue(); return status != nil
                    case 6: tier = r.enumValue(); return tier != nil
                    case 10: event = r.string(); return event != nil
                    case 13: area = r.area(); return area != nil
                    case 14: level = r.enumValue(); return level != nil
                    case 17: sent = r.time(); return sent != nil
                    default: return r.skipValue()
                    }
                }
                guard let seen, r.atEnd(), seen.contains(first: 20), let incident, let msgType, let status, let tier,
                      let event, let area, let level, let sent else { return nil }
                return Self(incident: incident, msgType: msgType, status: status, tier: tier, event: event, area: area,
                            level: level, sent: sent)
            }
            guard let read else { return nil }
            self = read
        }
    }
    private static let evidenceNames: [StaticString] = ["events", "first", "last", "sample"]

    /// The fast path of `init(json:)` (`JSONRecordScanner`): the warning exactly as the full decoder reads it,
    /// or nil for anything else, which the full decoder then reads (or rejects with its error).
    init?(recordJSON bytes: [UInt8]) {
        let read: Self? = JSONRecordScanner.read(bytes) { r in
            var id: String?, seq: Int64?, incident: String?, msgType: MessageType?, references: [String]?
            var status: Status?, tier: Tier?, color: String?, category: Category?, capCategory: [CAPCategory]?
            var event: String?, headline: String?, instruction: String?, area: AreaPath?, level: Level?
            var owner: AreaPath?, location: Location?, sent: Timestamp?, evidence: Evidence?, escalated: Bool?
            var acknowledgedBy: AreaPath?, acknowledgedAt: Timestamp?
            let seen = r.object(Self.memberNames) { r, k in
                switch k {
                case 0: id = r.string(); return id != nil
                case 1: seq = r.count(); return seq != nil
                case 2: incident = r.string(); return incident != nil
                case 3: msgType = r.enumValue(); return msgType != nil
                case 4: references = r.strings(); return references != nil
                case 5: status = r.enumValue(); return status != nil
                case 6: tier = r.enumValue(); return tier != nil
                case 7: color = r.string(); return color != nil
                case 8: category = r.enumValue(); return category != nil
                case 9:
                    guard let texts = r.strings() else { return false }
                    let caps = texts.compactMap(CAPCategory.init(rawValue:))
                    capCategory = caps
                    return caps.count == texts.count
                case 10: event = r.string(); return event != nil
                case 11: headline = r.string(); return headline != nil
                case 12: instruction = r.string(); return instruction != nil
                case 13: area = r.area(); return area != nil
                case 14: level = r.enumValue(); return level != nil
                case 15: owner = r.area(); return owner != nil
                case 16: location = Self.location(&r); return location != nil
                case 17: sent = r.time(); return sent != nil
                case 18: evidence = Self.evidence(&r); return evidence != nil
                case 19: escalated = r.bool(); return escalated != nil
                case 20: acknowledgedBy = r.area(); return acknowledgedBy != nil
                default: acknowledgedAt = r.time(); return acknowledgedAt != nil
                }
            }
            guard let seen, r.atEnd(), seen.contains(first: 20), let id, let seq, let incident, let msgType,
                  let references, let status, let tier, let color, color == tier.color, let category,
                  let capCategory, let event, let headline, let instruction, let area, let level, let owner,
                  let location, let sent, let evidence, let escalated
            else { return nil }
            return Self(
                id: id, seq: seq, incident: incident, msgType: msgType, references: references, status: status,
                tier: tier, category: category, capCategory: capCategory, event: event, headline: headline,
                instruction: instruction, area: area, level: level, owner: owner, location: location, sent: sent,
                evidence: evidence, escalated: escalated, acknowledgedBy: acknowledgedBy,
                acknowledgedAt: acknowledgedAt)
        }
        guard let read else { return nil }
        self = read
    }

    private static func location(_ r: inout JSONRecordScanner) -> Location? {
        var values: [Double] = [0, 0, 0]
        guard let seen = r.object(locationNames, { r, k in
            guard let x = r.number() else { return false }
            values[k] = x
            return true
        }), seen.contains(first: 3) else { return nil }
        return Location(lat: values[0], lon: values[1], radiusM: values[2])
    }

    private static func evidence(_ r: inout JSONRecordScanner) -> Evidence? {
        var events: Int64?, first: Timestamp?, last: Timestamp?, sample: [String]?
        guard r.object(evidenceNames, { r, k in
            switch k {
            case 0: events = r.count(); return events != nil
            case 1: first = r.time(); return first != nil
            case 2: last = r.time(); return last != nil
            default: sample = r.strings(); return sample != nil
            }
        }) != nil, let events, let first, let last, let sample else { return nil }
        return Evidence(events: Int(events), first: first, last: last, sample: sample)
    }
}

/// Typed field access with `path: message` errors, for decoding our own JSON objects.
struct JSONFields {
    var object: JSONObject
    var prefix: String

    func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func has(_ key: String) -> Bool { object[key] != nil }

    func value(_ key: String) throws(WarningDecodingError) -> JSONValue {
        guard let v = object[key] else { throw WarningDecodingError(path: path(key), message: "required") }
        return v
    }

    func fail(_ key: String, _ what: String, _ v: JSONValue) -> WarningDecodingError {
        WarningDecodingError(path: path(key), message: "expected \(what), got \(v.abbreviated())")
    }

    func string(_ key: String) throws(WarningDecodingError) -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw fail(key, "a string", v) }
        return s
    }

    func number(_ key: String) throws(WarningDecodingError) -> Double {
        let v = try value(key)
        guard case .number(let x) = v, x.isFinite else { throw fail(key, "a finite number", v) }
        return x
    }

    func bool(_ key: String) throws(WarningDecodingError) -> Bool {
        let v = try value(key)
        guard case .bool(let b) = v else { throw fail(key, "a boolean", v) }
        return b
    }

    func strings(_ key: String) throws(WarningDecodingError) -> [String] {
        let v = try value(key)
        guard case .array(let a) = v else { throw fail(key, "an array", v) }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard case .string(let s) = e else { throw fail("\(key)[\(i)]", "a string", e) }
            out.append(s)
        }
        return out
    }

    func object(_ key: String) throws(WarningDecodingError) -> JSONFields {
        let v = try value(key)
        guard case .object(let o) = v else { throw fail(key, "an object", v) }
        return JSONFields(object: o, prefix: path(key))
    }

    func enumValue<E: RawRepresentable & CaseIterable>(_ key: String) throws(WarningDecodingError) -> E
    where E.RawValue == String {
        let s = try string(key)
        guard let e = E(rawValue: s) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw WarningDecodingError(
                path: path(key), message: "unknown value \(JSONWriter.quoted(s)) (expected \(allowed))")
        }
        return e
    }

    func area(_ key: String) throws(WarningDecodingError) -> AreaPath {
        let s = try string(key)
        guard let a = AreaPath(s) else {
            throw WarningDecodingError(path: path(key), message: "\(JSONWriter.quoted(s)) is not an area path")
        }
        return a
    }

    func time(_ key: String) throws(WarningDecodingError) -> Timestamp {
        let s = try string(key)
        guard let t = Timestamp(rfc3339: s) else {
            throw WarningDecodingError(path: path(key), message: "\(s) is not an RFC 3339 time")
        }
        return t
    }
}
