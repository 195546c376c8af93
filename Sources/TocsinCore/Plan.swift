// Response plans (应急预案): per incident type, the steps to take at each response level.

/// Who owns a step: a fixed command level, or whichever level owns the warning that activated it.
public enum StepOwner: Sendable, Hashable, CaseIterable, RawRepresentable, Codable, CustomStringConvertible {
    /// Always this level (`street`, `district`, `city`).
    case level(Level)
    /// The owning level of the warning that added the step (its `level`, escalations included).
    case warning

    public static let allCases: [StepOwner] = Level.allCases.map { .level($0) } + [.warning]

    /// `street`, `district`, `city` or `warning`.
    public init?(rawValue: String) {
        if rawValue == "warning" {
            self = .warning
        } else if let level = Level(rawValue: rawValue) {
            self = .level(level)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .level(let l): l.rawValue
        case .warning: "warning"
        }
    }

    public var description: String { rawValue }
}

/// What happens to a step that is not done by its deadline.
public enum OverdueAction: String, Sendable, Hashable, CaseIterable, Codable {
    /// The task becomes `overdue` and is republished one level above its owner.
    case escalate
    /// The task becomes `overdue` and is republished at the city level directly.
    case escalateAndNotifyCity = "escalate_and_notify_city"
}

/// One step of a response plan.
public struct PlanStep: Sendable, Hashable, Codable, Identifiable {
    /// Unique within the plan (all levels): lower-case a-z, 0-9 and `_`. Part of the task id.
    public var id: String
    /// What to do, in plain words.
    public var action: String
    public var owner: StepOwner
    /// Seconds after the activation of the step's level by which it must be done.
    public var deadlineS: Double
    /// Ids of the steps (of this level or a lower one) that must be done first.
    public var after: [String]
    public var onOverdue: OverdueAction

    public init(
        id: String, action: String, owner: StepOwner, deadlineS: Double, after: [String] = [],
        onOverdue: OverdueAction = .escalate
    ) {
        self.id = id
        self.action = action
        self.owner = owner
        self.deadlineS = deadlineS
        self.after = after
        self.onOverdue = onOverdue
    }
}

/// The contingency plan of one incident type: for each response level (IV..I, named like the tiers) the steps it
/// adds. Levels are cumulative: a response at level II runs the steps of IV, III and II.
public struct ResponsePlan: Sendable, Hashable {
    /// The incident type it answers, e.g. `flood`; also the plan's id on the wire (the task's `plan`).
    public var incidentType: String
    /// The plan's human name, e.g. "Shenzhen urban flood contingency plan".
    public var name: String
    /// The steps each level adds, in the plan's order. A level may be absent (it adds nothing).
    public var levels: [Tier: [PlanStep]]

    public init(incidentType: String, name: String, levels: [Tier: [PlanStep]]) {
        self.incidentType = incidentType
        self.name = name
        self.levels = levels
    }

    /// The steps a response at `tier` runs, lowest level first, each with the level that adds it.
    public func steps(upTo tier: Tier) -> [(level: Tier, step: PlanStep)] {
        Tier.allCases.filter { $0 <= tier }.flatMap { level in (levels[level] ?? []).map { (level, $0) } }
    }

    /// The steps added by the levels above `from` up to and including `to` (an upgrade).
    public func steps(above from: Tier, upTo to: Tier) -> [(level: Tier, step: PlanStep)] {
        Tier.allCases.filter { $0 > from && $0 <= to }.flatMap { level in (levels[level] ?? []).map { (level, $0) } }
    }

    /// Every step of every level, lowest level first.
    public var allSteps: [(level: Tier, step: PlanStep)] { steps(upTo: .i) }

    /// The structural problems of the plan (empty when it is sound): duplicate step ids, an `after` naming an
    /// unknown step or a step of a higher level, cycles, levels without steps, deadlines not above 0. The config
    /// reader reports the same problems with file and line; this is for plans built in code.
    public var problems: [String] {
        var out: [String] = []
        var levelOf: [String: Tier] = [:]
        for (level, step) in allSteps {
            if levelOf[step.id] != nil { out.append("duplicate step id \"\(step.id)\"") } else { levelOf[step.id] = level }
            if !(step.deadlineS > 0) { out.append("step \(step.id): the deadline must be longer than 0s") }
        }
        for tier in Tier.allCases where levels[tier]?.isEmpty == true {
            out.append("level \(tier.rawValue) has no steps")
        }
        for (level, step) in allSteps {
            for a in step.after {
                guard let l = levelOf[a] else {
                    out.append("step \(step.id): unknown step \"\(a)\" in after")
                    continue
                }
                if l > level { out.append("step \(step.id): \"\(a)\" is added at a higher level (\(l.rawValue))") }
            }
        }
        if let cycle = firstCycle() { out.append("steps wait for each other in a cycle: " + cycle.joined(separator: " -> ")) }
        return out
    }

    /// The first dependency cycle in plan order, as step ids with the first repeated at the end; nil if none.
    public func firstCycle() -> [String]? {
        let order = allSteps.map(\.step)
        var after: [String: [String]] = [:]
        for s in order where after[s.id] == nil { after[s.id] = s.after }
        return Self.firstCycle(order: order.map(\.id), after: after)
    }

    /// The first cycle of a dependency graph, searching from the nodes in `order`.
    public static func firstCycle(order: [String], after: [String: [String]]) -> [String]? {
        // 0 unvisited, 1 on the current path, 2 finished.
        var mark: [String: Int] = [:]
        var path: [String] = []
        func visit(_ id: String) -> [String]? {
            if mark[id] == 2 { return nil }
            if mark[id] == 1, let start = path.firstIndex(of: id) { return Array(path[start...]) + [id] }
            mark[id] = 1
            path.append(id)
            for next in after[id] ?? [] where after[next] != nil {
                if let c = visit(next) { return c }
            }
            path.removeLast()
            mark[id] = 2
            return nil
        }
        for id in order {
            if let c = visit(id) { return c }
        }
        return nil
    }
}
