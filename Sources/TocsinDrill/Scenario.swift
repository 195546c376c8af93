// The scenario model: a drill script shaped like an exercise's Master Scenario Events List (MSEL).
// See docs/scenarios.md for the YAML format.

import TocsinCore

/// One drill script, validated against the configuration: injects (events from platforms), simulated responder
/// actions, expectations and contingency injects. Built by `ScenarioLoader`.
public struct Scenario: Sendable {
    public var name: String
    public var purpose: String
    public var objectives: [String]
    /// Scenario time 0.
    public var start: Timestamp
    /// The UTC offset `start` was written with (seconds, e.g. 28800 for +08:00): reports show clock times in it.
    public var utcOffset: Int
    /// Length of the scenario, in seconds.
    public var duration: Double
    /// The virtual clock's step, in seconds (default 30).
    public var step: Double
    public var injects: [Inject]
    public var actions: [ResponderAction]
    public var expectations: [Expectation]
    public var contingencies: [Contingency]
    /// The file it was loaded from, as given to the loader.
    public var file: String
    /// The file's base name without `.yaml`, lower-case: the prefix of every event id (`typhoon-3-12`).
    public var slug: String

    public init(
        name: String, purpose: String = "", objectives: [String] = [], start: Timestamp, utcOffset: Int = 0,
        duration: Double, step: Double = 30, injects: [Inject] = [], actions: [ResponderAction] = [],
        expectations: [Expectation] = [], contingencies: [Contingency] = [], file: String = "<memory>",
        slug: String = "scenario"
    ) {
        self.name = name
        self.purpose = purpose
        self.objectives = objectives
        self.start = start
        self.utcOffset = utcOffset
        self.duration = duration
        self.step = step
        self.injects = injects
        self.actions = actions
        self.expectations = expectations
        self.contingencies = contingencies
        self.file = file
        self.slug = slug
    }

    /// The expectation with this id.
    public func expectation(_ id: String) -> Expectation? { expectations.first { $0.id == id } }
}

/// One line of the MSEL: one event, a sensor series or a burst of reports, sent by one platform.
public struct Inject: Sendable, Hashable {
    /// How the inject's events are generated.
    public enum Pattern: Sendable, Hashable {
        /// One event at `at`.
        case single
        /// Readings of one value moving linearly from `from` to `to`.
        case series(Series)
        /// Reports scattered in time and around the inject's location.
        case burst(Burst)
    }

    /// A sensor series: `value` goes linearly from `from` to `to` over `over` seconds, one reading every `every`
    /// seconds from the inject's `at` (the last at or before `at + over`), with seeded noise on the inner readings.
    public struct Series: Sendable, Hashable {
        public var value: String
        public var from: Double
        public var to: Double
        public var over: Double
        public var every: Double
        /// Uniform noise in [-noise, +noise] added to every reading but the first and the last.
        public var noise: Double
        /// Decimals the readings are rounded to.
        public var decimals: Int
        public var seed: UInt64
        public init(value: String, from: Double, to: Double, over: Double, every: Double, noise: Double = 0,
                    decimals: Int = 2, seed: UInt64 = 1) {
            self.value = value
            self.from = from
            self.to = to
            self.over = over
            self.every = every
            self.noise = noise
            self.decimals = decimals
            self.seed = seed
        }
        /// The number of readings.
        public var count: Int { over <= 0 ? 1 : Int((over / every + 1e-9).rounded(.down)) + 1 }
    }

    /// A burst: `count` events at seeded random whole seconds in [at, at + over], each at a seeded random point
    /// within `radiusM` metres of the inject's location.
    public struct Burst: Sendable, Hashable {
        public var count: Int
        public var over: Double
        public var radiusM: Double
        public var seed: UInt64
        public init(count: Int, over: Double, radiusM: Double, seed: UInt64 = 1) {
            self.count = count
            self.over = over
            self.radiusM = radiusM
            self.seed = seed
        }
    }

    /// A value: fixed, or drawn (seeded) from a range for every event.
    public enum Value: Sendable, Hashable {
        case fixed(Double)
        /// Uniform in [min, max], rounded to `decimals` (0 when both bounds were written as whole numbers).
        case range(min: Double, max: Double, decimals: Int)
    }

    /// The MSEL line's name; labels its events in the report.
    public var name: String
    /// Offset from the scenario start, in seconds.
    public var at: Double
    /// The publishing platform.
    public var source: AreaPath
    /// Where it happened: `source` or below it.
    public var area: AreaPath
    public var type: String
    public var kind: EventKind
    /// The event's location, or the burst's centre (default: the area's centre).
    public var location: GeoPoint
    public var values: [String: Value]
    /// Report texts; several are picked from by the generator's seed.
    public var texts: [String]
    public var device: String?
    public var pattern: Pattern
    /// Where it was written.
    public var line: Int

    public init(
        name: String, at: Double, source: AreaPath, area: AreaPath? = nil, type: String, kind: EventKind,
        location: GeoPoint, values: [String: Value] = [:], texts: [String] = [], device: String? = nil,
        pattern: Pattern = .single, line: Int = 0
    ) {
        self.name = name
        self.at = at
        self.source = source
        self.area = area ?? source
        self.type = type
        self.kind = kind
        self.location = location
        self.values = values
        self.texts = texts
        self.device = device
        self.pattern = pattern
        self.line = line
    }

    /// The offset of the inject's last event.
    public var end: Double {
        switch pattern {
        case .single: at
        case .series(let s): at + s.over
        case .burst(let b): at + b.over
        }
    }
}

/// Which warnings a trigger or an expectation is about. Every field left `nil` matches anything.
public struct WarningFilter: Sendable, Hashable {
    /// The incident type (`event` on the wire).
    public var event: String?
    /// Exactly this tier.
    public var tier: Tier?
    /// This tier or a higher one.
    public var tierAtLeast: Tier?
    /// The incident's area is this area or below it.
    public var area: AreaPath?
    /// The owning level.
    public var level: Level?
    /// The owning area.
    public var owner: AreaPath?
    /// Only escalated (`true`) or only not escalated (`false`) warnings.
    public var escalated: Bool?

    public init(event: String? = nil, tier: Tier? = nil, tierAtLeast: Tier? = nil, area: AreaPath? = nil,
                level: Level? = nil, owner: AreaPath? = nil, escalated: Bool? = nil) {
        self.event = event
        self.tier = tier
        self.tierAtLeast = tierAtLeast
        self.area = area
        self.level = level
        self.owner = owner
        self.escalated = escalated
    }
}

/// Which tasks (plan steps) a trigger or an expectation is about. Every field left `nil` matches anything.
public struct TaskFilter: Sendable, Hashable {
    /// The plan (its incident type).
    public var plan: String?
    /// The step id within the plan.
    public var step: String?
    /// Steps that do not match (e.g. `propose_all_clear` for a team that works every other step).
    public var exceptSteps: [String]
    /// The incident's area is this area or below it.
    public var area: AreaPath?
    public var level: Level?
    public var owner: AreaPath?
    /// For a trigger: the task's state (default `ready`). For an expectation: the state to reach
    /// (`acknowledged`, reached by `done` too, or `done`).
    public var state: String?

    public init(plan: String? = nil, step: String? = nil, exceptSteps: [String] = [], area: AreaPath? = nil,
                level: Level? = nil, owner: AreaPath? = nil, state: String? = nil) {
        self.plan = plan
        self.step = step
        self.exceptSteps = exceptSteps
        self.area = area
        self.level = level
        self.owner = owner
        self.state = state
    }
}

/// A simulated responder: after a warning or a task appears on the feed, wait `delay`, then send a command.
public struct ResponderAction: Sendable, Hashable {
    public enum Trigger: Sendable, Hashable {
        case warning(WarningFilter)
        case task(TaskFilter)
    }

    /// What the responder does.
    public enum Verb: String, Sendable, Hashable, CaseIterable {
        /// Acknowledge the triggering warning (`ack` op).
        case ack
        /// Acknowledge the triggering task (`step` op, state `acknowledged`).
        case acknowledge
        /// Mark the triggering task done (`step` op, state `done`).
        case done
        /// Give the all-clear for the triggering warning's incident (`close` op).
        case close
    }

    public var id: String
    public var trigger: Trigger
    public var delay: Double
    public var verb: Verb
    /// Who acts; default the triggering warning's or task's owner.
    public var by: AreaPath?
    /// Fire once for each matching warning or task instead of once in all.
    public var each: Bool
    public var line: Int

    public init(id: String, trigger: Trigger, delay: Double = 0, verb: Verb, by: AreaPath? = nil, each: Bool = false,
                line: Int = 0) {
        self.id = id
        self.trigger = trigger
        self.delay = delay
        self.verb = verb
        self.by = by
        self.each = each
        self.line = line
    }
}

/// What the exercise expects of the pipeline and the responders, by a deadline.
public struct Expectation: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A warning matching the filter is issued.
        case warning(WarningFilter)
        /// A warning matching the filter is acknowledged.
        case acknowledged(WarningFilter)
        /// A task matching the filter reaches `state` (`acknowledged`, which `done` also satisfies, or `done`).
        case task(TaskFilter)
        /// No warning matching the filter is issued.
        case noWarning(WarningFilter)
        /// Nothing is published under `actual/` (the drill fence holds).
        case noActual
    }

    public var id: String
    public var description: String
    public var kind: Kind
    /// Offset from the start by which it must be met (for `noWarning` and `noActual`: until which it must hold).
    public var deadline: Double
    public var line: Int

    public init(id: String, description: String, kind: Kind, deadline: Double, line: Int = 0) {
        self.id = id
        self.description = description
        self.kind = kind
        self.deadline = deadline
        self.line = line
    }

    /// True for expectations that something does not happen.
    public var isNegative: Bool {
        switch kind {
        case .noWarning, .noActual: true
        default: false
        }
    }
}

/// Injects that fire only if an expectation was missed, at or after its deadline.
public struct Contingency: Sendable, Hashable {
    public var expectation: String
    public var name: String
    /// Their `at` is an offset from the scenario start, not before the expectation's deadline.
    public var injects: [Inject]
    public var line: Int

    public init(expectation: String, name: String, injects: [Inject], line: Int = 0) {
        self.expectation = expectation
        self.name = name
        self.injects = injects
        self.line = line
    }
}
