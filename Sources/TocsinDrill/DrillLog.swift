// What happened during a replay, as the runner saw it, and typed views of its feed messages.

import TocsinCore

/// One thing that happened during a replay, at an offset (seconds) from the scenario start.
public enum DrillRecord: Sendable, Hashable {
    /// An event was sent; `reply` is `accepted`, `duplicate` or `rejected: <error>`.
    case injected(offset: Double, ScheduledEvent, reply: String)
    /// A feed message: its topic and its body (PROTOCOL.md's Warning or Task object).
    case feed(offset: Double, topic: String, body: JSONValue)
    /// A simulated responder sent a command-endpoint request and got `reply`.
    case action(offset: Double, description: String, request: JSONValue, reply: JSONValue)
    /// An expectation was missed and its contingency injects were scheduled.
    case contingency(offset: Double, expectationID: String)

    public var offset: Double {
        switch self {
        case .injected(let o, _, _), .feed(let o, _, _), .action(let o, _, _, _), .contingency(let o, _): o
        }
    }
}

/// The record of one replay, in the order the runner saw things. The report and the evaluation read only this.
public struct DrillLog: Sendable {
    public var scenario: Scenario
    public var records: [DrillRecord]

    public init(scenario: Scenario, records: [DrillRecord] = []) {
        self.scenario = scenario
        self.records = records
    }

    public mutating func append(_ record: DrillRecord) { records.append(record) }

    /// The records ordered by offset, keeping the order of equal offsets.
    var ordered: [DrillRecord] {
        records.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
    }

    /// The request to send for a responder action now. An `ack` naming a warning that a later warning of the same
    /// incident has superseded names the latest one instead when `by` may acknowledge it (a responder acknowledges
    /// what their screen shows; the command endpoint accepts only the latest warning). Anything else is returned
    /// unchanged, so a late responder's refusal stays visible in the report.
    public func resolved(_ request: JSONValue) -> JSONValue {
        guard request["op"]?.stringValue == "ack", let id = request["warning"]?.stringValue,
            let by = request["by"]?.stringValue.flatMap(AreaPath.init), case .object(var object) = request
        else { return request }
        let warnings = records.compactMap { r -> WarningView? in
            guard case .feed(let o, let topic, let body) = r else { return nil }
            return FeedMessage(offset: o, topic: topic, body: body).warning
        }
        guard let named = warnings.first(where: { $0.id == id }),
            let latest = warnings.last(where: { $0.incident == named.incident }),
            latest.id != id, latest.msgType != "cancel", let owner = latest.owner, owner.isWithin(by)
        else { return request }
        object["warning"] = .string(latest.id)
        return .object(object)
    }
}

// MARK: - Typed views of feed messages

/// A feed message, classified by its topic (`<status>/<kind>/<level>/<area>.`), or by its fields when the
/// topic does not say.
struct FeedMessage {
    var offset: Double
    var topic: String
    var body: JSONValue

    var topicParts: [Substring] { topic.split(separator: "/", omittingEmptySubsequences: false) }

    var kind: String? {
        let parts = topicParts
        if parts.count >= 2, parts[1] == "warning" || parts[1] == "task" { return String(parts[1]) }
        if body["msgType"] != nil { return "warning" }
        if body["step"] != nil { return "task" }
        return nil
    }

    /// `actual` when the topic or the body says so.
    var isActual: Bool { topic.hasPrefix("actual/") || body["status"]?.stringValue == "actual" }

    var warning: WarningView? { kind == "warning" ? WarningView(body) : nil }
    var task: TaskView? { kind == "task" ? TaskView(body) : nil }
}

/// The fields of a Warning body that drills look at; missing or malformed fields are `nil`.
struct WarningView {
    var id: String
    var incident: String
    var msgType: String
    var tier: Tier?
    var event: String
    var area: AreaPath?
    var level: Level?
    var owner: AreaPath?
    var escalated: Bool
    var acknowledgedBy: String?
    var acknowledgedAt: Timestamp?
    var references: [String]
    var sent: Timestamp?
    var evidenceFirst: Timestamp?
    var sample: [String]

    init?(_ body: JSONValue) {
        guard let id = body["id"]?.stringValue else { return nil }
        self.id = id
        incident = body["incident"]?.stringValue ?? ""
        msgType = body["msgType"]?.stringValue ?? "alert"
        tier = body["tier"]?.stringValue.flatMap(Tier.init(rawValue:))
        event = body["event"]?.stringValue ?? ""
        area = body["area"]?.stringValue.flatMap(AreaPath.init)
        level = body["level"]?.stringValue.flatMap(Level.init(rawValue:))
        owner = body["owner"]?.stringValue.flatMap(AreaPath.init)
        escalated = body["escalated"]?.boolValue ?? false
        acknowledgedBy = body["acknowledgedBy"]?.stringValue
        acknowledgedAt = body["acknowledgedAt"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
        references = body["references"]?.arrayValue?.compactMap(\.stringValue) ?? []
        sent = body["sent"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
        evidenceFirst = body["evidence"]?["first"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
        sample = body["evidence"]?["sample"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    var isCancel: Bool { msgType == "cancel" }

    /// `flood III, owner sz.futian`.
    var short: String {
        var parts = [event.isEmpty ? "warning" : event]
        if let tier { parts[0] += " \(tier.rawValue)" }
        if let owner { parts.append("owner \(owner)") }
        return parts.joined(separator: ", ")
    }
}

/// The fields of a Task body that drills look at.
struct TaskView {
    var id: String
    var plan: String
    var incident: String
    var step: String
    var action: String
    var level: Level?
    var owner: AreaPath?
    var area: AreaPath?
    var due: Timestamp?
    var state: String
    var escalated: Bool
    var by: String?

    init?(_ body: JSONValue) {
        guard let id = body["id"]?.stringValue else { return nil }
        self.id = id
        plan = body["plan"]?.stringValue ?? ""
        incident = body["incident"]?.stringValue ?? ""
        step = body["step"]?.stringValue ?? ""
        action = body["action"]?.stringValue ?? ""
        level = body["level"]?.stringValue.flatMap(Level.init(rawValue:))
        owner = body["owner"]?.stringValue.flatMap(AreaPath.init)
        area = body["area"]?.stringValue.flatMap(AreaPath.init)
        due = body["due"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
        state = body["state"]?.stringValue ?? ""
        escalated = body["escalated"]?.boolValue ?? false
        by = body["by"]?.stringValue
    }
}

extension WarningFilter {
    func matches(_ w: WarningView) -> Bool {
        if let event, w.event != event { return false }
        if let tier, w.tier != tier { return false }
        if let tierAtLeast {
            guard let t = w.tier, t >= tierAtLeast else { return false }
        }
        if let area {
            guard let a = w.area, a.isWithin(area) else { return false }
        }
        if let level, w.level != level { return false }
        if let owner, w.owner != owner { return false }
        if let escalated, w.escalated != escalated { return false }
        return true
    }
}

extension TaskFilter {
    /// Matches everything but `state`, whose meaning differs between triggers and expectations.
    func matchesIgnoringState(_ t: TaskView) -> Bool {
        if let plan, t.plan != plan { return false }
        if let step, t.step != step { return false }
        if exceptSteps.contains(t.step) { return false }
        if let area {
            guard let a = t.area, a.isWithin(area) else { return false }
        }
        if let level, t.level != level { return false }
        if let owner, t.owner != owner { return false }
        return true
    }
}
