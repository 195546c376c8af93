/// How the values of an incident's events add up.
public enum Aggregate: String, Sendable, Codable {
    /// The highest value seen (sensor readings, `vehicles`).
    case max
    /// The sum over the incident's events (`injured`, `trapped`, `cases`).
    case sum
}

/// One value name of an event type.
public struct ValueSpec: Sendable, Hashable {
    public var name: String
    public var optional: Bool
    public var aggregate: Aggregate
    public init(name: String, optional: Bool = false, aggregate: Aggregate = .max) {
        self.name = name
        self.optional = optional
        self.aggregate = aggregate
    }
}

/// A condition that, when it holds over an incident's events, reaches a tier. Structured data, never code.
public enum TierCondition: Sendable, Hashable {
    /// At least `n` events of the type (reports) in the incident.
    case count(atLeast: Int)
    /// The aggregate (per the value's `aggregate`) of `value` is at least `threshold`.
    case value(String, atLeast: Double)
}

/// One event type of the catalog (PROTOCOL.md "Default catalog and tiers").
public struct EventTypeSpec: Sendable, Hashable {
    public var name: String
    public var kind: EventKind
    public var incident: String
    public var values: [ValueSpec]
    /// For each tier, conditions of which any one reaches it.
    public var tiers: [Tier: [TierCondition]] {
        didSet { ladder = TierLadder(tiers) }
    }
    /// `tiers` in the form `tier(count:aggregates:)` reads once per event: derived, so it adds nothing to equality.
    private(set) var ladder: TierLadder

    public init(name: String, kind: EventKind, incident: String, values: [ValueSpec], tiers: [Tier: [TierCondition]]) {
        self.name = name
        self.kind = kind
        self.incident = incident
        self.values = values
        self.tiers = tiers
        self.ladder = TierLadder(tiers)
    }

    public static func == (a: EventTypeSpec, b: EventTypeSpec) -> Bool {
        a.name == b.name && a.kind == b.kind && a.incident == b.incident && a.values == b.values && a.tiers == b.tiers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(kind)
        hasher.combine(incident)
        hasher.combine(values)
        hasher.combine(tiers)
    }

    public func value(named name: String) -> ValueSpec? { values.first { $0.name == name } }
}

/// One incident type: what events of its types merge into.
public struct IncidentTypeSpec: Sendable, Hashable {
    public var name: String
    public var category: Category
    public var capCategories: [CAPCategory]
    /// Events join an open incident whose centre is within this radius.
    public var radiusM: Double
    /// ... if their time is within this window after the incident's last event.
    public var windowS: Double
    /// An incident with no new event for this long closes by itself.
    public var quietS: Double
    public var headline: String
    public var instruction: String

    public init(
        name: String, category: Category, capCategories: [CAPCategory], radiusM: Double = 500,
        windowS: Double = 1800, quietS: Double = 7200, headline: String, instruction: String
    ) {
        self.name = name
        self.category = category
        self.capCategories = capCategories
        self.radiusM = radiusM
        self.windowS = windowS
        self.quietS = quietS
        self.headline = headline
        self.instruction = instruction
    }
}

/// Every event type and incident type a deployment knows.
public struct Catalog: Sendable {
    public var types: [String: EventTypeSpec]
    public var incidents: [String: IncidentTypeSpec]
    public init(types: [EventTypeSpec] = [], incidents: [IncidentTypeSpec] = []) {
        self.types = Dictionary(types.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.incidents = Dictionary(incidents.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
