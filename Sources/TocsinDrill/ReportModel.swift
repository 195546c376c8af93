// The after-action analysis of a log: timeline, key times, strengths and areas for improvement. Everything is
// derived from the log's records in order, so the same log always gives the same model.

import Foundation
import TocsinCore

struct ReportModel {
    struct Entry {
        var offset: Double
        var kind: String
        var text: String
        /// The warning, task or event ids the entry is about.
        var ids: [String]
        /// Set for entries that merge with an equal-keyed entry at the same offset (steps of one plan changing
        /// together, one responder's batch of actions).
        var merge: Merge?
    }

    /// How merged entries read: `<prefix> <n> <noun> (<items>)<tail>`, plus the range of due times when given.
    struct Merge {
        var key: String
        var prefix: String
        var noun: String
        var tail: String
        var items: [String]
        var dues: [Double]
    }

    struct Finding {
        var text: String
        var evidence: String
    }

    struct TierReached {
        var tier: Tier
        var offset: Double
        var warning: String
        var owner: String
    }

    struct IncidentTimes {
        var incident: String
        var event: String
        var area: String
        var firstEvent: Double?
        /// `reading` or `report`.
        var firstEventKind: String
        var firstWarning: (offset: Double, id: String)
        var tiers: [TierReached]
        var highest: (level: Level, offset: Double, id: String, owner: String, escalated: Bool)?
        var cancelled: (offset: Double, id: String)?
    }

    struct AckTime {
        var warning: String
        var owner: String
        var issued: Double
        var acknowledged: Double
        var by: String
    }

    struct EscalationTime {
        var warning: String
        var offset: Double
        var event: String
        var tier: String
        var area: String
        var replaced: String?
        var fromOwner: String?
        var toOwner: String
        var toLevel: String
    }

    struct OverdueStep {
        var task: String
        var plan: String
        var step: String
        var owner: String
        var due: Double?
        var overdueAt: Double
        var resolved: (offset: Double, state: String)?
        var overdueBy: Double
        var escalatedTo: String?
    }

    struct Summary {
        var injected = 0, accepted = 0, duplicate = 0, rejected = 0
        var feed = 0, warnings = 0, alerts = 0, updates = 0, cancels = 0, escalations = 0
        var taskMessages = 0, tasks = 0
        var actions = 0, actionsOK = 0
        var contingencies = 0
        var met = 0, missed = 0
    }

    let scenario: Scenario
    let results: [ExpectationResult]
    var summary = Summary()
    var timeline: [Entry] = []
    var firstInject: (offset: Double, id: String, label: String)?
    var firstWarning: (offset: Double, id: String, text: String)?
    var incidents: [IncidentTimes] = []
    var acks: [AckTime] = []
    var escalations: [EscalationTime] = []
    var overdue: [OverdueStep] = []
    var strengths: [Finding] = []
    var improvements: [Finding] = []
    /// The end of the drill: the scenario's end, or the last record if later.
    var end: Double

    init(_ log: DrillLog, results: [ExpectationResult]) {
        scenario = log.scenario
        self.results = results
        let facts = DrillFacts(log)
        end = max(scenario.duration, facts.ordered.last?.offset ?? 0)
        buildTimeline(facts)
        buildKeyTimes(facts)
        buildFindings(facts)
    }

    func clock(_ offset: Double) -> String { scenario.clock(offset) }

    // MARK: - Timeline

    private mutating func buildTimeline(_ facts: DrillFacts) {
        struct Group {
            var entry: Int
            var count = 0, accepted = 0, duplicate = 0, rejected = 0
            var first: Double, last: Double
            var types: [String] = [], sources: [String] = []
            var firstRejection: String?
        }
        var groups: [String: Group] = [:]
        var groupOrder: [String] = []
        let escalated = Set(facts.escalations().map(\.w.id))
        for record in facts.ordered {
            switch record {
            case .injected(let offset, let event, let reply):
                summary.injected += 1
                let key = event.label ?? String(event.id.split(separator: "-").dropLast().joined(separator: "-"))
                if groups[key] == nil {
                    groups[key] = Group(entry: timeline.count, first: offset, last: offset)
                    groupOrder.append(key)
                    timeline.append(Entry(offset: offset, kind: "inject", text: "", ids: [event.id]))
                    if firstInject == nil { firstInject = (offset, event.id, key) }
                }
                var g = groups[key]!
                g.count += 1
                g.last = max(g.last, offset)
                if !g.types.contains(event.type) { g.types.append(event.type) }
                if !g.sources.contains(event.source) { g.sources.append(event.source) }
                if reply == "accepted" {
                    g.accepted += 1
                    summary.accepted += 1
                } else if reply == "duplicate" {
                    g.duplicate += 1
                    summary.duplicate += 1
                } else {
                    g.rejected += 1
                    summary.rejected += 1
                    if g.firstRejection == nil { g.firstRejection = "\(event.id): \(reply)" }
                }
                groups[key] = g
            case .feed(let offset, let topic, let body):
                summary.feed += 1
                let m = FeedMessage(offset: offset, topic: topic, body: body)
                if let w = m.warning {
                    summary.warnings += 1
                    switch w.msgType {
                    case "alert": summary.alerts += 1
                    case "cancel": summary.cancels += 1
                    default: summary.updates += 1
                    }
                    var text = "\(w.id) \(w.msgType): "
                    if w.isCancel {
                        text += "\(w.event) incident \(w.incident) closed"
                        if let o = w.owner { text += " (owner \(o))" }
                    } else {
                        text += "\(w.event) \(w.tier?.rawValue ?? "?")"
                        if let t = w.tier { text += " (\(t.color))" }
                        if let a = w.area { text += " for \(a)" }
                        if let o = w.owner { text += ", owner \(o)" }
                        if let l = w.level { text += " (\(l.rawValue))" }
                        if escalated.contains(w.id) {
                            summary.escalations += 1
                            text += ", escalated: \(w.references.last ?? "the previous warning") was not acknowledged in time"
                        }
                    }
                    if m.isActual { text += " [ACTUAL]" }
                    timeline.append(Entry(offset: offset, kind: "warning", text: text, ids: [w.id]))
                    if firstWarning == nil && !w.isCancel { firstWarning = (offset, w.id, text) }
                } else if let t = m.task {
                    summary.taskMessages += 1
                    var text = "\(t.id) (\(t.plan) plan, step \(t.step)) \(t.state)"
                    switch t.state {
                    case "ready":
                        if let o = t.owner { text += ": owner \(o)" }
                        if let l = t.level { text += " (\(l.rawValue))" }
                        if let due = t.due { text += ", due \(clock(scenario.offset(of: due)))" }
                    case "acknowledged", "done":
                        if let by = t.by ?? t.owner?.rawValue { text += " by \(by)" }
                    case "overdue":
                        if let o = t.owner { text += ": now owned by \(o)" }
                        if let l = t.level { text += " (\(l.rawValue))" }
                    default: break
                    }
                    if m.isActual { text += " [ACTUAL]" }
                    let by = ["acknowledged", "done"].contains(t.state) ? (t.by ?? t.owner?.rawValue).map { " by \($0)" } ?? "" : ""
                    var tail = ""
                    if t.state == "ready" || t.state == "overdue" {
                        tail = ": \(t.state == "overdue" ? "now owned by" : "owner") \(t.owner?.rawValue ?? "?") (\(t.level?.rawValue ?? "?"))"
                    }
                    let merge = Merge(
                        key: "task|\(t.plan)|\(t.incident)|\(t.state)|\(by)|\(tail)|\(m.isActual)",
                        prefix: "\(t.plan) plan, \(t.incident):", noun: "steps \(t.state)\(by)",
                        tail: tail + (m.isActual ? " [ACTUAL]" : ""), items: [t.step],
                        dues: t.state == "ready" ? t.due.map { [scenario.offset(of: $0)] } ?? [] : [])
                    append(Entry(offset: offset, kind: "task", text: text, ids: [t.id], merge: merge))
                } else {
                    timeline.append(Entry(offset: offset, kind: "feed", text: "message on \(topic)", ids: []))
                }
            case .action(let offset, let description, let request, let reply):
                summary.actions += 1
                let ok = reply["ok"]?.boolValue ?? false
                if ok { summary.actionsOK += 1 }
                let outcome = ok ? "ok" : "refused: \(reply["error"]?.stringValue ?? reply.abbreviated(limit: 80))"
                let actionID = description.split(separator: ":", maxSplits: 1).first.map(String.init) ?? description
                let by = request["by"]?.stringValue ?? "?"
                var merge: Merge?
                var target: String?
                switch request["op"]?.stringValue {
                case "ack":
                    target = request["warning"]?.stringValue
                    merge = Merge(key: "", prefix: "\(actionID): \(by) acknowledges", noun: "warnings", tail: "",
                                  items: [], dues: [])
                case "step":
                    target = request["task"]?.stringValue
                    let done = request["state"]?.stringValue == "done"
                    merge = Merge(key: "", prefix: "\(actionID): \(by) \(done ? "marks" : "acknowledges")",
                                  noun: done ? "tasks done" : "tasks", tail: "", items: [], dues: [])
                case "close":
                    target = request["incident"]?.stringValue
                    merge = Merge(key: "", prefix: "\(actionID): \(by) gives the all-clear for", noun: "incidents",
                                  tail: "", items: [], dues: [])
                default: break
                }
                if var m = merge, let target {
                    m.key = "action|\(m.prefix)|\(m.noun)|\(outcome)"
                    m.items = [target]
                    m.tail = " -> \(outcome)"
                    merge = m
                } else {
                    merge = nil
                }
                append(Entry(offset: offset, kind: "action", text: "\(description) -> \(outcome)",
                             ids: target.map { [$0] } ?? [], merge: merge))
            case .contingency(let offset, let id):
                summary.contingencies += 1
                let names = scenario.contingencies.filter { $0.expectation == id }.map { "\"\($0.name)\"" }
                let n = scenario.contingencyInjects(for: id).count
                let what = names.isEmpty ? "no contingency" : "contingency \(names.joined(separator: ", "))"
                timeline.append(
                    Entry(offset: offset, kind: "contingency",
                          text: "expectation \(id) missed: \(what) fires (\(n) event\(n == 1 ? "" : "s"))", ids: [id]))
            }
        }
        for key in groupOrder {
            let g = groups[key]!
            var text = "inject \"\(key)\": \(g.count) \(g.types.joined(separator: ", ")) event\(g.count == 1 ? "" : "s")"
            text += " from \(g.sources.joined(separator: ", "))"
            if g.last > g.first { text += ", \(clock(g.first))-\(clock(g.last))" }
            var replies: [String] = []
            if g.accepted > 0 { replies.append("\(g.accepted) accepted") }
            if g.duplicate > 0 { replies.append("\(g.duplicate) duplicate") }
            if g.rejected > 0 { replies.append("\(g.rejected) rejected, first \(g.firstRejection ?? "")") }
            text += " (\(replies.joined(separator: ", ")))"
            timeline[g.entry].text = text
            if g.count > 1 { timeline[g.entry].ids = [] }
        }
        for i in timeline.indices {
            guard let m = timeline[i].merge, m.items.count > 1 else { continue }
            var text = "\(m.prefix) \(m.items.count) \(m.noun) (\(m.items.joined(separator: ", ")))\(m.tail)"
            if let lo = m.dues.min(), let hi = m.dues.max() {
                text += lo == hi ? ", due \(clock(lo))" : ", due \(clock(lo))-\(clock(hi))"
            }
            timeline[i].text = text
        }
        summary.tasks = Set(facts.tasks.map(\.t.id)).count
        summary.met = results.filter(\.met).count
        summary.missed = results.count - summary.met
    }

    /// Appends an entry, merging it into an earlier entry of the same offset with the same merge key.
    private mutating func append(_ entry: Entry) {
        if let new = entry.merge {
            var i = timeline.count - 1
            while i >= 0 && timeline[i].offset == entry.offset {
                if timeline[i].merge?.key == new.key {
                    timeline[i].merge!.items += new.items
                    timeline[i].merge!.dues += new.dues
                    timeline[i].ids += entry.ids
                    return
                }
                i -= 1
            }
        }
        timeline.append(entry)
    }

    // MARK: - Key times

    private mutating func buildKeyTimes(_ facts: DrillFacts) {
        var injectedByID: [String: ScheduledEvent] = [:]
        for case .injected(_, let e, _) in facts.ordered { injectedByID[e.id] = e }

        var order: [String] = []
        var byIncident: [String: [(offset: Double, w: WarningView)]] = [:]
        for entry in facts.warnings {
            if byIncident[entry.w.incident] == nil { order.append(entry.w.incident) }
            byIncident[entry.w.incident, default: []].append(entry)
        }
        for incident in order {
            let all = byIncident[incident]!
            let open = all.filter { !$0.w.isCancel }
            guard let first = open.first else { continue }
            var tiers: [TierReached] = []
            for tier in Tier.allCases {
                if let w = open.first(where: { ($0.w.tier?.rank ?? 0) >= tier.rank }) {
                    tiers.append(TierReached(tier: tier, offset: w.offset, warning: w.w.id, owner: w.w.owner?.rawValue ?? "?"))
                }
            }
            var highest: (level: Level, offset: Double, id: String, owner: String, escalated: Bool)?
            if let top = open.compactMap(\.w.level).max(), let w = open.first(where: { $0.w.level == top }) {
                highest = (top, w.offset, w.w.id, w.w.owner?.rawValue ?? "?", w.w.escalated)
            }
            let kind = first.w.sample.compactMap { injectedByID[$0]?.type }.first.map {
                $0.hasPrefix("report.") ? "report" : "reading"
            } ?? "event"
            incidents.append(
                IncidentTimes(
                    incident: incident, event: first.w.event, area: first.w.area?.rawValue ?? "?",
                    firstEvent: first.w.evidenceFirst.map { scenario.offset(of: $0) }, firstEventKind: kind,
                    firstWarning: (first.offset, first.w.id), tiers: tiers, highest: highest,
                    cancelled: all.first(where: { $0.w.isCancel }).map { ($0.offset, $0.w.id) }))
        }

        let acknowledged = facts.acknowledgements(start: scenario.start)
        for (offset, w) in facts.warnings where !w.isCancel {
            guard let a = acknowledged[w.id] else { continue }
            acks.append(
                AckTime(warning: w.id, owner: w.owner?.rawValue ?? "?", issued: offset, acknowledged: a.offset, by: a.by))
        }

        for e in facts.escalations() {
            escalations.append(
                EscalationTime(
                    warning: e.w.id, offset: e.offset, event: e.w.event, tier: e.w.tier?.rawValue ?? "?",
                    area: e.w.area?.rawValue ?? "?", replaced: e.replaced?.id, fromOwner: e.replaced?.owner?.rawValue,
                    toOwner: e.w.owner?.rawValue ?? "?", toLevel: e.w.level?.rawValue ?? "?"))
        }

        var taskOrder: [String] = []
        var byTask: [String: [(offset: Double, t: TaskView)]] = [:]
        for entry in facts.tasks {
            if byTask[entry.t.id] == nil { taskOrder.append(entry.t.id) }
            byTask[entry.t.id, default: []].append(entry)
        }
        for id in taskOrder {
            let all = byTask[id]!
            guard let over = all.first(where: { $0.t.state == "overdue" }) else { continue }
            let first = all[0]
            let due = first.t.due.map { scenario.offset(of: $0) }
            var resolved: (offset: Double, state: String)?
            if let r = all.first(where: { $0.offset >= over.offset && ["done", "cancelled"].contains($0.t.state) }) {
                resolved = (r.offset, r.t.state)
            } else if let s = facts.steps.first(where: { $0.ok && $0.task == id && $0.state == "done" && $0.offset >= over.offset }) {
                resolved = (s.offset, "done")
            }
            let until = resolved?.offset ?? end
            let escalatedTo = over.t.owner.flatMap { $0 != first.t.owner ? $0.rawValue : nil }
            overdue.append(
                OverdueStep(
                    task: id, plan: first.t.plan, step: first.t.step, owner: first.t.owner?.rawValue ?? "?", due: due,
                    overdueAt: over.offset, resolved: resolved, overdueBy: max(0, until - (due ?? over.offset)),
                    escalatedTo: escalatedTo))
        }
    }

    // MARK: - Findings

    private mutating func buildFindings(_ facts: DrillFacts) {
        for r in results where r.met {
            strengths.append(Finding(text: "Met: \(r.description)", evidence: r.evidence))
        }
        for r in results where !r.met {
            improvements.append(Finding(text: "Missed: \(r.description)", evidence: r.evidence))
        }

        for inc in incidents {
            guard let top = inc.highest else { continue }
            let where_ = top.level == .city ? "the city (\(top.owner))" : "the \(top.level.rawValue) (\(top.owner))"
            let event = Self.capitalized(inc.event)
            if let firstEvent = inc.firstEvent {
                let evidence = "first \(inc.firstEventKind) \(clock(firstEvent)); \(top.id) at \(clock(top.offset))"
                let span = DrillTime.span(top.offset - firstEvent)
                if top.escalated {
                    improvements.append(Finding(
                        text: "\(event) warning reached \(where_) only by escalation, \(span) after the first \(inc.firstEventKind)",
                        evidence: evidence))
                } else {
                    strengths.append(Finding(
                        text: "\(event) warning reached \(where_) within \(span) of the first \(inc.firstEventKind)",
                        evidence: evidence))
                }
            }
        }

        // Acknowledgements and plan steps done in time, grouped by the level of who did them (city first).
        for level in Level.allCases.reversed() {
            let list = acks.filter { AreaPath($0.by)?.level == level }
                .sorted { ($0.acknowledged, $0.warning) < ($1.acknowledged, $1.warning) }
            guard !list.isEmpty else { continue }
            let slowest = list.map { $0.acknowledged - $0.issued }.max() ?? 0
            let who = Self.who(level, areas: Set(list.map(\.by)).count)
            strengths.append(Finding(
                text: list.count == 1
                    ? "\(who) acknowledged its warning within \(DrillTime.span(slowest))"
                    : "\(who) acknowledged \(list.count) warnings, each within \(DrillTime.span(slowest))",
                evidence: Self.listed(list.map {
                    "\($0.warning) by \($0.by) in \(DrillTime.span($0.acknowledged - $0.issued)) at \(clock($0.acknowledged))"
                })))
        }
        var taskFirst: [String: TaskView] = [:]
        for (_, t) in facts.tasks where taskFirst[t.id] == nil { taskFirst[t.id] = t }
        var doneInTime: [(offset: Double, id: String, owner: AreaPath, margin: Double)] = []
        var counted = Set<String>()
        for (offset, t) in facts.tasks where t.state == "done" && !counted.contains(t.id) {
            guard let first = taskFirst[t.id], let due = first.due, let owner = first.owner,
                offset <= scenario.offset(of: due)
            else { continue }
            counted.insert(t.id)
            doneInTime.append((offset, t.id, owner, scenario.offset(of: due) - offset))
        }
        for level in Level.allCases.reversed() {
            let list = doneInTime.filter { $0.owner.level == level }
            guard !list.isEmpty else { continue }
            let tightest = list.min { ($0.margin, $0.id) < ($1.margin, $1.id) }!
            let who = Self.who(level, areas: Set(list.map(\.owner)).count)
            strengths.append(Finding(
                text: "\(who) completed \(list.count) plan step\(list.count == 1 ? "" : "s") before the deadline",
                evidence: "closest call: \(tightest.id) done at \(clock(tightest.offset)), \(DrillTime.span(tightest.margin)) before it was due"))
        }

        let fenceExpected = scenario.expectations.contains { $0.kind == .noActual }
        let actual = facts.feed.filter(\.isActual)
        if !fenceExpected && !facts.feed.isEmpty {
            if let first = actual.first {
                improvements.append(Finding(
                    text: "Drill fence breached: \(actual.count) feed message\(actual.count == 1 ? "" : "s") under actual/",
                    evidence: "\(first.topic) at \(clock(first.offset))"))
            } else {
                strengths.append(Finding(
                    text: "Drill fence held: no message under actual/",
                    evidence: "\(facts.feed.count) feed messages, all exercise traffic"))
            }
        }
        if summary.injected > 0 && summary.accepted == summary.injected {
            strengths.append(Finding(
                text: "Every injected event was accepted by ingest", evidence: "\(summary.injected) of \(summary.injected)"))
        }

        for e in escalations {
            let from = e.fromOwner ?? "its owner"
            improvements.append(Finding(
                text: "Warning \(e.replaced ?? "?") (\(e.event) \(e.tier) for \(e.area)) was not acknowledged by \(from) in time; escalated to \(e.toOwner)",
                evidence: "\(e.warning) at \(clock(e.offset))"))
        }

        // Warnings still waiting for an acknowledgement when the drill ended (or when their incident closed).
        let acknowledged = facts.acknowledgements(start: scenario.start)
        var latestByIncident: [String: (offset: Double, w: WarningView)] = [:]
        var incidentOrder: [String] = []
        for entry in facts.warnings where !entry.w.isCancel {
            if latestByIncident[entry.w.incident] == nil { incidentOrder.append(entry.w.incident) }
            latestByIncident[entry.w.incident] = entry
        }
        for incident in incidentOrder {
            let latest = latestByIncident[incident]!
            guard acknowledged[latest.w.id] == nil else { continue }
            improvements.append(Finding(
                text: "Warning \(latest.w.id) (\(latest.w.short)) was never acknowledged",
                evidence: "issued at \(clock(latest.offset))"))
        }

        for o in overdue {
            var text = "Task \(o.task) overdue by \(DrillTime.span(o.overdueBy))"
            if let to = o.escalatedTo { text += ", escalated to \(to)" }
            var evidence = o.due.map { "due \(clock($0))" } ?? "overdue at \(clock(o.overdueAt))"
            if let r = o.resolved {
                evidence += ", \(r.state) at \(clock(r.offset))"
            } else {
                evidence += ", not done by the end of the drill"
            }
            improvements.append(Finding(text: text, evidence: evidence))
        }

        for record in facts.ordered {
            guard case .action(let offset, let description, _, let reply) = record, reply["ok"]?.boolValue != true
            else { continue }
            improvements.append(Finding(
                text: "Responder action refused: \(description)",
                evidence: "\(reply["error"]?.stringValue ?? reply.abbreviated(limit: 80)) at \(clock(offset))"))
        }

        if summary.rejected > 0 || summary.duplicate > 0 {
            var firstProblem = ""
            for case .injected(let offset, let e, let reply) in facts.ordered where reply != "accepted" {
                firstProblem = "first: \(e.id) at \(clock(offset)): \(reply)"
                break
            }
            improvements.append(Finding(
                text: "\(summary.rejected + summary.duplicate) injected event\(summary.rejected + summary.duplicate == 1 ? " was" : "s were") not accepted (\(summary.rejected) rejected, \(summary.duplicate) duplicate)",
                evidence: firstProblem))
        }

        for record in facts.ordered {
            guard case .contingency(let offset, let id) = record else { continue }
            let names = scenario.contingencies.filter { $0.expectation == id }.map { "\"\($0.name)\"" }
            improvements.append(Finding(
                text: "Contingency \(names.isEmpty ? "for \(id)" : names.joined(separator: ", ")) was needed because expectation \(id) was missed",
                evidence: "fired at \(clock(offset)) with \(scenario.contingencyInjects(for: id).count) events"))
        }
    }

    /// `The city command center`, `2 district command centers`, `The street platform`.
    static func who(_ level: Level, areas: Int) -> String {
        switch level {
        case .city: "The city command center"
        case .district: areas == 1 ? "The district command center" : "\(areas) district command centers"
        case .street: areas == 1 ? "The street platform" : "\(areas) street platforms"
        }
    }

    static func capitalized(_ s: String) -> String {
        let words = s.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// Up to five items, then `and N more`.
    static func listed(_ items: [String]) -> String {
        guard items.count > 5 else { return items.joined(separator: "; ") }
        return items.prefix(5).joined(separator: "; ") + "; and \(items.count - 5) more"
    }
}
