/// A point in WGS-84 degrees.
public struct GeoPoint: Hashable, Sendable, Codable {
    public var lat: Double
    public var lon: Double
    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
    }

    /// Great-circle distance in metres (haversine).
    public func distance(to other: GeoPoint) -> Double {
        distance(to: other, otherCos: cos(other.lat * .pi / 180))
    }

    /// `distance(to:)` with the cosine of `other`'s latitude (in radians) already taken: the same result, for a
    /// caller measuring from one point to many.
    @inline(__always)
    func distance(to other: GeoPoint, otherCos: Double) -> Double {
        let r = 6_371_008.8
        let p1 = lat * .pi / 180
        let dp = (other.lat - lat) * .pi / 180, dl = (other.lon - lon) * .pi / 180
        let a = sin(dp / 2) * sin(dp / 2) + cos(p1) * otherCos * sin(dl / 2) * sin(dl / 2)
        return 2 * r * atan2(a.squareRoot(), (1 - a).squareRoot())
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The severity tier of an incident: IV blue < III yellow < II orange < I red.
public enum Tier: String, Sendable, CaseIterable, Comparable, Codable {
    case iv = "IV", iii = "III", ii = "II", i = "I"

    public var rank: Int {
        switch self {
        case .iv: 1
        case .iii: 2
        case .ii: 3
        case .i: 4
        }
    }

    public var color: String {
        switch self {
        case .iv: "blue"
        case .iii: "yellow"
        case .ii: "orange"
        case .i: "red"
        }
    }

    /// CAP 1.2 `<severity>`.
    public var capSeverity: String {
        switch self {
        case .iv: "Minor"
        case .iii: "Moderate"
        case .ii: "Severe"
        case .i: "Extreme"
        }
    }

    /// The command level that owns an incident of this tier.
    public var owningLevel: Level {
        switch self {
        case .iv: .street
        case .iii: .district
        case .ii, .i: .city
        }
    }

    public static func < (a: Tier, b: Tier) -> Bool { a.rank < b.rank }
}

/// The four classes of China's Emergency Response Law.
public enum Category: String, Sendable, CaseIterable, Codable {
    case naturalDisaster = "natural_disaster"
    case accident
    case publicHealth = "public_health"
    case socialSafety = "social_safety"
}

/// CAP 1.2 `<category>` values.
public enum CAPCategory: String, Sendable, CaseIterable, Codable {
    case geo = "Geo", met = "Met", safety = "Safety", security = "Security", rescue = "Rescue"
    case fire = "Fire", health = "Health", env = "Env", transport = "Transport", infra = "Infra"
    case cbrne = "CBRNE", other = "Other"
}

/// Whether an event is a machine reading or a human report.
public enum EventKind: String, Sendable, CaseIterable, Codable {
    case sensor, report
}

/// Traffic status, carried end to end. Only `actual` events can lead to `actual/` feed messages.
public enum Status: String, Sendable, CaseIterable, Codable {
    case actual, exercise, test
}
