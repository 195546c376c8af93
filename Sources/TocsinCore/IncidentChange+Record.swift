// The fast path of reading an incident change in its `Codable` form (classify's outbox records).

extension IncidentChange {
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

    /// The fast path of `record(json:)`: the record exactly as `writeCodableJSON` writes the change, read with
    /// `JSONRecordScanner`: the record classify hands dispatch for every change
    /// a warning may follow (about 80,000 instructions each through the generic tree). Nil for anything but
    /// exactly that form (members absent that the writer always writes, nulls, unknown or repeated members,
    /// numbers that are not integers where it writes integers): the caller then reads the bytes with the full
    /// parser and `init(codableJSON:)`, whose result or error stands.
    static func readRecord(_ bytes: [UInt8]) -> (now: Timestamp?, change: IncidentChange)? {
        JSONRecordScanner.read(bytes) { (r: inout JSONRecordScanner) -> (now: Timestamp?, change: IncidentChange)? in
            guard r.begin() else { return nil }
            var seen = MemberSet()
            var now: Timestamp?, change: IncidentChange?
            members: while true {
                switch r.member() {
                case .end: break members
                case .bad: return nil
                case .name(let name):
                    guard let k = r.index(of: name, in: ["now", "change"]), seen.insert(k) else { return nil }
                    if k == 0 {
                        guard let t = micros(&r) else { return nil }
                        now = t
                    } else {
                        guard let c = Self.change(&r) else { return nil }
                        change = c
                    }
                }
            }
            guard r.atEnd(), let change else { return nil }
            return (now, change)
        }
    }

    private static func micros(_ r: inout JSONRecordScanner) -> Timestamp? {
        guard r.begin(), case .name(let name) = r.member(), r.name(name, is: "micros"), let n = r.integer(),
              case .end = r.member()
        else { return nil }
        return Timestamp(micros: n)
    }

    private static func change(_ r: inout JSONRecordScanner) -> IncidentChange? {
        guard r.begin() else { return nil }
        var seen = MemberSet()
        var kind: Kind?, incident: Incident?, eventID: String?
        members: while true {
            switch r.member() {
            case .end: break members
            case .bad: return nil
            case .name(let name):
                guard let k = r.index(of: name, in: ["kind", "incident", "eventID"]), seen.insert(k) else { return nil }
                switch k {
                case 0: kind = Self.kind(&r)
                case 1: incident = Incident.record(&r)
                default: eventID = r.string()
                }
                if (k == 0 && kind == nil) || (k == 1 && incident == nil) || (k == 2 && eventID == nil) { return nil }
            }
        }
        guard let kind, let incident else { return nil }
        return IncidentChange(kind: kind, incident: incident, eventID: eventID)
    }

    /// `{"opened": {}}`, `{"updated": {}}` or `{"updated": {"previousTier": T}}`, `{"closed": {"_0": R}}`.
    private static func kind(_ r: inout JSONRecordScanner) -> Kind? {
        guard r.begin(), case .name(let name) = r.member(), r.begin() else { return nil }
        let kind: Kind
        if r.name(name, is: "opened") {
            guard case .end = r.member() else { return nil }
            kind = .opened
        } else if r.name(name, is: "updated") {
            switch r.member() {
            case .end:
                kind = .updated(previousTier: nil)
            case .name(let field):
                guard r.name(field, is: "previousTier"), let tier: Tier = r.enumValue(), case .end = r.member() else {
                    return nil
                }
                kind = .updated(previousTier: tier)
            case .bad:
                return nil
            }
        } else if r.name(name, is: "closed") {
            guard case .name(let field) = r.member(), r.name(field, is: "_0"), let reason: CloseReason = r.enumValue(),
                  case .end = r.member()
            else { return nil }
            kind = .closed(reason)
        } else {
            return nil
        }
        guard case .end = r.member() else { return nil }
        return kind
    }
}

extension Incident {
    private static let recordNames: [StaticString] = [
        "id", "openingSeq", "type", "status", "category", "capCategories", "area", "center", "extentM", "bounds",
        "firstTime", "lastTime", "eventCount", "sampleIDs", "counts", "aggregates", "isOpen", "version", "tier",
        "closedAt", "closeReason",
    ]
    /// What `writeCodableJSON` always writes (all but `tier`, `closedAt` and `closeReason`).
    private static let recordRequired: UInt64 = (1 << 18) - 1

    /// An incident in the form `writeCodableJSON` writes (see `IncidentChange.readRecord`).
    static func record(_ r: inout JSONRecordScanner) -> Incident? {
        guard r.begin() else { return nil }
        var seen = MemberSet()
        var id: String?, openingSeq: Int64?, type: String?, status: Status?, category: Category?
        var capCategories: [CAPCategory]?, area: AreaPath?, center: GeoPoint?, extentM: Double?, bounds: GeoBox?
        var firstTime: Timestamp?, lastTime: Timestamp?, eventCount: Int64?, sampleIDs: [String]?
        var counts: [String: Int]?, aggregates: [String: [String: Double]]?, isOpen: Bool?, version: Int64?
        var tier: Tier?, closedAt: Timestamp?, closeReason: CloseReason?
        members: while true {
            switch r.member() {
            case .end: break members
            case .bad: return nil
            case .name(let name):
                guard let k = r.index(of: name, in: recordNames), seen.insert(k) else { return nil }
                let read: Bool
                switch k {
                case 0: id = r.string(); read = id != nil
                case 1: openingSeq = r.integer(); read = openingSeq != nil
                case 2: type = r.string(); read = type != nil
                case 3: status = r.enumValue(); read = status != nil
                case 4: category = r.enumValue(); read = category != nil
                case 5:
                    capCategories = r.strings().flatMap { texts in
                        let parsed = texts.compactMap(CAPCategory.init(rawValue:))
                        return parsed.count == texts.count ? parsed : nil
                    }
                    read = capCategories != nil
                case 6: area = r.area(); read = area != nil
                case 7: center = point(&r); read = center != nil
                case 8: extentM = r.number(); read = extentM != nil
                case 9: bounds = box(&r); read = bounds != nil
                case 10: firstTime = micros(&r); read = firstTime != nil
                case 11: lastTime = micros(&r); read = lastTime != nil
                case 12: eventCount = r.integer(); read = eventCount != nil
                case 13: sampleIDs = r.strings(); read = sampleIDs != nil
                case 14: counts = integers(&r); read = counts != nil
                case 15: aggregates = tables(&r); read = aggregates != nil
                case 16: isOpen = r.bool(); read = isOpen != nil
                case 17: version = r.integer(); read = version != nil
                case 18: tier = r.enumValue(); read = tier != nil
                case 19: closedAt = micros(&r); read = closedAt != nil
                default: closeReason = r.enumValue(); read = closeReason != nil
                }
                guard read else { return nil }
            }
        }
        guard seen.contains(all: recordRequired), let id, let openingSeq, let type, let status, let category,
              let capCategories, let area, let center, let extentM, let bounds, let firstTime, let lastTime,
              let eventCount, let sampleIDs, let counts, let aggregates, let isOpen, let version
        else { return nil }
        return Incident(
            id: id, openingSeq: openingSeq, type: type, status: status, category: category,
            capCategories: capCategories, area: area, center: center, extentM: extentM, bounds: bounds,
            firstTime: firstTime, lastTime: lastTime, eventCount: Int(eventCount), sampleIDs: sampleIDs,
            counts: counts, aggregates: aggregates, tier: tier, isOpen: isOpen, version: Int(version),
            closedAt: closedAt, closeReason: closeReason)
    }

    private static func micros(_ r: inout JSONRecordScanner) -> Timestamp? {
        guard r.begin(), case .name(let name) = r.member(), r.name(name, is: "micros"), let n = r.integer(),
              case .end = r.member()
        else { return nil }
        return Timestamp(micros: n)
    }

    /// Numbers under exactly the names in `names`, each once, in any order.
    private static func numbers(_ r: inout JSONRecordScanner, _ names: [StaticString]) -> [Double]? {
        guard r.begin() else { return nil }
        var seen = MemberSet()
        var values = [Double](repeating: 0, count: names.count)
        members: while true {
            switch r.member() {
            case .end: break members
            case .bad: return nil
            case .name(let name):
                guard let k = r.index(of: name, in: names), seen.insert(k), let x = r.number() else { return nil }
                values[k] = x
            }
        }
        return seen.contains(all: (1 << UInt64(names.count)) - 1) ? values : nil
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

    /// `{"name": integer, ...}` (each name once).
    private static func integers(_ r: inout JSONRecordScanner) -> [String: Int]? {
        guard r.begin() else { return nil }
        var out: [String: Int] = [:]
        members: while true {
            switch r.member() {
            case .end: break members
            case .bad: return nil
            case .name(let name):
                let key = r.text(name)
                guard out[key] == nil, let n = r.integer() else { return nil }
                out[key] = Int(n)
            }
        }
        return out
    }

    /// `{"type": {"name": number, ...}, ...}` (each name once).
    private static func tables(_ r: inout JSONRecordScanner) -> [String: [String: Double]]? {
        guard r.begin() else { return nil }
        var out: [String: [String: Double]] = [:]
        members: while true {
            switch r.member() {
            case .end: break members
            case .bad: return nil
            case .name(let name):
                let type = r.text(name)
                guard out[type] == nil, r.begin() else { return nil }
                var values: [String: Double] = [:]
                inner: while true {
                    switch r.member() {
                    case .end: break inner
                    case .bad: return nil
                    case .name(let field):
                        let key = r.text(field)
                        guard values[key] == nil, let x = r.number() else { return nil }
                        values[key] = x
                    }
                }
                out[type] = values
            }
        }
        return out
    }
}
