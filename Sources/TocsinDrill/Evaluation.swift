// Judging expectations against what the log shows.

import TocsinCore

/// The verdict on one expectation.
public struct ExpectationResult: Sendable, Hashable {
    public var id: String
    public var description: String
    public var met: Bool
    /// The offset at which it was met (`nil` when missed, and for expectations that something does not happen).
    public var at: Double?
    public var deadline: Double?
    /// What the verdict rests on, with warning and task ids and clock times.
    public var evidence: String

    public init(id: String, description: String, met: Bool, at: Double?, deadline: Double?, evidence: String) {
        self.id = id
        self.description = description
        self.met = met
        self.at = at
        self.deadline = deadline
        self.evidence = evidence
    }
}

/// The facts of a log that evaluation and the report use, in offset order.
struct DrillFacts {
    struct Ack {
        var offset: Double
        var warning: String
        var by: String
        var ok: Bool
        var error: String?
    }

    struct Step {
        var offset: Double
        var task: String
        var by: String
        var state: String
        var ok: Bool
        var error: String?
    }

    var warnings: [(offset: Double, w: WarningView)] = []
    var tasks: [(offset: Double, t: TaskView)] = []
    var acks: [Ack] = []
    var steps: [Step] = []
    var feed: [FeedMessage] = []
    var ordered: [DrillRecord]

    init(_ log: DrillLog) {
        ordered = log.ordered
        for record in ordered {
            switch record {
            case .feed(let offset, let topic, let body):
                let m = FeedMessage(offset: offset, topic: topic, body: body)
                feed.append(m)
                if let w = m.warning { warnings.append((offset, w)) }
                if let t = m.task { tasks.append((offset, t)) }
            case .action(let offset, _, let request, let reply):
                let ok = reply["ok"]?.boolValue ?? false
                let error = reply["error"]?.stringValue
                let by = request["by"]?.stringValue ?? "?"
                switch request["op"]?.stringValue {
                case "ack":
                    acks.append(Ack(offset: offset, warning: request["warning"]?.stringValue ?? "", by: by, ok: ok, error: error))
                case "step":
                    steps.append(
                        Step(offset: offset, task: request["task"]?.stringValue ?? "", by: by,
                             state: request["state"]?.stringValue ?? "", ok: ok, error: error))
                default: break
                }
            default: break
            }
        }
    }

    func warning(_ id: String) -> (offset: Double, w: WarningView)? { warnings.first { $0.w.id == id } }

    /// When each warning was first acknowledged, and by whom: a successful `ack` action, or a feed body carrying
    /// `acknowledgedBy` (at its `acknowledgedAt`, else when it was seen), whichever is earlier.
    func acknowledgements(start: Timestamp) -> [String: (offset: Double, by: String)] {
        var out: [String: (offset: Double, by: String)] = [:]
        func note(_ id: String, _ offset: Double, _ by: String) {
            if let have = out[id], have.offset <= offset { return }
            out[id] = (offset, by)
        }
        for a in acks where a.ok { note(a.warning, a.offset, a.by) }
        for (offset, w) in warnings {
            guard let by = w.acknowledgedBy else { continue }
            note(w.id, w.acknowledgedAt.map { $0 - start } ?? offset, by)
        }
        return out
    }

    /// The escalations: each escalated warning with the warning it replaced (the latest it references).
    func escalations() -> [(offset: Double, w: WarningView, replaced: WarningView?)] {
        warnings.compactMap { entry in
            guard entry.w.escalated, entry.w.msgType == "update" else { return nil }
            // An escalation keeps the tier and moves the owner one level up; later updates keep `escalated`.
            guard let previousID = entry.w.references.last, let previous = warning(previousID)?.w else {
                return (entry.offset, entry.w, nil)
            }
            guard let from = previous.level, let to = entry.w.level, from < to, previous.tier == entry.w.tier else {
                return nil
            }
            return (entry.offset, entry.w, previous)
        }
    }
}

extension Scenario {
    /// Expectations whose deadline has passed at `offset` and are not met, in declaration order. Every call
    /// returns all of them (also those reported before): the runner records a `.contingency` once per id.
    public func missedExpectations(in log: DrillLog, at offset: Double) -> [String] {
        let due = expectations.filter { $0.deadline <= offset }
        guard !due.isEmpty else { return [] }
        let facts = DrillFacts(log)
        return due.filter { !evaluate($0, facts).met }.map(\.id)
    }

    /// The final verdict on every expectation, in declaration order.
    public func evaluate(_ log: DrillLog) -> [ExpectationResult] {
        let facts = DrillFacts(log)
        return expectations.map { evaluate($0, facts) }
    }

    func evaluate(_ e: Expectation, _ facts: DrillFacts) -> ExpectationResult {
        let deadline = e.deadline
        func result(_ met: Bool, _ at: Double?, _ evidence: String) -> ExpectationResult {
            ExpectationResult(id: e.id, description: e.description, met: met, at: at, deadline: deadline, evidence: evidence)
        }
        let by = clock(deadline)
        switch e.kind {
        case .warning(let filter):
            let matching = facts.warnings.filter { !$0.w.isCancel && filter.matches($0.w) }
            if let first = matching.first, first.offset <= deadline {
                return result(true, first.offset, "\(first.w.id) (\(first.w.short)) at \(clock(first.offset)), \(margin(first.offset, deadline))")
            }
            if let late = matching.first {
                return result(
                    false, nil,
                    "no matching warning by \(by); \(late.w.id) (\(late.w.short)) came at \(clock(late.offset)), \(DrillTime.span(late.offset - deadline)) late")
            }
            var relaxed = filter
            relaxed.tier = nil
            relaxed.tierAtLeast = nil
            relaxed.level = nil
            relaxed.owner = nil
            relaxed.escalated = nil
            let near = facts.warnings.filter { !$0.w.isCancel && relaxed.matches($0.w) && $0.offset <= deadline }
            if let best = near.max(by: { ($0.w.tier?.rank ?? 0) < ($1.w.tier?.rank ?? 0) }) {
                return result(
                    false, nil,
                    "no matching warning by \(by); the closest was \(best.w.id) (\(best.w.short)) at \(clock(best.offset))")
            }
            return result(false, nil, "no matching warning by \(by), and no \(relaxedText(relaxed)) at all")

        case .acknowledged(let filter):
            let candidates = facts.warnings.filter { !$0.w.isCancel && filter.matches($0.w) }
            let ids = Set(candidates.map(\.w.id))
            let acked = facts.acknowledgements(start: start).filter { ids.contains($0.key) }
                .sorted { ($0.value.offset, $0.key) < ($1.value.offset, $1.key) }
            if let first = acked.first, first.value.offset <= deadline, let w = facts.warning(first.key) {
                return result(
                    true, first.value.offset,
                    "\(w.w.id) (\(w.w.short)) acknowledged by \(first.value.by) at \(clock(first.value.offset)), \(DrillTime.span(first.value.offset - w.offset)) after it was issued")
            }
            let issued = candidates.filter { $0.offset <= deadline }
            guard let last = issued.last else {
                return result(false, nil, "no matching warning was issued by \(by)")
            }
            var evidence = "\(issued.map(\.w.id).joined(separator: ", ")) (\(last.w.short), issued \(clock(issued[0].offset))) not acknowledged by \(by)"
            let escalations = facts.escalations().filter { ids.contains($0.replaced?.id ?? "") && $0.offset <= deadline }
            if let esc = escalations.first {
                evidence += "; escalated to \(esc.w.owner?.rawValue ?? "?") as \(esc.w.id) at \(clock(esc.offset))"
            }
            let refused = facts.acks.filter { ids.contains($0.warning) && !$0.ok && $0.offset <= deadline }
            if let r = refused.first { evidence += "; ack by \(r.by) refused at \(clock(r.offset)): \(r.error ?? "no reason given")" }
            if let lateAck = acked.first {
                evidence += "; acknowledged only at \(clock(lateAck.value.offset)) (\(DrillTime.span(lateAck.value.offset - deadline)) late)"
            }
            return result(false, nil, evidence)

        case .task(let filter):
            let goal: Set<String> = filter.state == "done" ? ["done"] : ["acknowledged", "done"]
            let goalText = filter.state ?? "acknowledged"
            let matching = facts.tasks.filter { filter.matchesIgnoringState($0.t) }
            let ids = Set(matching.map(\.t.id))
            var reached: [(offset: Double, id: String, by: String)] = matching.filter { goal.contains($0.t.state) }
                .map { ($0.offset, $0.t.id, $0.t.by ?? $0.t.owner?.rawValue ?? "?") }
            reached += facts.steps.filter { $0.ok && ids.contains($0.task) && goal.contains($0.state) }
                .map { ($0.offset, $0.task, $0.by) }
            reached.sort { ($0.offset, $0.id) < ($1.offset, $1.id) }
            if let first = reached.first, first.offset <= deadline {
                let due = matching.first { $0.t.id == first.id }?.t.due.map { ", due \(clock(offset(of: $0)))" } ?? ""
                return result(
                    true, first.offset, "\(first.id) \(goalText) by \(first.by) at \(clock(first.offset))\(due)")
            }
            let seen = matching.filter { $0.offset <= deadline }
            guard let firstSeen = seen.first else {
                let what = [filter.step.map { "step \($0)" }, filter.plan.map { "of the \($0) plan" }]
                    .compactMap { $0 }.joined(separator: " ")
                return result(false, nil, "no task for \(what.isEmpty ? "a matching step" : what) was published by \(by)")
            }
            var evidence = "\(firstSeen.t.id) was \(firstSeen.t.state) at \(clock(firstSeen.offset)) but not \(goalText) by \(by)"
            if let last = seen.last, last.t.state != firstSeen.t.state { evidence += " (state then: \(last.t.state))" }
            if let late = reached.first {
                evidence += "; \(goalText) only at \(clock(late.offset)) (\(DrillTime.span(late.offset - deadline)) late)"
            }
            return result(false, nil, evidence)

        case .noWarning(let filter):
            if let v = facts.warnings.first(where: { filter.matches($0.w) && $0.offset <= deadline }) {
                let area = v.w.area.map { " in \($0)" } ?? ""
                return result(false, nil, "\(v.w.id) (\(v.w.short))\(area) at \(clock(v.offset))")
            }
            let others = facts.warnings.filter { $0.offset <= deadline }.count
            return result(true, nil, "no matching warning until \(by) (\(others) warning\(others == 1 ? "" : "s") elsewhere)")

        case .noActual:
            if let v = facts.feed.first(where: { $0.isActual && $0.offset <= deadline }) {
                let id = v.body["id"]?.stringValue.map { " (\($0))" } ?? ""
                return result(false, nil, "\(v.topic)\(id) at \(clock(v.offset))")
            }
            let n = facts.feed.filter { $0.offset <= deadline }.count
            return result(true, nil, "none of the \(n) feed message\(n == 1 ? "" : "s") until \(by) was under actual/")
        }
    }

    private func margin(_ at: Double, _ deadline: Double) -> String {
        at == deadline ? "at the deadline" : "\(DrillTime.span(deadline - at)) before the deadline"
    }

    private func relaxedText(_ f: WarningFilter) -> String {
        var text = f.event.map { "\($0) warning" } ?? "warning"
        if let a = f.area { text += " for \(a)" }
        return text
    }
}
