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
    public var values: EventValues
    public var text: String?
    public var status: Status
    public var device: String?
}

extension Event {
    /// (In an extension, so that the struct keeps its memberwise initialiser: built through it, an event is
    /// made in place. Assigned field by field here, it was made in a temporary and copied out, a retain and a
    /// release of each of its strings, about 450 instructions an event in each of ingest and classify.)
    public init(
        id: String, source: AreaPath, kind: EventKind, type: String, time: Timestamp, location: GeoPoint,
        area: AreaPath? = nil, values: EventValues = [:], text: String? = nil, status: Status = .actual,
        device: String? = nil
    ) {
        self.init(id: id, source: source, kind: kind, type: type, time: time, location: location, area: area ?? source,
                  values: values, text: text, status: status, device: device)
    }
}

/// An event's values: name -> number, each name once (PROTOCOL.md "Event", `values`).
///
/// Most events carry one or two (a gauge's level, a report's count): those two are kept inline, without the
/// dictionary this used to be, which every event paid for twice (an allocation and a hash per value in ingest's
/// decoding and again in the classify worker's); more go to a small array. Reads compare names, a few at most.
/// Equality and hashing do not depend on the order the values were given in, as a dictionary's did not.
public struct EventValues: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral,
    CustomStringConvertible
{
    public typealias Element = (key: String, value: Double)
    public typealias Index = Int

    private var first0: Element?
    private var first1: Element?
    private var more: [Element] = []

    public init() {}

    public init(_ dictionary: [String: Double]) {
        for (k, v) in dictionary { append(k, v) }
    }

    public init(dictionaryLiteral elements: (String, Double)...) {
        for (k, v) in elements { self[k] = v }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { first0 == nil ? 0 : first1 == nil ? 1 : 2 + more.count }

    public subscript(position: Int) -> Element {
        switch position {
        case 0: first0!
        case 1: first1!
        default: more[position - 2]
        }
    }

    /// The value named `name`; setting `nil` removes it.
    public subscript(name: String) -> Double? {
        get {
            if let e = first0 {
                if e.key == name { return e.value }
            } else {
                return nil
            }
            if let e = first1 {
                if e.key == name { return e.value }
            } else {
                return nil
            }
            return more.first { $0.key == name }?.value
        }
        set {
            if let i = firstIndex(where: { $0.key == name }) {
                if let newValue {
                    switch i {
                    case 0: first0!.value = newValue
                    case 1: first1!.value = newValue
                    default: more[i - 2].value = newValue
                    }
                } else {
                    var rest = Array(self)
                    rest.remove(at: i)
                    self = EventValues()
                    for e in rest { append(e.key, e.value) }
                }
            } else if let newValue {
                append(name, newValue)
            }
        }
    }

    /// Adds a value whose name is not there yet (the decoders check that each name comes once).
    mutating func append(_ name: String, _ value: Double) {
        if first0 == nil {
            first0 = (name, value)
        } else if first1 == nil {
            first1 = (name, value)
        } else {
            more.append((name, value))
        }
    }

    /// The values as a dictionary.
    public var dictionary: [String: Double] {
        Dictionary(map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    public static func == (a: EventValues, b: EventValues) -> Bool {
        a.count == b.count && a.allSatisfy { b[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: each value hashed alone, the hashes combined by a commutative operation.
        var combined = 0
        for e in self {
            var h = Hasher()
            h.combine(e.key)
            h.combine(e.value)
            combined ^= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }

    public var description: String { dictionary.description }
}
