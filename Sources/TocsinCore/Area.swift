/// A dotted, lower-case area path, city first: `sz`, `sz.futian`, `sz.futian.shatou`.
public struct AreaPath: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Parses and validates a path; `nil` when it is not 1 to 3 segments of `[a-z0-9_]`.
    public init?(_ text: String) {
        guard AreaPath.isValid(text) else { return nil }
        self.rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid($0) }
    }

    private static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        var segments = 1
        var segmentLength = 0
        for b in bytes {
            if b == UInt8(ascii: ".") {
                if segmentLength == 0 { return false }
                segments += 1
                segmentLength = 0
            } else if (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
                        || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") {
                segmentLength += 1
            } else {
                return false
            }
        }
        return segmentLength > 0 && segments <= 3
    }

    public var segments: [Substring] { rawValue.split(separator: ".") }
    public var depth: Int {
        var dots = 0
        forEachDot { _ in dots += 1 }
        return dots + 1
    }

    /// Calls `body` with the UTF-8 offset of each dot, first to last, until it returns false. In place: the
    /// path's bytes read through `reduce` or split into segments cost 500 instructions an owner (`ancestor`).
    @inline(__always)
    private func forEachDot(_ body: (Int) -> Bool) {
        var text = rawValue
        text.withUTF8 { u in
            for (i, b) in u.enumerated() where b == UInt8(ascii: ".") {
                if !body(i) { return }
            }
        }
    }

    @inline(__always)
    private func forEachDot(_ body: (Int) -> Void) {
        forEachDot { (i: Int) -> Bool in
            body(i)
            return true
        }
    }

    /// The command level at which this area sits: depth 1 city, 2 district, 3 street.
    public var level: Level { Level(depth: depth) }

    public var parent: AreaPath? {
        guard let dot = rawValue.lastIndex(of: ".") else { return nil }
        return AreaPath(unchecked: String(rawValue[..<dot]))
    }

    /// True when `self` is `other` or lies below it.
    public func isWithin(_ other: AreaPath) -> Bool {
        rawValue == other.rawValue || rawValue.hasPrefix(other.rawValue + ".")
    }

    /// The ancestor of this area at `level`; the area itself when it is already at or above that level.
    public func ancestor(at level: Level) -> AreaPath {
        let wanted = level.depth
        // The path up to its `wanted`-th dot; the whole path when it has fewer.
        var seen = 0, end: Int?
        forEachDot { (i: Int) -> Bool in
            seen += 1
            if seen == wanted { end = i }
            return end == nil
        }
        guard let end else { return self }
        return AreaPath(unchecked: String(decoding: rawValue.utf8.prefix(end), as: UTF8.self))
    }

    public init(unchecked: String) { self.rawValue = unchecked }
    public var description: String { rawValue }
    public static func < (a: AreaPath, b: AreaPath) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let path = AreaPath(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an area path: \(text)"))
        }
        self = path
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A command level. Comparable by authority: street < district < city.
public enum Level: String, Sendable, CaseIterable, Comparable, Codable {
    case street, district, city

    public init(depth: Int) {
        switch depth {
        case ...1: self = .city
        case 2: self = .district
        default: self = .street
        }
    }

    public var depth: Int {
        switch self {
        case .city: 1
        case .district: 2
        case .street: 3
        }
    }

    /// The next level up; the city has none.
    public var above: Level? {
        switch self {
        case .street: .district
        case .district: .city
        case .city: nil
        }
    }

    public static func < (a: Level, b: Level) -> Bool { a.depth > b.depth }
}

/// A registered area: one platform of the city's tiered emergency system.
public struct Area: Sendable, Hashable {
    public var path: AreaPath
    /// The pinyin display name, e.g. "Futian".
    public var name: String
    /// The Chinese name, e.g. "福田区".
    public var nameZh: String
    public var center: GeoPoint
    /// The platform's CURVE public key (Z85), when security is enabled.
    public var publicKey: String?

    public init(path: AreaPath, name: String, nameZh: String, center: GeoPoint, publicKey: String? = nil) {
        self.path = path
        self.name = name
        self.nameZh = nameZh
        self.center = center
        self.publicKey = publicKey
    }
}

/// The tree of registered areas.
public struct AreaTree: Sendable {
    public private(set) var areas: [AreaPath: Area]

    public init(_ areas: [Area] = []) {
        var map: [AreaPath: Area] = [:]
        for a in areas { map[a.path] = a }
        self.areas = map
    }

    public func contains(_ path: AreaPath) -> Bool { areas[path] != nil }
    public subscript(path: AreaPath) -> Area? { areas[path] }
    public var count: Int { areas.count }
    public func count(at level: Level) -> Int { areas.keys.filter { $0.level == level }.count }
    public var sorted: [Area] { areas.values.sorted { $0.path < $1.path } }
    public func children(of path: AreaPath) -> [Area] {
        sorted.filter { $0.path.parent == path }
    }
}
