/// A point in time as microseconds since the Unix epoch (UTC). Times are inputs, never read from a clock here.
public struct Timestamp: Hashable, Sendable, Comparable, Codable {
    public var micros: Int64
    public init(micros: Int64) { self.micros = micros }
    public init(seconds: Double) { self.micros = Int64((seconds * 1_000_000).rounded()) }
    public var seconds: Double { Double(micros) / 1_000_000 }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.micros < b.micros }
    public func adding(seconds: Double) -> Timestamp { Timestamp(micros: micros + Int64((seconds * 1_000_000).rounded())) }
    public static func - (a: Timestamp, b: Timestamp) -> Double { Double(a.micros - b.micros) / 1_000_000 }
}

/// One sensor reading or one report from a platform (PROTOCOL.md "Event").
public struct Event: Hashable, Sendable {
    public var id: String
    public var source: AreaPath
    public var kind: EventKind
    public var type: String
    public var time: Timestamp
    public var location: GeoPoint
    /// Where it happened; equals `source` when the sender left it out.
    public var area: AreaPath
    /// The type's values, in the order they were sent.
    public var values: [String: Double]
    public var text: String?
    public var status: Status
    public var device: String?

    public init(
        id: String, source: AreaPath, kind: EventKind, type: String, time: Timestamp, location: GeoPoint,
        area: AreaPath? = nil, values: [String: Double] = [:], text: String? = nil, status: Status = .actual,
        device: String? = nil
    ) {
        self.id = id
        self.source = source
        self.kind = kind
        self.type = type
        self.time = time
        self.location = location
        self.area = area ?? source
        self.values = values
        self.text = text
        self.status = status
        self.device = device
    }
}
