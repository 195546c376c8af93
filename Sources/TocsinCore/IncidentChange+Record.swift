// Classify's outbox records: an incident change in its `Codable` form, with the pipeline's time.

extension IncidentChange {
    /// `{"now": {"micros": N}, "change": <change>}` (`now` only when there is one), the change as
    /// `writeCodableJSON` writes it: what `record(json:)` reads.
    public static func recordJSON(now: Timestamp?, change: IncidentChange) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        if let now {
            w.key("now")
            now.writeCodableJSON(into: &w)
        }
        w.key("change")
        change.writeCodableJSON(into: &w)
        w.endObject()
        return w.bytes
    }

    /// Reads `{"now": {"micros": N}, "change": <change>}` (`now` optional or null; other members ignored), the
    /// change in its `Codable` form: classify's outbox records. `readRecord` first, the generic tree for
    /// anything it leaves.
    public static func record(json bytes: [UInt8]) throws -> (now: Timestamp?, change: IncidentChange) {
        if let read = readRecord(bytes) { return read }
        return try recordByTree(bytes)
    }

    /// The full decoder of `record(json:)`: the generic parser and `init(codableJSON:)`.
    static func recordByTree(_ bytes: [UInt8]) throws -> (now: Timestamp?, change: IncidentChange) {
        let value = try JSONValue.parse(bytes)
        var now: Timestamp?
        if let n = value["now"], !n.isNull {
            guard case .number(let micros)? = n["micros"] else { throw IncidentStateError("now.micros: expected a number") }
            now = Timestamp(micros: Int64(micros))
        }
        guard let change = value["change"] else { throw IncidentStateError("change: required") }
        return (now, try IncidentChange(codableJSON: change))
    }

    /// The fast path of `record(json:)`: the record exactly as `recordJSON` writes it, read with
    /// `JSONRecordScanner` (about 80,000 instructions a record through the generic tree, for every change a
    /// warning may follow). Nil for anything but exactly that form (members absent that the writer always
    /// writes, nulls, unknown or repeated members, numbers that are not integers where it writes integers): the
    /// caller then reads the bytes with the full parser and `init(codableJSON:)`, whose result or error stands.
    static func readRecord(_ bytes: [UInt8]) -> (now: Timestamp?, change: IncidentChange)? {
        JSONRecordScanner.read(bytes) { (r: inout JSONRecordScanner) -> (now: Timestamp?, change: IncidentChange)? in
            var now: Timestamp?, change: IncidentChange?
            guard r.object(["now", "change"], { r, k in
                if k == 0 {
                    now = Incident.micros(&r)
                    return now != nil
                }
                change = Self.change(&r)
                return change != nil
            }) != nil, r.atEnd(), let change else { return nil }
            return (now, change)
        }
    }

    private static func change(_ r: inout JSONRecordScanner) -> IncidentChange? {
        var kind: Kind?, incident: Incident?, eventID: String?
        guard r.object(["kind", "incident", "eventID"], { r, k in
            switch k {
            case 0: kind = Self.kind(&r); return kind != nil
            case 1: incident = Incident.record(&r); return incident != nil
            default: eventID = r.string(); return eventID != nil
            }
        }) != nil, let kind, let incident else { return nil }
        return IncidentChange(kind: kind, incident: incident, eventID: eventID)
    }

    /// `{"opened": {}}`, `{"updated": {}}` or `{"updated": {"previousTier": T}}`, `{"closed": {"_0": R}}`.
    private static func kind(_ r: inout JSONRecordScanner) -> Kind? {
        var kind: Kind?
        guard let seen = r.object(["opened", "updated", "closed"], { r, k in
            switch k {
            case 0:
                kind = .opened
                return r.object([], { _, _ in false }) != nil
            case 1:
                var tier: Tier?
                guard r.object(["previousTier"], { r, _ in
                    tier = r.enumValue()
                    return tier != nil
                }) != nil else { return false }
                kind = .updated(previousTier: tier)
                return true
            default:
                var reason: CloseReason?
                guard let fields = r.object(["_0"], { r, _ in
                    reason = r.enumValue()
                    return reason != nil
                }), fields.contains(first: 1), let reason else { return false }
                kind = .closed(reason)
                return true
            }
        }), seen.bits.nonzeroBitCount == 1 else { return nil }
        return kind
    }
}

extension Incident {
    /// The members of the `Codable` form: the eighteen `writeCodableJSON` always writes, then `tier`,
    /// `closedAt` and `closeReason`.
    private static let recordNames: [StaticString] = [
        "id", "openingSeq", "type", "status", "category", "capCategories", "area", "center", "extentM", "bounds",
        "firstTime", "lastTime", "eventCount", "sampleIDs", "counts", "aggregates", "isOpen", "version", "tier",
        "closedAt", "closeReason",
    ]

    /// An incident in the form `writeCodableJSON` writes (see `IncidentChange.readRecord`).
    static func record(_ r: inout JSONRecordScanner) -> Incident? {
        var id: String?, openingSeq: Int64?, type: String?, status: Status?, category: Category?
        var capCategories: [CAPCategory]?, area: AreaPath?, center: GeoPoint?, extentM: Double?, bounds: GeoBox?
        var firstTime: Timestamp?, lastTime: Timestamp?, eventCount: Int64?, sampleIDs: [String]?
        var counts: [String: Int]?, aggregates: [String: [String: Double]]?, isOpen: Bool?, version: Int64?
        var tier: Tier?, closedAt: Timestamp?, closeReason: CloseReason?
        guard let seen = r.object(recordNames, { r, k in
            switch k {
            case 0: id = r.string(); return id != nil
            case 1: openingSeq = r.integer(); return openingSeq != nil
            case 2: type = r.string(); return type != nil
            case 3: status = r.enumValue(); return status != nil
            case 4: category = r.enumValue(); return category != nil
            case 5:
                guard let texts = r.strings() else { return false }
                let parsed = texts.compactMap(CAPCategory.init(rawValue:))
                capCategories = parsed
                return parsed.count == texts.count
            case 6: area = r.area(); return area != nil
            case 7: center = point(&r); return center != nil
            case 8: extentM = r.number(); return extentM != nil
            case 9: bounds = box(&r); return bounds != nil
            case 10: firstTime = micros(&r); return firstTime != nil
            case 11: lastTime = micros(&r); return lastTime != nil
            case 12: eventCount = r.integer(); return eventCount != nil
            case 13: sampleIDs = r.strings(); return sampleIDs != nil
            case 14:
                counts = dictionary(&r) { r in r.integer().map { Int($0) } }
                return counts != nil
            case 15:
                aggregates = dictionary(&r) { r in dictionary(&r) { r in r.number() } }
                return aggregates != nil
            case 16: isOpen = r.bool(); return isOpen != nil
            case 17: version = r.integer(); return version != nil
            case 18: tier = r.enumValue(); return tier != nil
            case 19: closedAt = micros(&r); return closedAt != nil
            default: closeReason = r.enumValue(); return closeReason != nil
            }
        }), seen.contains(first: 18), let id, let openingSeq, let type, let status, let category, let capCategories,
              let area, let center, let extentM, let bounds, let firstTime, let lastTime, let eventCount, let sampleIDs,
              let counts, let aggregates, let isOpen, let version
        else { return nil }
        return Incident(
            id: id, openingSeq: openingSeq, type: type, status: status, category: category,
            capCategories: capCategories, area: area, center: center, extentM: extentM, bounds: bounds,
            firstTime: firstTime, lastTime: lastTime, eventCount: Int(eventCount), sampleIDs: sampleIDs,
            counts: counts, aggregates: aggregates, tier: tier, isOpen: isOpen, version: Int(version),
            closedAt: closedAt, closeReason: closeReason)
    }

    /// `{"micros": N}`.
    static func micros(_ r: inout JSONRecordScanner) -> Timestamp? {
        var n: Int64?
        guard let seen = r.object(["micros"], { r, _ in
            n = r.integer()
            return n != nil
        }), seen.contains(first: 1), let n else { return nil }
        return Timestamp(micros: n)
    }

    /// Numbers under exactly the names in `names`, each once, in any order.
    private static func numbers(_ r: inout JSONRecordScanner, _ names: [StaticString]) -> [Double]? {
        var values = [Double](repeating: 0, count: names.count)
        guard let seen = r.object(names, { r, k in
            guard let x = r.number() else { return false }
            values[k] = x
            return true
        }), seen.contains(first: names.count) else { return nil }
        return values
    }

    private static func point(_ r: inout JSONRecordScanner) -> GeoPoint? {
        numbers(&r, ["lat", "lon"]).map { GeoPoint(lat: $0[0], lon: $0[1]) }
    }

    private static func box(_ r: inout JSONRecordScanner) -> GeoBox? {
        numbers(&r, ["south", "north", "west", "east"]).map { v in
            var box = GeoBox(GeoPoint(lat: v[0], lon: v[2]))
            box.north = v[1]
            box.east = v[3]
            return box
        }
    }

    /// `{"name": value, ...}`, each name once, each value read by `value`: the counts (integers) and the
    /// aggregates (a table of numbers per type).
    private static func dictionary<V>(_ r: inout JSONRecordScanner, _ value: (inout JSONRecordScanner) -> V?)
        -> [String: V]?
    {
        guard r.begin() else { return nil }
        var out: [String: V] = [:]
        while true {
            switch r.member() {
            case .end: return out
            case .bad: return nil
            case .name(let name):
                let key = r.text(name)
                guard out[key] == nil, let v = value(&r) else { return nil }
                out[key] = v
            }
        }
    }
}
