// Tasks: the steps of an activated response plan, as they appear on the feed (PROTOCOL.md "Task").

/// Where a task stands.
public enum TaskState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Its predecessors are done: the owner can start it.
    case ready
    /// The owner has taken it on.
    case acknowledged
    /// Finished; it never moves again.
    case done
    /// Not done by its deadline: republished above its owner (once per task).
    case overdue
    /// Its plan ended (the incident closed) before it was done; it never moves again.
    case cancelled

    /// `done` and `cancelled` are final.
    public var isFinal: Bool { self == .done || self == .cancelled }
}

/// One step of an activated response plan, republished on every state change. Built only by `PlanBook` (or
/// decoded from its own JSON).
///
/// Named `PlanTask`, not `Task`: a `Task` in TocsinCore would shadow Swift concurrency's `Task` in every module
/// that imports TocsinCore.
///
/// The drill fence holds as for warnings: `status` is copied from the warning that activated the plan, and
/// `topic` is derived from it.
///
/// Extensions to the wire table (PROTOCOL.md allows new optional fields), written after the table's fields:
/// - `escalated` (boolean, always written): the task is owned above its step's own level because it went
///   overdue.
/// - `updated` (RFC 3339, always written): when the task last changed (activation, ready, a step, overdue,
///   cancel).
/// - `by` (area path, only once set): the area that last acknowledged or completed it through the `step` op.
/// A decoder treats all three as optional (`escalated` false, the others absent).
public struct PlanTask: Sendable, Hashable, Codable, Identifiable {
    /// `t-<incident id>-<step id>`: one id per step of an incident, kept across all its messages.
    public let id: String
    /// The feed sequence number: 0 as `PlanBook` produces it; the dispatch worker sets it when it publishes.
    public var seq: Int64
    /// The plan's id: its incident type, e.g. `flood`.
    public let plan: String
    /// The incident's id.
    public let incident: String
    /// The step's id within the plan.
    public let step: String
    /// What to do, in plain words.
    public let action: String
    /// The owning command level (above the step's own level once escalated).
    public internal(set) var level: Level
    /// The owning area: the ancestor of `area` at `level` (`area` itself when it is above that level).
    public internal(set) var owner: AreaPath
    /// The incident's area.
    public let area: AreaPath
    /// When it must be done: the activation of the level that added the step plus the step's deadline.
    public let due: Timestamp
    public internal(set) var state: TaskState
    public let status: Status
    /// Extension: owned above its own level because it went overdue.
    public internal(set) var escalated: Bool
    /// Extension: when it last changed.
    public internal(set) var updated: Timestamp?
    /// Extension: the area that last acknowledged or completed it.
    public internal(set) var by: AreaPath?

    /// The feed topic: `<status>/task/<level>/<area>.` (the incident's area, then a final `.`).
    public var topic: String { FeedKind.topic(status: status, kind: "task", level: level, area: area) }

    /// The id of the task for `step` of `incident`.
    public static func id(incident: String, step: String) -> String { "t-\(incident)-\(step)" }

    /// Every way to read `id` as `t-<incident>-<step>`, shortest incident first (incident and step ids may
    /// themselves contain `-`): a holder of tasks takes the first split it knows.
    public static func splits(ofID id: String) -> [(incident: String, step: String)] {
        guard id.hasPrefix("t-") else { return [] }
        let rest = id.utf8.dropFirst(2)
        var out: [(incident: String, step: String)] = []
        var from = rest.startIndex
        while let dash = rest[from...].firstIndex(of: UInt8(ascii: "-")) {
            out.append((String(id[rest.startIndex..<dash]), String(id[id.utf8.index(after: dash)...])))
            from = id.utf8.index(after: dash)
        }
        return out
    }

    init(
        id: String, seq: Int64, plan: String, incident: String, step: String, action: String, level: Level,
        owner: AreaPath, area: AreaPath, due: Timestamp, state: TaskState, status: Status, escalated: Bool,
        updated: Timestamp?, by: AreaPath?
    ) {
        self.id = id
        self.seq = seq
        self.plan = plan
        self.incident = incident
        self.step = step
        self.action = action
        self.level = level
        self.owner = owner
        self.area = area
        self.due = due
        self.state = state
        self.status = status
        self.escalated = escalated
        self.updated = updated
        self.by = by
    }
}

/// Why a JSON object is not a task: the same `path: message` error as for warnings.
public typealias TaskDecodingError = WarningDecodingError

extension PlanTask {
    /// Writes the task as one JSON object with exactly the field names of PROTOCOL.md's Task, in its order,
    /// times in RFC 3339 (UTC); then the extension fields (`escalated`, `updated`, and `by` when set).
    public func write(to w: inout JSONWriter) { write(to: &w, codableForm: false) }

    /// `codableForm`: exactly as the `Codable` conformance encodes it (times as `{"micros": N}`), the form of the
    /// stored snapshots (`PlanBook.runSnapshot`); otherwise the wire form.
    func write(to w: inout JSONWriter, codableForm: Bool) {
        w.beginObject()
        w.field("id", id)
        w.field("seq", Int(seq))
        w.field("plan", plan)
        w.field("incident", incident)
        w.field("step", step)
        w.field("action", action)
        w.field("level", level.rawValue)
        w.field("owner", owner.rawValue)
        w.field("area", area.rawValue)
        w.field("due", due, codableForm: codableForm)
        w.field("state", state.rawValue)
        w.field("status", status.rawValue)
        w.field("escalated", escalated)
        if let updated { w.field("updated", updated, codableForm: codableForm) }
        if let by { w.field("by", by.rawValue) }
        w.endObject()
    }

    /// The task as compact JSON bytes (the feed body).
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 512)
        write(to: &w)
        return w.bytes
    }

    /// `json` (the bytes `write(to:)` wrote for this task) with `seq` in place of the sequence number it holds:
    /// the feed body of the task numbered `seq`, without writing the task again (a third of the dispatch thread
    /// went to parsing each task of the plan worker and writing it again for its number). `nil` when the bytes do
    /// not start as `write(to:)` starts (`{"id":<string>,"seq":<digits>,`).
    public static func json(_ json: [UInt8], withSeq seq: Int64) -> [UInt8]? {
        guard seq >= 0 else { return nil }
        let head = Array(#"{"id":""#.utf8), seqKey = Array(#","seq":"#.utf8)
        guard json.count > head.count, json.starts(with: head) else { return nil }
        // The end of the id string: its closing quote, past escapes.
        var i = head.count
        while i < json.count && json[i] != UInt8(ascii: "\"") {
            i += json[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
        guard i + seqKey.count < json.count, json[i..<(i + seqKey.count)].elementsEqual(seqKey) else { return nil }
        let digitsStart = i + seqKey.count
        var digitsEnd = digitsStart
        while digitsEnd < json.count, json[digitsEnd] >= 0x30, json[digitsEnd] <= 0x39 { digitsEnd += 1 }
        guard digitsEnd > digitsStart, digitsEnd < json.count, json[digitsEnd] == UInt8(ascii: ",") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(json.count + 20)
        out.append(contentsOf: json[..<digitsStart])
        JSONWriter.appendInteger(seq, to: &out)
        out.append(contentsOf: json[digitsEnd...])
        return out
    }

    /// The task as a compact JSON string.
    public var jsonString: String { String(decoding: json, as: UTF8.self) }

    /// Decodes a task from its JSON bytes.
    public init(json bytes: [UInt8]) throws(TaskDecodingError) {
        if let task = Self(recordJSON: bytes) {
            self = task
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw TaskDecodingError(path: "", message: "not JSON: \(error)")
        }
        try self.init(json: value)
    }

    /// Decodes a task from a parsed JSON object as `write(to:)` produces it. Fields beyond the wire table and its
    /// extensions are ignored (a newer writer may add optional fields).
    public init(json value: JSONValue) throws(TaskDecodingError) {
        guard case .object(let o) = value else {
            throw TaskDecodingError(path: "", message: "expected a JSON object, got \(value.abbreviated())")
        }
        let r = JSONFields(object: o, prefix: "")
        let seq = try r.number("seq")
        guard seq >= 0, seq == seq.rounded(), seq < 9_007_199_254_740_992 else {
            throw TaskDecodingError(path: "seq", message: "expected a non-negative integer")
        }
        self.init(
            id: try r.string("id"), seq: Int64(seq), plan: try r.string("plan"), incident: try r.string("incident"),
            step: try r.string("step"), action: try r.string("action"), level: try r.enumValue("level"),
            owner: try r.area("owner"), area: try r.area("area"), due: try r.time("due"),
            state: try r.enumValue("state"), status: try r.enumValue("status"),
            escalated: r.has("escalated") ? try r.bool("escalated") : false,
            updated: r.has("updated") ? try r.time("updated") : nil,
            by: r.has("by") ? try r.area("by") : nil)
    }

    /// The members of a task: the twelve of the wire table (all required), then the three extensions.
    private static let memberNames: [StaticString] = [
        "id", "seq", "plan", "incident", "step", "action", "level", "owner", "area", "due", "state", "status",
        "escalated", "updated", "by",
    ]
    /// What the dispatch worker needs of a task it relays from the plan worker's outbox to the feed: whose and
    /// which step it is and whether its state is final. The rest of the bytes are passed over, not decoded (the
    /// full decode of each task was a sixth of the dispatch thread's work per warned incident); nil when they
    /// are not a task object as `write(to:)` writes it.
    public struct Relayed: Sendable, Hashable {
        public var incident: String
        public var step: String
        public var state: TaskState

        public init?(json bytes: [UInt8]) {
            let read: Self? = JSONRecordScanner.read(bytes) { r in
                var incident: String?, step: String?, state: TaskState?
                let seen = r.object(PlanTask.memberNames) { r, k in
                    switch k {
                    case 3: incident = r.string(); return incident != nil
                    case 4: step = r.string(); return step != nil
                    case 10: state = r.enumValue(); return state != nil
                    default: return r.skipScalar()
                    }
                }
                guard let seen, r.atEnd(), seen.contains(first: 12), let incident, let step, let state else { return nil }
                return Self(incident: incident, step: step, state: state)
            }
            guard let read else { return nil }
            self = read
        }

        init(incident: String, step: String, state: TaskState) {
            self.incident = incident
            self.step = step
            self.state = state
        }
    }

    /// The fast path of `init(json:)` (`JSONRecordScanner`): the task exactly as the full decoder reads it, or
    /// nil for anything else, which the full decoder then reads (or rejects with its error).
    init?(recordJSON bytes: [UInt8]) {
        let read: Self? = JSONRecordScanner.read(bytes) { r in
            var id: String?, seq: Int64?, plan: String?, incident: String?, step: String?, action: String?
            var level: Level?, owner: AreaPath?, area: AreaPath?, due: Timestamp?, state: TaskState?
            var status: Status?, escalated = false, updated: Timestamp?, by: AreaPath?
            let seen = r.object(Self.memberNames) { r, k in
                switch k {
                case 0: id = r.string(); return id != nil
                case 1: seq = r.count(); return seq != nil
                case 2: plan = r.string(); return plan != nil
                case 3: incident = r.string(); return incident != nil
                case 4: step = r.string(); return step != nil
                case 5: action = r.string(); return action != nil
                case 6: level = r.enumValue(); return level != nil
                case 7: owner = r.area(); return owner != nil
                case 8: area = r.area(); return area != nil
                case 9: due = r.time(); return due != nil
                case 10: state = r.enumValue(); return state != nil
                case 11: status = r.enumValue(); return status != nil
                case 12:
                    guard let b = r.bool() else { return false }
                    escalated = b
                case 13: updated = r.time(); return updated != nil
                default: by = r.area(); return by != nil
                }
                return true
            }
            guard let seen, r.atEnd(), seen.contains(first: 12), let id, let seq, let plan, let incident,
                  let step, let action, let level, let owner, let area, let due, let state, let status
            else { return nil }
            return Self(
                id: id, seq: seq, plan: plan, incident: incident, step: step, action: action, level: level,
                owner: owner, area: area, due: due, state: state, status: status, escalated: escalated,
                updated: updated, by: by)
        }
        guard let read else { return nil }
        self = read
    }
}
