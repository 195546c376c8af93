// Incidents: events about the same thing (same incident type and status, near in space and time) merged into
// one record with a tier and a lifecycle. Built and changed only by `IncidentEngine`.

/// Why an incident closed.
public enum CloseReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// No new event for the incident type's quiet period.
    case quiet
    /// An all-clear from a command center (the `close` op).
    case allClear = "all_clear"
}

/// One incident: the merged facts of its events, its tier and its lifecycle.
///
/// Only `IncidentEngine` creates incidents, from events. `status` is fixed by the event that opened the incident
/// and events of another status never join it, so an incident's status is always that of all of its events
/// (the drill fence: only `actual` events make an `actual` incident).
public struct Incident: Sendable, Hashable, Codable, Identifiable {
    /// The smallest extent reported, in metres, so that a one-event incident still has an area on a map.
    public static let minimumRadiusM = 50.0
    /// How many event ids `sampleIDs` keeps.
    public static let sampleSize = 5

    /// `inc-<openingSeq>`: deterministic, so that a replay of the journal yields the same ids.
    public let id: String
    /// The journal sequence number of the event that opened the incident.
    public let openingSeq: Int64
    /// The incident type, e.g. `flood`. (Set only to a shared copy of the same text.)
    public internal(set) var type: String
    public internal(set) var capCategories: [CAPCategory]
    /// The lowest common ancestor of its events' areas.
    public internal(set) var area: AreaPath
    /// The running mean of its events' locations (plain mean of degrees: fine away from the antimeridian).
    public internal(set) var center: GeoPoint
    /// An upper bound of the distance from `center` to its farthest event, kept without storing locations: the
    /// smaller of two bounds, `max(previous extent + centre shift, distance to the new event)` (triangle
    /// inequality; exact for one and two events) and the distance to the farthest corner of `bounds` (at most
    /// about 1.42 x the true value however many events).
    public internal(set) var extentM: Double
    /// The bounding box of its events' locations.
    public internal(set) var bounds: GeoBox
    /// The earliest and latest event time (events may arrive slightly out of order).
    public internal(set) var firstTime: Timestamp
    public internal(set) var lastTime: Timestamp
    public internal(set) var eventCount: Int
    /// Ids of its first `sampleSize` events, in the order they were applied.
    public internal(set) var sampleIDs: [String] {
        get { samples.array }
        set { samples = SampleIDs(newValue) }
    }
    /// `sampleIDs` in one string.
    var samples: SampleIDs
    /// Number of events per event type.
    public internal(set) var counts: [String: Int] {
        get { typeCounts.dictionary }
        set { typeCounts = TypeCounts(newValue) }
    }
    /// `counts`, without a dictionary of its own while the incident has one event type (the common case).
    var typeCounts: TypeCounts
    /// Per event type, per value name: the sum or the maximum (per the value's `aggregate`) over its events.
    public internal(set) var aggregates: [String: [String: Double]] {
        get { typeAggregates.dictionary }
        set { typeAggregates = TypeAggregates(newValue) }
    }
    /// `aggregates` as one flat list (no dictionary per incident and per type).
    var typeAggregates: TypeAggregates
    /// Increases on every change that matters to a warning: facts (count, aggregates), tier, area, open/closed.
    public internal(set) var version: Int
    public internal(set) var closedAt: Timestamp?
    // The one-byte properties last, after the words (no padding between them: 8 bytes less per incident).
    /// The status of every one of its events.
    public let status: Status
    public let category: Category
    /// The highest tier any of its event types' conditions reach; `nil` while below IV.
    public internal(set) var tier: Tier?
    public internal(set) var isOpen: Bool
    public internal(set) var closeReason: CloseReason?

    // The form the synthesized conformance had (`typeCounts` and `typeAggregates` encode as the `counts` and
    // `aggregates` dictionaries).
    private enum CodingKeys: String, CodingKey {
        case id, openingSeq, type, status, category, capCategories, area, center, extentM, bounds, firstTime, lastTime
        case eventCount, samples = "sampleIDs", typeCounts = "counts", typeAggregates = "aggregates", tier, isOpen, version, closedAt, closeReason
    }

    /// The extent around `center` with a floor of `minimumRadiusM`.
    public var radiusM: Double { max(Self.minimumRadiusM, extentM) }

    /// The number of events of `eventType` in the incident.
    public func count(of eventType: String) -> Int { typeCounts.count(of: eventType) }

    /// The aggregate of `value` over the incident's events of `eventType`; `nil` when never reported.
    public func aggregate(_ value: String, of eventType: String) -> Double? { typeAggregates.value(value, of: eventType) }

    /// The incident's number (`openingSeq`) from an id `inc-<n>`.
    public static func number(fromID id: String) -> Int64? {
        guard id.hasPrefix("inc-") else { return nil }
        return Int64(id.dropFirst(4))
    }

    /// A new incident holding exactly `event`.
    init(opening event: Event, seq: Int64, spec: IncidentTypeSpec, eventSpec: EventTypeSpec, catalog: Catalog) {
        id = "inc-\(seq)"
        openingSeq = seq
        type = spec.name
        status = event.status
        category = spec.category
        capCategories = spec.capCategories
        area = event.area
        center = event.location
        extentM = 0
        bounds = GeoBox(event.location)
        firstTime = event.time
        lastTime = event.time
        eventCount = 0
        samples = SampleIDs()
        typeCounts = TypeCounts()
        typeAggregates = TypeAggregates()
        tier = nil
        isOpen = true
        version = 0
        closedAt = nil
        closeReason = nil
        absorb(event, spec: eventSpec, catalog: catalog)
    }

    /// Adds one event's facts. The caller has checked type, status, distance and time.
    mutating func absorb(_ event: Event, spec: EventTypeSpec, catalog: Catalog) {
        eventCount += 1
        let n = Double(eventCount)
        let old = center
        center = GeoPoint(
            lat: old.lat + (event.location.lat - old.lat) / n,
            lon: old.lon + (event.location.lon - old.lon) / n)
        bounds.include(event.location)
        if eventCount == 1 {
            extentM = 0
        } else if old == center {
            extentM = max(extentM, center.distance(to: event.location))
        } else {
            let drift = max(extentM + old.distance(to: center), center.distance(to: event.location))
            extentM = min(drift, bounds.farthestCornerDistance(from: center))
        }
        if event.time < firstTime { firstTime = event.time }
        if event.time > lastTime { lastTime = event.time }
        // The sample is full from the `sampleSize`th event on: no need to count it after that.
        if eventCount <= Self.sampleSize && samples.count < Self.sampleSize { samples.append(event.id) }
        // The catalog's copy of the type name: the event's own (decoded) copy would stay allocated with the incident.
        typeCounts.add(spec.name)
        if !event.values.isEmpty { typeAggregates.fold(event.values, spec: spec) }
        if area != event.area, let common = area.commonAncestor(with: event.area) { area = common }
        if typeCounts.typeCount == 1 {
            // Only this type's facts changed, and it is the incident's only type (the common case): its tier alone.
            tier = typeAggregates.tier(spec, count: eventCount)
        } else {
            tier = Self.tier(counts: counts, aggregates: typeAggregates, catalog: catalog)
        }
        version += 1
    }

    /// Marks the incident closed.
    mutating func close(at time: Timestamp, reason: CloseReason) {
        isOpen = false
        closedAt = time
        closeReason = reason
        version += 1
    }

    /// The highest tier reached by any event type of the incident.
    static func tier(counts: [String: Int], aggregates: TypeAggregates, catalog: Catalog) -> Tier? {
        var best: Tier?
        for (type, count) in counts {
            guard let spec = catalog.types[type], let t = aggregates.tier(spec, count: count) else { continue }
            if best == nil || t > best! { best = t }
        }
        return best
    }
}

/// Up to `Incident.sampleSize` event ids in one string, separated by U+001F (a control character, which the event
/// decoder refuses in ids): an array of one id took a 64-byte block, plus the id's own when it is longer than the
/// 15 bytes a string holds inline. Ids that cannot be joined so (with a control character, or empty: none that
/// ingest accepts) are kept as a JSON array after a U+001E, which no joined form starts with.
struct SampleIDs: Sendable, Hashable, Codable {
    private static let separator: UInt8 = 0x1F
    private static let listMark: UInt8 = 0x1E
    /// The joined ids; empty: none.
    private var text = ""

    init() {}

    init(_ ids: [String]) {
        if ids.allSatisfy(Self.joinable) {
            text = ids.joined(separator: "\u{1F}")
        } else {
            var w = JSONWriter(capacity: 64)
            w.beginArray()
            for id in ids { w.value(id) }
            w.endArray()
            text = "\u{1E}" + String(decoding: w.bytes, as: UTF8.self)
        }
    }

    private static func joinable(_ id: String) -> Bool {
        !id.isEmpty && !id.utf8.contains { $0 < 0x20 }
    }

    private var isList: Bool { text.utf8.first == Self.listMark }

    /// The number of ids.
    var count: Int {
        if isList { return array.count }
        return text.isEmpty ? 0 : 1 + text.utf8.reduce(0) { $0 + ($1 == Self.separator ? 1 : 0) }
    }

    mutating func append(_ id: String) {
        if !isList && Self.joinable(id) {
            text = text.isEmpty ? id : text + "\u{1F}" + id
        } else {
            self = SampleIDs(array + [id])
        }
    }

    /// Calls `body` with each id, in order, without an array.
    func forEach(_ body: (Substring) -> Void) {
        if isList {
            for id in array { body(id[...]) }
        } else if !text.isEmpty {
            // Walks the UTF-8 view: no array of parts (this runs for every incident classify stores).
            let u = text.utf8
            var start = u.startIndex
            var i = start
            while i != u.endIndex {
                if u[i] == Self.separator {
                    body(text[start..<i])
                    start = u.index(after: i)
                }
                i = u.index(after: i)
            }
            body(text[start..<u.endIndex])
        }
    }

    var array: [String] {
        if isList {
            let json = (try? JSONValue.parse(String(text.dropFirst())))?.arrayValue ?? []
            return json.compactMap(\.stringValue)
        }
        var out: [String] = []
        forEach { out.append(String($0)) }
        return out
    }

    init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String].self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(array)
    }
}

/// Events per event type, stored without a dictionary while there is one type: a dictionary of one entry took
/// about 120 bytes of every open incident. One form per content (one type inline, else the dictionary), so the
/// synthesized equality is that of the counts.
struct TypeCounts: Sendable, Hashable, Codable {
    /// The only type, when there is exactly one (`onlyCount > 0`).
    private var only = ""
    private var onlyCount = 0
    /// The counts when there are none or several types.
    private var many: [String: Int] = [:]

    init() {}

    init(_ counts: [String: Int]) {
        if counts.count == 1, let (type, n) = counts.first, n > 0 {
            only = type
            onlyCount = n
        } else {
            many = counts
        }
    }

    var dictionary: [String: Int] { onlyCount > 0 ? [only: onlyCount] : many }

    /// The number of distinct types.
    var typeCount: Int { onlyCount > 0 ? 1 : many.count }

    func count(of type: String) -> Int { onlyCount > 0 ? (type == only ? onlyCount : 0) : many[type] ?? 0 }

    mutating func add(_ type: String) {
        if onlyCount > 0 && only == type {
            onlyCount += 1
        } else if onlyCount == 0 && many.isEmpty {
            only = type
            onlyCount = 1
        } else {
            if onlyCount > 0 {
                many = [only: onlyCount]
                only = ""
                onlyCount = 0
            }
            many[type, default: 0] += 1
        }
    }

    init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: Int].self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(dictionary)
    }
}

/// An incident's value aggregates (per event type, per value name: the sum or the maximum over its events) as
/// one list sorted by type and name. Classify folds every event's values in: with a dictionary of dictionaries
/// that was three lookups by hashed text per event (and the tier's a fourth), a tenth of the classify thread, and
/// two dictionaries per incident that has values. The names are the catalog's own copies (`fold`), so comparing
/// them mostly finds the same storage. A type appears only with at least one value (the decoder refuses values
/// its type does not name, so folding an event with values always adds one).
struct TypeAggregates: Sendable, Hashable, Codable {
    struct Entry: Sendable, Hashable {
        var type: String
        var name: String
        var value: Double
    }

    private(set) var entries: [Entry] = []

    init() {}

    init(_ dictionary: [String: [String: Double]]) {
        for (type, values) in dictionary {
            for (name, value) in values { entries.append(Entry(type: type, name: name, value: value)) }
        }
        entries.sort { ($0.type, $0.name) < ($1.type, $1.name) }
    }

    var isEmpty: Bool { entries.isEmpty }

    var dictionary: [String: [String: Double]] {
        var out: [String: [String: Double]] = [:]
        for e in entries { out[e.type, default: [:]][e.name] = e.value }
        return out
    }

    /// The aggregate of `name` over the events of `type`.
    func value(_ name: String, of type: String) -> Double? {
        entries.first { $0.type == type && $0.name == name }?.value
    }

    /// The types in order, each with its values in order (as JSON writes them).
    func forEachType(_ body: (String, ArraySlice<Entry>) -> Void) {
        var start = 0
        while start < entries.count {
            var end = start + 1
            while end < entries.count && entries[end].type == entries[start].type { end += 1 }
            body(entries[start].type, entries[start..<end])
            start = end
        }
    }

    /// Folds an event's `values` into the aggregates of `spec`'s type (value name -> sum or max).
    @inline(__always)
    mutating func fold(_ values: EventValues, spec: EventTypeSpec) {
        for v in spec.values {
            guard let x = values[v.name] else { continue }
            if let i = entries.firstIndex(where: { $0.type == spec.name && $0.name == v.name }) {
                entries[i].value = v.aggregate.combine(entries[i].value, x)
            } else {
                let entry = Entry(type: spec.name, name: v.name, value: x)
                let at = entries.firstIndex { ($0.type, $0.name) > (entry.type, entry.name) } ?? entries.count
                entries.insert(entry, at: at)
            }
        }
    }

    /// The tier `spec`'s conditions give with `count` events of its type and these aggregates.
    func tier(_ spec: EventTypeSpec, count: Int) -> Tier? {
        spec.ladder.tier(count: count) { name in isEmpty ? nil : value(name, of: spec.name) }
    }

    init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: [String: Double]].self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(dictionary)
    }
}

/// A latitude/longitude bounding box.
public struct GeoBox: Sendable, Hashable, Codable {
    public var south: Double
    public var north: Double
    public var west: Double
    public var east: Double

    public init(_ p: GeoPoint) {
        south = p.lat
        north = p.lat
        west = p.lon
        east = p.lon
    }

    public mutating func include(_ p: GeoPoint) {
        if p.lat < south { south = p.lat }
        if p.lat > north { north = p.lat }
        if p.lon < west { west = p.lon }
        if p.lon > east { east = p.lon }
    }

    /// The largest distance from `p` to a corner of the box: no point of the box is farther from a `p` inside.
    public func farthestCornerDistance(from p: GeoPoint) -> Double {
        max(
            max(p.distance(to: GeoPoint(lat: south, lon: west)), p.distance(to: GeoPoint(lat: south, lon: east))),
            max(p.distance(to: GeoPoint(lat: north, lon: west)), p.distance(to: GeoPoint(lat: north, lon: east))))
    }
}

/// What happened to an incident, with its state right after.
public struct IncidentChange: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        /// A new incident, holding the event that opened it.
        case opened
        /// An event joined the incident; `previousTier` is its tier before.
        case updated(previousTier: Tier?)
        /// The incident closed (no more events join it).
        case closed(CloseReason)
    }

    public var kind: Kind
    /// The incident right after the change.
    public var incident: Incident
    /// The event that opened or updated the incident; `nil` for `closed`.
    public var eventID: String?

    public init(kind: Kind, incident: Incident, eventID: String? = nil) {
        self.kind = kind
        self.incident = incident
        self.eventID = eventID
    }

    /// The tier before the change (`nil` for `opened`; the current tier for `closed`).
    public var previousTier: Tier? {
        switch kind {
        case .opened: nil
        case .updated(let t): t
        case .closed: incident.tier
        }
    }
}

// MARK: - The Codable form, written directly

extension Incident {
    /// Writes the incident exactly as its `Codable` conformance encodes it (so `JSONDecoder` reads it back
    /// equal), without `JSONEncoder`: on Linux that costs about 200,000 instructions per incident, and the
    /// classify worker writes one for every change a warning may follow.
    public func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", id)
        w.field("openingSeq", Int(openingSeq))
        w.field("type", type)
        w.field("status", status.rawValue)
        w.field("category", category.rawValue)
        w.key("capCategories")
        w.beginArray()
        for c in capCategories { w.value(c.rawValue) }
        w.endArray()
        w.field("area", area.rawValue)
        w.key("center")
        center.writeCodableJSON(into: &w)
        w.field("extentM", extentM)
        w.key("bounds")
        w.beginObject()
        w.field("south", bounds.south)
        w.field("north", bounds.north)
        w.field("west", bounds.west)
        w.field("east", bounds.east)
        w.endObject()
        w.key("firstTime")
        firstTime.writeCodableJSON(into: &w)
        w.key("lastTime")
        lastTime.writeCodableJSON(into: &w)
        w.field("eventCount", eventCount)
        w.key("sampleIDs")
        w.beginArray()
        samples.forEach { w.value($0) }
        w.endArray()
        w.key("counts")
        w.beginObject()
        for (k, v) in counts { w.field(k, v) }
        w.endObject()
        w.key("aggregates")
        w.beginObject()
        typeAggregates.forEachType { type, values in
            w.key(type)
            w.beginObject()
            for e in values { w.field(e.name, e.value) }
            w.endObject()
        }
        w.endObject()
        if let tier { w.field("tier", tier.rawValue) }
        w.field("isOpen", isOpen)
        w.field("version", version)
        if let closedAt {
            w.key("closedAt")
            closedAt.writeCodableJSON(into: &w)
        }
        if let closeReason { w.field("closeReason", closeReason.rawValue) }
        w.endObject()
    }
}

extension IncidentChange {
    /// Writes the change exactly as its `Codable` conformance encodes it (see `Incident.writeCodableJSON`).
    public func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.key("kind")
        w.beginObject()
        switch kind {
        case .opened:
            w.key("opened")
            w.beginObject()
            w.endObject()
        case .updated(let previousTier):
            w.key("updated")
            w.beginObject()
            if let previousTier { w.field("previousTier", previousTier.rawValue) }
            w.endObject()
        case .closed(let reason):
            w.key("closed")
            w.beginObject()
            w.field("_0", reason.rawValue)
            w.endObject()
        }
        w.endObject()
        w.key("incident")
        incident.writeCodableJSON(into: &w)
        w.field("eventID", ifPresent: eventID)
        w.endObject()
    }
}

extension Incident {
    /// Reads the `Codable` form (what `writeCodableJSON` writes) from a parsed value, without `JSONDecoder`: on
    /// Linux that cost the dispatch worker about as much per change as `JSONEncoder` had cost classify.
    public init(codableJSON value: JSONValue) throws(IncidentStateError) {
        guard case .object(let o) = value else { throw IncidentStateError("incident: expected an object") }
        func string(_ k: String) throws(IncidentStateError) -> String {
            guard case .string(let s)? = o[k] else { throw IncidentStateError("\(k): expected a string") }
            return s
        }
        func number(_ v: JSONValue?, _ k: String) throws(IncidentStateError) -> Double {
            guard case .number(let x)? = v else { throw IncidentStateError("\(k): expected a number") }
            return x
        }
        func time(_ v: JSONValue?, _ k: String) throws(IncidentStateError) -> Timestamp {
            Timestamp(micros: Int64(try number(v?["micros"], k + ".micros")))
        }
        func point(_ v: JSONValue?, _ k: String) throws(IncidentStateError) -> GeoPoint {
            GeoPoint(lat: try number(v?["lat"], k + ".lat"), lon: try number(v?["lon"], k + ".lon"))
        }
        guard let status = Status(rawValue: try string("status")), let category = Category(rawValue: try string("category")),
            let area = AreaPath(try string("area"))
        else { throw IncidentStateError("status, category or area invalid") }
        let b = o["bounds"]
        var bounds = GeoBox(GeoPoint(lat: try number(b?["south"], "bounds.south"), lon: try number(b?["west"], "bounds.west")))
        bounds.north = try number(b?["north"], "bounds.north")
        bounds.east = try number(b?["east"], "bounds.east")
        var counts: [String: Int] = [:]
        for m in o["counts"]?.objectValue?.members ?? [] { counts[m.key] = Int(try number(m.value, "counts")) }
        var aggregates: [String: [String: Double]] = [:]
        for m in o["aggregates"]?.objectValue?.members ?? [] {
            var values: [String: Double] = [:]
            for v in m.value.objectValue?.members ?? [] { values[v.key] = try number(v.value, "aggregates") }
            aggregates[m.key] = values
        }
        var tier: Tier?
        if let t = o["tier"], !t.isNull {
            guard let parsed = t.stringValue.flatMap(Tier.init(rawValue:)) else { throw IncidentStateError("tier invalid") }
            tier = parsed
        }
        var closeReason: CloseReason?
        if let r = o["closeReason"], !r.isNull {
            guard let parsed = r.stringValue.flatMap(CloseReason.init(rawValue:)) else {
                throw IncidentStateError("closeReason invalid")
            }
            closeReason = parsed
        }
        guard case .bool(let isOpen)? = o["isOpen"] else { throw IncidentStateError("isOpen: expected a boolean") }
        self.init(
            id: try string("id"), openingSeq: Int64(try number(o["openingSeq"], "openingSeq")), type: try string("type"),
            status: status, category: category,
            capCategories: try (o["capCategories"]?.arrayValue ?? []).map { v throws(IncidentStateError) in
                guard let c = v.stringValue.flatMap(CAPCategory.init(rawValue:)) else {
                    throw IncidentStateError("capCategories invalid")
                }
                return c
            },
            area: area, center: try point(o["center"], "center"), extentM: try number(o["extentM"], "extentM"),
            bounds: bounds, firstTime: try time(o["firstTime"], "firstTime"), lastTime: try time(o["lastTime"], "lastTime"),
            eventCount: Int(try number(o["eventCount"], "eventCount")),
            sampleIDs: o["sampleIDs"]?.arrayValue?.compactMap(\.stringValue) ?? [], counts: counts, aggregates: aggregates,
            tier: tier, isOpen: isOpen, version: Int(try number(o["version"], "version")),
            closedAt: o["closedAt"].flatMap { $0.isNull ? nil : $0 } == nil ? nil : try time(o["closedAt"], "closedAt"),
            closeReason: closeReason)
    }
}

extension IncidentChange {
    /// Reads the `Codable` form (what `writeCodableJSON` writes) from a parsed value, without `JSONDecoder`.
    public init(codableJSON value: JSONValue) throws(IncidentStateError) {
        guard case .object(let kindObject)? = value["kind"], let first = kindObject.members.first,
            kindObject.members.count == 1
        else { throw IncidentStateError("kind: expected an object with one key") }
        let kind: Kind
        switch first.key {
        case "opened":
            kind = .opened
        case "updated":
            var previous: Tier?
            if let t = first.value["previousTier"], !t.isNull {
                guard let parsed = t.stringValue.flatMap(Tier.init(rawValue:)) else {
                    throw IncidentStateError("kind.updated.previousTier invalid")
                }
                previous = parsed
            }
            kind = .updated(previousTier: previous)
        case "closed":
            guard let reason = first.value["_0"]?.stringValue.flatMap(CloseReason.init(rawValue:)) else {
                throw IncidentStateError("kind.closed._0 invalid")
            }
            kind = .closed(reason)
        default:
            throw IncidentStateError("kind: unknown \(first.key)")
        }
        guard let incident = value["incident"] else { throw IncidentStateError("incident: required") }
        var eventID: String?
        if let e = value["eventID"], !e.isNull {
            guard let s = e.stringValue else { throw IncidentStateError("eventID: expected a string") }
            eventID = s
        }
        self.init(kind: kind, incident: try Incident(codableJSON: incident), eventID: eventID)
    }
}

extension Timestamp {
    /// `{"micros": N}`, as `Codable` encodes it.
    public func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("micros", Int(micros))
        w.endObject()
    }
}

extension JSONWriter {
    /// A time field: RFC 3339 in the wire form, `{"micros": N}` in the `Codable` form.
    mutating func field(_ key: String, _ t: Timestamp, codableForm: Bool) {
        if codableForm {
            self.key(key)
            t.writeCodableJSON(into: &self)
        } else {
            self.key(key)
            value(t)
        }
    }
}

extension GeoPoint {
    /// `{"lat": x, "lon": y}`, as `Codable` encodes it.
    public func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("lat", lat)
        w.field("lon", lon)
        w.endObject()
    }
}
