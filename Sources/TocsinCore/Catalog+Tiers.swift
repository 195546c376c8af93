// Tier evaluation: the catalog's conditions applied to an incident's facts.

extension EventTypeSpec {
    /// Whether `condition` holds for `count` events of this type whose values add up to `aggregates`
    /// (value name -> sum or max, per the value's `aggregate`). A value never seen makes its condition false.
    public func holds(_ condition: TierCondition, count: Int, aggregates: [String: Double]) -> Bool {
        switch condition {
        case .count(let n):
            return count >= n
        case .value(let name, let threshold):
            guard let x = aggregates[name] else { return false }
            return x >= threshold
        }
    }

    /// The highest tier any of this type's conditions reaches, or `nil` when none does.
    public func tier(count: Int, aggregates: [String: Double]) -> Tier? {
        ladder.tier(count: count, aggregates: aggregates)
    }
}

/// An event type's tier conditions as `tier(count:aggregates:)` reads them for every event: the tiers highest
/// first, without a table lookup per tier, and each value the conditions name looked up once (the water-level
/// type names `level_m` in all four tiers: one lookup, not four). A tenth of the classify thread went to reading
/// the `[Tier: [TierCondition]]` table.
struct TierLadder: Sendable {
    enum Rung: Sendable {
        case count(atLeast: Int)
        /// `names[index]`'s aggregate at least the threshold.
        case value(index: Int, atLeast: Double)
    }

    /// The value names the conditions read, each once.
    let names: [String]
    /// Per tier with conditions, highest first: any one of its rungs reaches it.
    let steps: [(tier: Tier, rungs: [Rung])]

    init(_ tiers: [Tier: [TierCondition]]) {
        var names: [String] = []
        var steps: [(tier: Tier, rungs: [Rung])] = []
        for tier in Tier.highestFirst {
            guard let conditions = tiers[tier], !conditions.isEmpty else { continue }
            let rungs = conditions.map { condition -> Rung in
                switch condition {
                case .count(let n):
                    return .count(atLeast: n)
                case .value(let name, let threshold):
                    if let i = names.firstIndex(of: name) { return .value(index: i, atLeast: threshold) }
                    names.append(name)
                    return .value(index: names.count - 1, atLeast: threshold)
                }
            }
            steps.append((tier, rungs))
        }
        self.names = names
        self.steps = steps
    }

    func tier(count: Int, aggregates: [String: Double]) -> Tier? {
        tier(count: count) { name in aggregates.isEmpty ? nil : aggregates[name] }
    }

    /// `tier(count:aggregates:)` with each value name's aggregate from `aggregate`.
    @inline(__always)
    func tier(count: Int, aggregate: (String) -> Double?) -> Tier? {
        if steps.isEmpty { return nil }
        // Up to four value names without an allocation (a catalog's types name one or two).
        var a0: Double?, a1: Double?, a2: Double?, a3: Double?
        var more: [Double?] = []
        for (i, name) in names.enumerated() {
            let x = aggregate(name)
            switch i {
            case 0: a0 = x
            case 1: a1 = x
            case 2: a2 = x
            case 3: a3 = x
            default: more.append(x)
            }
        }
        for step in steps {
            for rung in step.rungs {
                switch rung {
                case .count(let n):
                    if count >= n { return step.tier }
                case .value(let i, let threshold):
                    let x: Double? = switch i {
                    case 0: a0
                    case 1: a1
                    case 2: a2
                    case 3: a3
                    default: more[i - 4]
                    }
                    if let x, x >= threshold { return step.tier }
                }
            }
        }
        return nil
    }
}

extension Tier {
    /// I, II, III, IV.
    public static let highestFirst: [Tier] = [.i, .ii, .iii, .iv]
}

extension Aggregate {
    /// Folds a new value `x` into the running aggregate `current` (absent before the first value).
    @inline(__always)
    public func combine(_ current: Double?, _ x: Double) -> Double {
        guard let current else { return x }
        switch self {
        case .max: return Swift.max(current, x)
        case .sum: return current + x
        }
    }
}

extension AreaPath {
    /// The deepest area that both `self` and `other` lie within (either of them when one contains the other);
    /// `nil` when they do not share a first segment.
    public func commonAncestor(with other: AreaPath) -> AreaPath? {
        if isWithin(other) { return other }
        if other.isWithin(self) { return self }
        var shared: [Substring] = []
        for (a, b) in zip(segments, other.segments) {
            guard a == b else { break }
            shared.append(a)
        }
        return shared.isEmpty ? nil : AreaPath(unchecked: shared.joined(separator: "."))
    }
}
