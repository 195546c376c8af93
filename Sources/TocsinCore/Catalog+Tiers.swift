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
        for tier in Tier.highestFirst {
            if let conditions = tiers[tier],
                conditions.contains(where: { holds($0, count: count, aggregates: aggregates) })
            {
                return tier
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
