import Foundation

/// Why a `step` request was refused. `description` is the message for the command reply.
public struct PlanError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// `unknown task "t-x"`
        case unknownTask
        /// `sz.nanshan does not own task t-inc-1-report (owner sz.futian.shatou)`
        case notOwner
        /// `task t-inc-1-report is done` / `task t-inc-1-report is cancelled`
        case finished
        /// `task t-inc-1-evacuate is waiting for cordon` (not yet ready, so not yet on the feed)
        case waiting
        /// `state must be acknowledged or done, got "overdue"`
        case badState
    }

    public var code: Code
    public var message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// One task of a plan run, compactly: what the run has in common (incident, plan, status) and what can be derived
/// (the id, the owner) is not kept per task, and its areas are numbers into the run's `areas`; `PlanRun.task(_:)`
/// rebuilds the `PlanTask`. A full `PlanTask` per step, with an id and an owner string of its own and an index
/// entry, made a warned incident's plan cost about 3 KB of memory.
struct TaskRecord: Sendable, Hashable {
    // Two words, then the one-byte fields: 24 bytes a task (a full `PlanTask` and the book's fields took over
    // 200, plus strings of their own; with the areas inline, 80; with the seq, 40; with a reference to the step, 32).
    var due: Timestamp
    /// When it last changed, in microseconds (`Int64.min`: never).
    var updatedMicros: Int64
    /// The step: a position in the run's `steps` (one table per plan, shared by its runs).
    var stepIndex: UInt8
    /// The incident's area as of the warning that activated the step: a position in the run's `areas`.
    var areaIndex: UInt8
    /// Who stepped it last: a position in the run's `areas`, or `TaskRecord.nobody`.
    var byIndex: UInt8
    /// The response level that added the step.
    var tier: Tier
    /// The owning level (above the step's own once escalated); the owner is the area's ancestor at it.
    var level: Level
    var state: TaskState
    private var bits: UInt8 = 0

    /// The three flags as a number (1 escalated, 2 waiting, 4 went overdue): the stored form's.
    var flags: Int { Int(bits) }

    var escalated: Bool {
        get { bits & 1 != 0 }
        set { bits = newValue ? bits | 1 : bits & ~1 }
    }
    /// Not yet ready: some `after` step is not done. Waiting tasks are not published.
    var waiting: Bool {
        get { bits & 2 != 0 }
        set { bits = newValue ? bits | 2 : bits & ~2 }
    }
    /// It went overdue once; it never does again.
    var wentOverdue: Bool {
        get { bits & 4 != 0 }
        set { bits = newValue ? bits | 4 : bits & ~4 }
    }

    init(due: Timestamp, updatedMicros: Int64, stepIndex: UInt8, areaIndex: UInt8, byIndex: UInt8, tier: Tier,
         level: Level, state: TaskState, escalated: Bool, waiting: Bool, wentOverdue: Bool) {
        self.due = due
        self.updatedMicros = updatedMicros
        self.stepIndex = stepIndex
        self.areaIndex = areaIndex
        self.byIndex = byIndex
        self.tier = tier
        self.level = level
        self.state = state
        self.escalated = escalated
        self.waiting = waiting
        self.wentOverdue = wentOverdue
    }

    static let nobody: UInt8 = .max

    var updated: Timestamp? {
        get { updatedMicros == .min ? nil : Timestamp(micros: updatedMicros) }
        set { updatedMicros = newValue?.micros ?? .min }
    }
}

/// The steps of a plan, in one object that its runs share (a run that needs a step the table lacks, after a plan
/// was edited between snapshot and restore, gets a table of its own).
final class StepTable: Sendable {
    let infos: [StepInfo]
    init(_ infos: [StepInfo]) { self.infos = infos }
}

/// What a task needs of its plan step, in one object that every task of the step shares.
final class StepInfo: Sendable, Hashable {
    let id: String
    let action: String
    /// Step ids that must be done first.
    let after: [String]
    let onOverdue: OverdueAction

    init(id: String, action: String, after: [String], onOverdue: OverdueAction) {
        self.id = id
        self.action = action
        self.after = after
        self.onOverdue = onOverdue
    }

    convenience init(_ step: PlanStep) {
        self.init(id: step.id, action: step.action, after: step.after, onOverdue: step.onOverdue)
    }

    static func == (a: StepInfo, b: StepInfo) -> Bool {
        a === b || (a.id == b.id && a.action == b.action && a.after == b.after && a.onOverdue == b.onOverdue)
    }

    func hash(into h: inout Hasher) {
        h.combine(id)
        h.combine(action)
        h.combine(after)
        h.combine(onOverdue)
    }
}

/// The plan of one incident: activated by its first warning, upgraded by higher tiers, ended by its cancel.
struct PlanRun: Sendable {
    var incident: String
    /// The plan's id (its incident type).
    var plan: String
    /// The status of the warnings that activated it (the drill fence: every task carries it).
    var status: Status
    /// The highest response level activated so far.
    var tier: Tier
    /// Activation order, for stable output.
    var number: Int64
    /// When the cancel ended it; it is then kept for `PlanBook.retentionS` for look-ups.
    var closedAt: Timestamp?
    /// In creation order: lowest level first, each level in the plan's order.
    var tasks: [TaskRecord]
    /// The distinct areas its tasks name (`areaIndex`, `byIndex`), in the order they came: a handful a run,
    /// most often one (the incident's), which is kept inline: an array of one took a 64-byte block a run.
    var areas: [AreaPath] { firstArea.map { [$0] + moreAreas } ?? [] }
    private var firstArea: AreaPath?
    private var moreAreas: [AreaPath] = []
    private var areaCount: Int { firstArea == nil ? 0 : 1 + moreAreas.count }
    /// What its tasks' `stepIndex` count in.
    private(set) var steps: StepTable
    /// The feed `seq`s recorded with `PlanBook.recordSeq`, by step id (the plan worker leaves numbering to
    /// dispatch, so this stays empty there and costs no allocation).
    var seqs: [String: Int64] = [:]

    init(incident: String, plan: String, status: Status, tier: Tier, number: Int64, closedAt: Timestamp? = nil,
         steps: StepTable = StepTable([]), tasks: [TaskRecord]) {
        self.steps = steps
        self.incident = incident
        self.plan = plan
        self.status = status
        self.tier = tier
        self.number = number
        self.closedAt = closedAt
        self.tasks = tasks
    }

    /// The position of `area` in `areas`, added when new. A run names at most one area per warning and one per
    /// step; past 254 distinct ones (which no plan reaches) the last is reused rather than failing.
    mutating func areaIndex(_ area: AreaPath) -> UInt8 {
        guard let first = firstArea else {
            firstArea = area
            return 0
        }
        if first == area { return 0 }
        if let i = moreAreas.firstIndex(of: area) { return UInt8(i + 1) }
        guard areaCount < Int(TaskRecord.nobody) else { return TaskRecord.nobody - 1 }
        moreAreas.append(area)
        return UInt8(moreAreas.count)
    }

    private func area(at i: UInt8) -> AreaPath { i == 0 ? firstArea! : moreAreas[Int(i) - 1] }

    func area(of r: TaskRecord) -> AreaPath { area(at: r.areaIndex) }
    func info(of r: TaskRecord) -> StepInfo { steps.infos[Int(r.stepIndex)] }
    func step(of r: TaskRecord) -> String { info(of: r).id }

    /// The position of `info` in `steps` (the same object, else an equal one), added when new: the run then gets
    /// a table of its own. Past 255 steps (which no plan reaches) the last is reused rather than failing.
    mutating func stepIndex(_ info: StepInfo) -> UInt8 {
        if let i = steps.infos.firstIndex(where: { $0 === info }) ?? steps.infos.firstIndex(of: info) {
            return UInt8(i)
        }
        guard steps.infos.count <= Int(UInt8.max) else { return .max }
        steps = StepTable(steps.infos + [info])
        return UInt8(steps.infos.count - 1)
    }

    /// Points the run at `table` when it holds every step the run's tasks name (a restored run and its plan's
    /// shared table).
    mutating func share(_ table: StepTable) {
        guard table !== steps else { return }
        var map: [UInt8] = []
        for info in steps.infos {
            guard let i = table.infos.firstIndex(of: info) else { return }
            map.append(UInt8(i))
        }
        for i in tasks.indices { tasks[i].stepIndex = map[Int(tasks[i].stepIndex)] }
        steps = table
    }
    func owner(of r: TaskRecord) -> AreaPath { area(of: r).ancestor(at: r.level) }
    func by(of r: TaskRecord) -> AreaPath? { r.byIndex == TaskRecord.nobody ? nil : area(at: r.byIndex) }

    /// A task record of this run naming `area` and `by` (added to `areas` when new; the book passes its shared
    /// copies).
    mutating func record(info: StepInfo, area: AreaPath, due: Timestamp, updated: Timestamp?,
                         by: AreaPath?, tier: Tier, level: Level, state: TaskState, escalated: Bool, waiting: Bool,
                         wentOverdue: Bool) -> TaskRecord {
        TaskRecord(due: due, updatedMicros: updated?.micros ?? .min, stepIndex: stepIndex(info), areaIndex: areaIndex(area),
                   byIndex: by.map { areaIndex($0) } ?? TaskRecord.nobody, tier: tier, level: level, state: state,
                   escalated: escalated, waiting: waiting, wentOverdue: wentOverdue)
    }

    func isDone(step: String) -> Bool {
        // A predecessor the run does not have (a plan edited between snapshot and restore) does not block.
        tasks.first { self.step(of: $0) == step }.map { $0.state == .done } ?? true
    }

    func pending(_ record: TaskRecord) -> [String] { info(of: record).after.filter { !isDone(step: $0) } }

    func position(ofStep step: String) -> Int? { tasks.firstIndex { self.step(of: $0) == step } }

    /// The task as published.
    func task(_ r: TaskRecord) -> PlanTask {
        let info = info(of: r)
        return PlanTask(
            id: PlanTask.id(incident: incident, step: info.id), seq: seqs[info.id] ?? 0, plan: plan, incident: incident,
            step: info.id, action: info.action, level: r.level, owner: owner(of: r), area: area(of: r), due: r.due,
            state: r.state, status: status, escalated: r.escalated, updated: r.updated, by: by(of: r))
    }
}

extension PlanRun: Hashable {
    /// Runs are equal when they hold the same tasks, whatever the order their areas were numbered in.
    static func == (a: PlanRun, b: PlanRun) -> Bool {
        guard a.incident == b.incident, a.plan == b.plan, a.status == b.status, a.tier == b.tier,
              a.number == b.number, a.closedAt == b.closedAt, a.tasks.count == b.tasks.count else { return false }
        return zip(a.tasks, b.tasks).allSatisfy { x, y in
            let sameStep = a.info(of: x) == b.info(of: y)
            return sameStep && a.task(x) == b.task(y) && x.tier == y.tier && x.waiting == y.waiting
                && x.wentOverdue == y.wentOverdue
        }
    }

    func hash(into h: inout Hasher) {
        h.combine(incident)
        h.combine(number)
        h.combine(tasks.count)
    }
}

extension PlanRun: Codable {
    /// The stored form of a task: the full `PlanTask` and the book's fields, as before the records were compacted,
    /// so that stored runs read the same either way.
    private struct StoredTask: Codable {
        var task: PlanTask
        var tier: Tier
        var after: [String]
        var onOverdue: OverdueAction
        var waiting: Bool
        var wentOverdue: Bool
    }

    private enum CodingKeys: String, CodingKey { case incident, plan, status, tier, number, closedAt, tasks, records }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        incident = try c.decode(String.self, forKey: .incident)
        plan = try c.decode(String.self, forKey: .plan)
        tier = try c.decode(Tier.self, forKey: .tier)
        number = try c.decode(Int64.self, forKey: .number)
        closedAt = try c.decodeIfPresent(Timestamp.self, forKey: .closedAt)
        steps = StepTable([])
        tasks = []
        if c.contains(.records) {
            status = try c.decode(Status.self, forKey: .status)
            var records = try c.nestedUnkeyedContainer(forKey: .records)
            while !records.isAtEnd {
                var t = try records.nestedUnkeyedContainer()
                let step = try t.decode(String.self), action = try t.decode(String.self)
                let after = try t.decode([String].self), onOverdue = try t.decode(OverdueAction.self)
                let tier = try t.decode(Tier.self), level = try t.decode(Level.self)
                let area = try t.decode(AreaPath.self), by = try t.decodeNil() ? nil : try t.decode(AreaPath.self)
                let state = try t.decode(TaskState.self), due = try t.decode(Int64.self)
                let updated = try t.decodeNil() ? nil : try t.decode(Int64.self)
                let flags = try t.decode(Int.self), seq = try t.decode(Int64.self)
                guard t.isAtEnd, (0...7).contains(flags) else {
                    throw DecodingError.dataCorruptedError(in: t, debugDescription: "not a stored task record")
                }
                let r = record(
                    info: StepInfo(id: step, action: action, after: after, onOverdue: onOverdue), area: area,
                    due: Timestamp(micros: due), updated: updated.map(Timestamp.init(micros:)), by: by, tier: tier,
                    level: level, state: state, escalated: flags & 1 != 0, waiting: flags & 2 != 0,
                    wentOverdue: flags & 4 != 0)
                tasks.append(r)
                if seq != 0 { seqs[step] = seq }
            }
            return
        }
        // The form stored before the eleventh round: each task whole, as a `PlanTask`, with the book's fields.
        let stored = try c.decode([StoredTask].self, forKey: .tasks)
        // `status` was added to the stored run later: before, each task carried it.
        status = try c.decodeIfPresent(Status.self, forKey: .status) ?? stored.first?.task.status ?? .actual
        tasks.reserveCapacity(stored.count)
        for s in stored {
            let r = record(
                info: StepInfo(id: s.task.step, action: s.task.action, after: s.after, onOverdue: s.onOverdue),
                area: s.task.area, due: s.task.due, updated: s.task.updated, by: s.task.by, tier: s.tier,
                level: s.task.level, state: s.task.state, escalated: s.task.escalated, waiting: s.waiting,
                wentOverdue: s.wentOverdue)
            tasks.append(r)
            if s.task.seq != 0 { seqs[s.task.step] = s.task.seq }
        }
    }

    /// The stored form (`writeCodableJSON` writes the same): the run's fields, then each task as one array,
    /// `[step, action, after, onOverdue, tier, level, area, by or null, state, due micros, updated micros or
    /// null, flags (1 escalated, 2 waiting, 4 went overdue), feed seq or 0]`. What every task repeated (its id,
    /// plan, incident, owner, status) is the run's or follows from it.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(incident, forKey: .incident)
        try c.encode(plan, forKey: .plan)
        try c.encode(status, forKey: .status)
        try c.encode(tier, forKey: .tier)
        try c.encode(number, forKey: .number)
        try c.encodeIfPresent(closedAt, forKey: .closedAt)
        var records = c.nestedUnkeyedContainer(forKey: .records)
        for r in tasks {
            let info = info(of: r)
            var t = records.nestedUnkeyedContainer()
            try t.encode(info.id)
            try t.encode(info.action)
            try t.encode(info.after)
            try t.encode(info.onOverdue)
            try t.encode(r.tier)
            try t.encode(r.level)
            try t.encode(area(of: r))
            if let by = by(of: r) { try t.encode(by) } else { try t.encodeNil() }
            try t.encode(r.state)
            try t.encode(r.due.micros)
            if let updated = r.updated { try t.encode(updated.micros) } else { try t.encodeNil() }
            try t.encode(r.flags)
            try t.encode(seqs[info.id] ?? 0)
        }
    }
}

/// The serialisable state of a `PlanBook`.
public struct PlanBookState: Sendable, Hashable, Codable {
    var nextRunNumber: Int64
    /// Plan runs by activation order.
    var runs: [PlanRun]

    public init() {
        self.nextRunNumber = 1
        self.runs = []
    }

    init(nextRunNumber: Int64, runs: [PlanRun]) {
        self.nextRunNumber = nextRunNumber
        self.runs = runs
    }
}

/// Runs the response plans of incidents (PROTOCOL.md "Task"): warnings in, tasks out. Pure: the time arrives as an
/// argument, and the same inputs always give the same tasks.
///
/// - The first warning of an incident whose type has a plan activates the plan at the response level of the
///   warning's tier (tier III runs the steps of levels IV and III). A later warning with a higher tier upgrades
///   it: the steps of the levels above the current one, up to the new tier, are added; what exists is kept. A
///   lower or equal tier changes nothing. A `cancel` ends the plan: every task not done becomes `cancelled`.
/// - A step waits for its `after` steps: its task is created with the level but published only when they are
///   all done (then `ready`). Waiting tasks are never on the feed, cannot be stepped, and are cancelled silently.
/// - A task's `due` is the `sent` time of the warning that activated its level plus the step's deadline, so a
///   rebuild from the feed gives the same deadlines. Its `area` is that warning's area; an `owner: warning` step
///   is owned at that warning's `level`.
/// - `advance(to:)` makes every published task not done by its due time `overdue` (once per task), owned one
///   level up (`escalate`) or by the city (`escalate_and_notify_city`), with `escalated: true` when the level
///   rose. A task that became ready after its due time goes overdue at the next `advance`.
/// - Produced tasks carry `seq` 0: the dispatch worker numbers them when it publishes them.
public struct PlanBook: Sendable {
    /// Plans by incident type.
    public let plans: [String: ResponsePlan]
    /// How long the tasks of an ended plan stay available to `task(_:)` and for clear `step` errors.
    public var retentionS: Double {
        didSet { nextCheck = nil }
    }

    private var nextRunNumber: Int64
    private var runs = RunTable() {
        // Any change may bring a deadline forward: the next `advance` looks at every run again.
        didSet { nextCheck = nil }
    }
    /// No task falls due and no ended run expires before this (set by `advance`); until then `advance` does
    /// nothing, so holding many open plans costs nothing per clock tick.
    private var nextCheck: Timestamp?
    /// The incidents whose ended runs the last `advance` let go after their retention (their stored rows can go
    /// too).
    public private(set) var lastExpired: [String] = []

    private struct StepKey: Hashable {
        var plan: String
        var step: String
    }
    /// One `StepInfo` per step of the loaded plans.
    private var stepInfos: [StepKey: StepInfo] = [:]
    /// Per plan, its steps: what new runs count their tasks' steps in.
    private var stepTables: [String: StepTable] = [:]
    /// One stored copy of each area the runs name (each warning brings its own copy of the string).
    private var areaTexts = Set<AreaPath>()

    private func stepInfo(plan: String, step: PlanStep) -> StepInfo {
        if let shared = stepInfos[StepKey(plan: plan, step: step.id)], shared.action == step.action,
            shared.after == step.after, shared.onOverdue == step.onOverdue
        {
            return shared
        }
        return StepInfo(step)
    }

    public init(plans: [String: ResponsePlan], retentionS: Double = 86_400, state: PlanBookState = PlanBookState()) {
        self.plans = plans
        self.retentionS = retentionS
        self.nextRunNumber = state.nextRunNumber
        for plan in plans.values {
            var infos: [StepInfo] = []
            for level in plan.levels.keys.sorted() {
                for step in plan.levels[level]! {
                    let info = StepInfo(step)
                    stepInfos[StepKey(plan: plan.incidentType, step: step.id)] = info
                    infos.append(info)
                }
            }
            stepTables[plan.incidentType] = StepTable(infos)
        }
        for var run in state.runs {
            // Restored runs share the loaded plan's table where it holds their steps unchanged.
            if let table = stepTables[run.plan] { run.share(table) }
            runs[run.incident] = run
        }
    }

    /// The runs, for tests of their layout.
    var runTable: RunTable { runs }

    /// The state to snapshot.
    public var state: PlanBookState {
        PlanBookState(nextRunNumber: nextRunNumber, runs: runs.values.sorted { $0.number < $1.number })
    }

    /// The state as JSON bytes (keys sorted: equal states give equal bytes).
    public func snapshot() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(state))
    }

    /// A book continuing from a `snapshot()`.
    public init(plans: [String: ResponsePlan], retentionS: Double = 86_400, snapshot: [UInt8]) throws {
        let state = try JSONDecoder().decode(PlanBookState.self, from: Data(snapshot))
        self.init(plans: plans, retentionS: retentionS, state: state)
    }

    // MARK: - Incremental persistence

    /// The book's counter, without its runs: with `runSnapshot(_:)` a store keeps one row per incident and
    /// rewrites only what a change touched.
    /// Both are written by hand in exactly the form `Codable` gives them (the init below reads them with
    /// `JSONDecoder`): the plan worker writes them at every commit, and `JSONEncoder` cost about 40,000
    /// instructions per task.
    public func headerSnapshot() throws -> [UInt8] {
        var w = JSONWriter(capacity: 48)
        w.beginObject()
        w.field("nextRunNumber", Int(nextRunNumber))
        w.key("runs")
        w.beginArray()
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// One incident's plan run (nil when the book no longer keeps it).
    public func runSnapshot(_ incident: String) throws -> [UInt8]? {
        guard let run = runs[incident] else { return nil }
        var w = JSONWriter(capacity: 4096)
        run.writeCodableJSON(into: &w)
        return w.bytes
    }

    /// The incidents the book keeps plan runs for.
    public var runIDs: Set<String> { Set(runs.keys) }

    /// A book continuing from `headerSnapshot()` and every `runSnapshot(_:)`.
    public init(plans: [String: ResponsePlan], retentionS: Double = 86_400, header: [UInt8], runs: [[UInt8]]) throws {
        let head = try JSONDecoder().decode(PlanBookState.self, from: Data(header))
        let all = try runs.map { try JSONDecoder().decode(PlanRun.self, from: Data($0)) }.sorted { $0.number < $1.number }
        self.init(plans: plans, retentionS: retentionS, state: PlanBookState(nextRunNumber: head.nextRunNumber, runs: all))
    }

    // MARK: - Queries

    /// The published tasks of open plans that are not `done` or `cancelled` (the `active` op), by activation, then
    /// plan order.
    public var openTasks: [PlanTask] {
        runs.values.filter { $0.closedAt == nil }.sorted { $0.number < $1.number }
            .flatMap { run in run.tasks.filter { !$0.waiting && !$0.state.isFinal }.map(run.task) }
    }

    /// A published task of an open plan, or of one ended less than `retentionS` ago.
    public func task(_ id: String) -> PlanTask? {
        guard let (incident, i) = locate(id), let run = runs[incident], !run.tasks[i].waiting else { return nil }
        return run.task(run.tasks[i])
    }

    /// The incident and position of task `id` (`t-<incident id>-<step id>`) among the runs kept. Incident and
    /// step ids may contain `-`: every split is tried.
    private func locate(_ id: String) -> (incident: String, position: Int)? {
        for (incident, step) in PlanTask.splits(ofID: id) {
            if let run = runs[incident], let i = run.position(ofStep: step) { return (incident, i) }
        }
        return nil
    }

    /// The published tasks of an incident, in plan order.
    public func tasks(ofIncident id: String) -> [PlanTask] {
        guard let run = runs[id] else { return [] }
        return run.tasks.filter { !$0.waiting }.map(run.task)
    }

    /// The response level activated for an open incident; nil when it has no running plan.
    public func responseLevel(ofIncident id: String) -> Tier? {
        guard let run = runs[id], run.closedAt == nil else { return nil }
        return run.tier
    }

    /// Records the feed `seq` under which a task was published, so that `openTasks` and `task(_:)` carry it.
    /// Optional: a dispatcher that keeps its own seqs need not call it.
    public mutating func recordSeq(_ seq: Int64, ofTask id: String) {
        guard let (incident, i) = locate(id), var run = runs[incident] else { return }
        run.seqs[run.step(of: run.tasks[i])] = seq
        runs[incident] = run
    }

    // MARK: - Warnings

    /// The tasks (to publish) that a warning calls for: activation, upgrade or end of its incident's plan.
    public mutating func warningIssued(_ w: Warning, at now: Timestamp) -> [PlanTask] {
        warningIssued(Warning.Activation(w), at: now)
    }

    /// `warningIssued(_:at:)` with only what the book reads of the warning.
    public mutating func warningIssued(_ w: Warning.Activation, at now: Timestamp) -> [PlanTask] {
        guard let plan = plans[w.event] else { return [] }
        if w.msgType == .cancel {
            guard var run = runs[w.incident], run.closedAt == nil else { return [] }
            var out: [PlanTask] = []
            for i in run.tasks.indices where !run.tasks[i].state.isFinal {
                run.tasks[i].state = .cancelled
                run.tasks[i].updated = now
                if !run.tasks[i].waiting { out.append(run.task(run.tasks[i])) }
            }
            run.closedAt = now
            runs[w.incident] = run
            return out
        }
        let added: [(level: Tier, step: PlanStep)]
        var run: PlanRun
        if let existing = runs[w.incident] {
            guard existing.closedAt == nil, w.tier > existing.tier else { return [] }
            run = existing
            added = plan.steps(above: run.tier, upTo: w.tier)
        } else {
            run = PlanRun(
                incident: w.incident, plan: plan.incidentType, status: w.status, tier: w.tier, number: nextRunNumber,
                steps: stepTables[plan.incidentType] ?? StepTable([]), tasks: [])
            nextRunNumber += 1
            added = plan.steps(upTo: w.tier)
        }
        run.tier = w.tier
        let first = run.tasks.count
        for (tier, step) in added {
            // A step id the run already has (a plan edited between snapshot and restore) is not added twice.
            guard run.position(ofStep: step.id) == nil else { continue }
            let level: Level
            switch step.owner {
            case .level(let l): level = l
            case .warning: level = w.level
            }
            let record = run.record(
                info: stepInfo(plan: plan.incidentType, step: step), area: areaTexts.insert(w.area).memberAfterInsert,
                due: w.sent.adding(seconds: step.deadlineS), updated: now, by: nil, tier: tier, level: level,
                state: .ready, escalated: false, waiting: true, wentOverdue: false)
            run.tasks.append(record)
        }
        var out: [PlanTask] = []
        for i in first..<run.tasks.count where run.pending(run.tasks[i]).isEmpty {
            run.tasks[i].waiting = false
            out.append(run.task(run.tasks[i]))
        }
        runs[w.incident] = run
        return out
    }

    // MARK: - Steps

    /// Moves a task to `acknowledged` or `done` on behalf of `by`, which must be the task's owner or one of its
    /// ancestors. Returns the changed task, then (after a `done`) the tasks that became ready; acknowledging an
    /// acknowledged task changes nothing and returns nothing.
    public mutating func step(_ taskID: String, by: AreaPath, state: TaskState, at now: Timestamp) throws(PlanError)
        -> [PlanTask]
    {
        guard state == .acknowledged || state == .done else {
            throw PlanError(code: .badState, message: "state must be acknowledged or done, got \"\(state.rawValue)\"")
        }
        guard let (incident, i) = locate(taskID), var run = runs[incident] else {
            throw PlanError(code: .unknownTask, message: "unknown task \(JSONWriter.quoted(taskID))")
        }
        let record = run.tasks[i]
        if record.state.isFinal {
            throw PlanError(code: .finished, message: "task \(taskID) is \(record.state.rawValue)")
        }
        if record.waiting {
            let pending = run.pending(record).joined(separator: ", ")
            throw PlanError(code: .waiting, message: "task \(taskID) is waiting for \(pending)")
        }
        let owner = run.owner(of: record)
        guard owner.isWithin(by) else {
            throw PlanError(code: .notOwner, message: "\(by) does not own task \(taskID) (owner \(owner))")
        }
        if state == .acknowledged && record.state == .acknowledged { return [] }
        run.tasks[i].state = state
        run.tasks[i].byIndex = run.areaIndex(areaTexts.insert(by).memberAfterInsert)
        run.tasks[i].updated = now
        var out = [run.task(run.tasks[i])]
        if state == .done {
            for j in run.tasks.indices where run.tasks[j].waiting && run.pending(run.tasks[j]).isEmpty {
                run.tasks[j].waiting = false
                run.tasks[j].updated = now
                out.append(run.task(run.tasks[j]))
            }
        }
        runs[incident] = run
        return out
    }

    // MARK: - Deadlines

    /// Makes every published task that is not done by its due time `overdue`, owned above its level, and forgets
    /// ended plans older than `retentionS`. Tasks come out earliest due first. Each task goes overdue at most once.
    public mutating func advance(to now: Timestamp) -> [PlanTask] {
        lastExpired = []
        if let nextCheck, now < nextCheck { return [] }
        var due: [(due: Int64, number: Int64, position: Int, incident: String)] = []
        var expired: [String] = []
        var earliest = Int64.max
        for (id, run) in runs {
            if let closedAt = run.closedAt {
                if now - closedAt >= retentionS {
                    expired.append(id)
                } else {
                    earliest = min(earliest, closedAt.adding(seconds: retentionS).micros)
                }
                continue
            }
            // Fields read in place: copying a whole `TaskRecord` retains each of its strings.
            for i in run.tasks.indices
            where !run.tasks[i].waiting && !run.tasks[i].wentOverdue && !run.tasks[i].state.isFinal {
                let at = run.tasks[i].due
                if at <= now {
                    due.append((at.micros, run.number, i, id))
                } else {
                    earliest = min(earliest, at.micros)
                }
            }
        }
        for id in expired { runs[id] = nil }
        lastExpired = expired
        due.sort { ($0.due, $0.number, $0.position) < ($1.due, $1.number, $1.position) }
        var out: [PlanTask] = []
        for d in due {
            guard var run = runs[d.incident] else { continue }
            var r = run.tasks[d.position]
            let level: Level =
                switch run.info(of: r).onOverdue {
                case .escalate: r.level.above ?? r.level
                case .escalateAndNotifyCity: .city
                }
            r.state = .overdue
            r.escalated = r.escalated || level > r.level
            r.level = level
            r.updated = now
            r.wentOverdue = true
            run.tasks[d.position] = r
            runs[d.incident] = run
            out.append(run.task(r))
        }
        // A task that became ready, or went overdue, changes what is due: look again at the next tick then.
        nextCheck = out.isEmpty ? Timestamp(micros: earliest) : nil
        return out
    }
}

extension PlanRun {
    /// Writes the run exactly as its `Codable` conformance encodes it (see `Incident.writeCodableJSON`): each task
    /// as one array of its record's fields. Each task as a whole `PlanTask` object with the book's fields (the form
    /// before the eleventh round, still read) took twice the bytes, a run of ten tasks over a page of its own and
    /// two overflow pages of SQLite's, and about 5,000 instructions a task to write.
    func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.field("incident", incident)
        w.field("plan", plan)
        w.field("status", status.rawValue)
        w.field("tier", tier.rawValue)
        w.field("number", Int(number))
        if let closedAt {
            w.key("closedAt")
            closedAt.writeCodableJSON(into: &w)
        }
        w.key("records")
        w.beginArray()
        for r in tasks {
            let info = info(of: r)
            w.beginArray()
            w.value(info.id)
            w.value(info.action)
            w.beginArray()
            for a in info.after { w.value(a) }
            w.endArray()
            w.value(info.onOverdue.rawValue)
            w.value(r.tier.rawValue)
            w.value(r.level.rawValue)
            w.value(area(of: r).rawValue)
            if let by = by(of: r) { w.value(by.rawValue) } else { w.null() }
            w.value(r.state.rawValue)
            w.value(Int(r.due.micros))
            if let updated = r.updated { w.value(Int(updated.micros)) } else { w.null() }
            w.value(r.flags)
            w.value(Int(seqs[info.id] ?? 0))
            w.endArray()
        }
        w.endArray()
        w.endObject()
    }
}

/// The plan book's runs by incident, each behind one reference: the table holds a word per run instead of the whole
/// 80-byte run in every bucket (Swift's dictionaries keep their buckets at most three quarters full: 100,000 runs
/// took 262,144 buckets, 25 MB). A changed run goes into a new box, so copies of a book never share a change.
struct RunTable: Sequence, Sendable {
    fileprivate final class Box: Sendable {
        let run: PlanRun
        init(_ run: PlanRun) { self.run = run }
    }

    /// By incident: each run is kept under its own `incident`.
    private var boxes = ByIncident<Box>()

    subscript(incident: String) -> PlanRun? {
        get { boxes[incident]?.run }
        set { boxes[incident] = newValue.map(Box.init) }
    }

    fileprivate var keys: [String] { boxes.keys }
    fileprivate var values: LazyMapSequence<ByIncident<Box>.Values, PlanRun> { boxes.values.lazy.map(\.run) }

    struct Iterator: IteratorProtocol {
        fileprivate var base: ByIncident<Box>.Values.Iterator
        mutating func next() -> (key: String, value: PlanRun)? {
            base.next().map { ($0.run.incident, $0.run) }
        }
    }

    func makeIterator() -> Iterator { Iterator(base: boxes.values.makeIterator()) }
}
