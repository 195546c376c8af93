// A hand-written JSON form of `Incident` for the classify worker's state rows: Foundation's JSONEncoder costs
// tens of microseconds per incident on Linux, and classify stores every incident a batch touched.

extension Incident {
    /// The incident as compact JSON (numbers round-trip exactly; dictionaries with sorted keys).
    public var stateJSON: [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("id", id)
        w.field("openingSeq", Int(openingSeq))
        w.field("type", type)
        w.field("status", status.rawValue)
        w.field("category", category.rawValue)
        w.key("cap")
        w.beginArray()
        for c in capCategories { w.value(c.rawValue) }
        w.endArray()
        w.field("area", area.rawValue)
        w.field("lat", center.lat)
        w.field("lon", center.lon)
        w.field("extentM", extentM)
        w.key("bounds")
        w.beginArray()
        for x in [bounds.south, bounds.north, bounds.west, bounds.east] { w.value(x) }
        w.endArray()
        w.field("first", Int(firstTime.micros))
        w.field("last", Int(lastTime.micros))
        w.field("events", eventCount)
        w.key("sample")
        w.beginArray()
        samples.forEach { w.value($0) }
        w.endArray()
        w.key("counts")
        w.beginObject()
        for (k, v) in counts.sorted(by: { $0.key < $1.key }) { w.field(k, v) }
        w.endObject()
        w.key("aggregates")
        w.beginObject()
        // In order of type and name (the list's own order).
        typeAggregates.forEachType { type, values in
            w.key(type)
            w.beginObject()
            for e in values { w.field(e.name, e.value) }
            w.endObject()
        }
        w.endObject()
        if let tier { w.field("tier", tier.rawValue) }
        w.field("open", isOpen)
        w.field("version", version)
        if let closedAt { w.field("closedAt", Int(closedAt.micros)) }
        if let closeReason { w.field("closeReason", closeReason.rawValue) }
        w.endObject()
        return w.bytes
    }

    /// Reads `stateJSON`.
    public init(stateJSON bytes: [UInt8]) throws(IncidentStateError) {
        guard let value = try? JSONValue.parse(bytes), case .object(let o) = value else {
            throw IncidentStateError("not a JSON object")
        }
        func string(_ k: String) throws(IncidentStateError) -> String {
            guard case .string(let s)? = o[k] else { throw IncidentStateError("\(k): expected a string") }
            return s
        }
        func number(_ k: String) throws(IncidentStateError) -> Double {
            guard case .number(let x)? = o[k] else { throw IncidentStateError("\(k): expected a number") }
            return x
        }
        func numbers(_ v: JSONValue?) -> [Double] { v?.arrayValue?.compactMap(\.numberValue) ?? [] }
        guard let status = Status(rawValue: try string("status")),
              let category = Category(rawValue: try string("category")),
              let area = AreaPath(try string("area")) else { throw IncidentStateError("status, category or area invalid") }
        let b = numbers(o["bounds"])
        guard b.count == 4 else { throw IncidentStateError("bounds: expected four numbers") }
        var box = GeoBox(GeoPoint(lat: b[0], lon: b[2]))
        box.north = b[1]
        box.east = b[3]
        var counts: [String: Int] = [:]
        for m in o["counts"]?.objectValue?.members ?? [] { counts[m.key] = m.value.numberValue.map { Int($0) } }
        var aggregates: [String: [String: Double]] = [:]
        for m in o["aggregates"]?.objectValue?.members ?? [] {
            var values: [String: Double] = [:]
            for v in m.value.objectValue?.members ?? [] { values[v.key] = v.value.numberValue }
            aggregates[m.key] = values
        }
        self.init(
            id: try string("id"), openingSeq: Int64(try number("openingSeq")), type: try string("type"), status: status,
            category: category,
            capCategories: o["cap"]?.arrayValue?.compactMap { $0.stringValue.flatMap(CAPCategory.init(rawValue:)) } ?? [],
            area: area, center: GeoPoint(lat: try number("lat"), lon: try number("lon")), extentM: try number("extentM"),
            bounds: box, firstTime: Timestamp(micros: Int64(try number("first"))),
            lastTime: Timestamp(micros: Int64(try number("last"))), eventCount: Int(try number("events")),
            sampleIDs: o["sample"]?.arrayValue?.compactMap(\.stringValue) ?? [], counts: counts, aggregates: aggregates,
            tier: o["tier"]?.stringValue.flatMap(Tier.init(rawValue:)), isOpen: o["open"]?.boolValue ?? true,
            version: Int(try number("version")),
            closedAt: o["closedAt"]?.numberValue.map { Timestamp(micros: Int64($0)) },
            closeReason: o["closeReason"]?.stringValue.flatMap(CloseReason.init(rawValue:)))
    }

    init(id: String, openingSeq: Int64, type: String, status: Status, category: Category, capCategories: [CAPCategory],
         area: AreaPath, center: GeoPoint, extentM: Double, bounds: GeoBox, firstTime: Timestamp, lastTime: Timestamp,
         eventCount: Int, sampleIDs: [String], counts: [String: Int], aggregates: [String: [String: Double]],
         tier: Tier?, isOpen: Bool, version: Int, closedAt: Timestamp?, closeReason: CloseReason?) {
        self.id = id
        self.openingSeq = openingSeq
        self.type = type
        self.status = status
        self.category = category
        self.capCategories = capCategories
        self.area = area
        self.center = center
        self.extentM = extentM
        self.bounds = bounds
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.eventCount = eventCount
        self.samples = SampleIDs(sampleIDs)
        self.typeCounts = TypeCounts(counts)
        self.typeAggregates = TypeAggregates(aggregates)
        self.tier = tier
        self.isOpen = isOpen
        self.version = version
        self.closedAt = closedAt
        self.closeReason = closeReason
    }
}

/// A stored incident that cannot be read back.
public struct IncidentStateError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
