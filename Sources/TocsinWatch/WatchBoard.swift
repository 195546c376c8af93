import TocsinCore

/// Why a message from the feed or a reply from the command endpoint could not be used.
public struct WatchError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One row of the board: the latest warning of an incident, or a task.
public enum RowKey: Hashable, Sendable {
    case warning(incident: String)
    case task(id: String)
}

/// What a live feed message did to the board.
public enum FeedOutcome: Sendable, Hashable {
    /// The board changed.
    case applied
    /// Already known, or older than what the board shows (a `since` reply and the live feed overlap).
    case stale
    /// Its topic is outside the console's prefixes.
    case outOfScope
}

/// The live board of one console: the latest warning of every open incident and the open tasks in its scope,
/// kept lossless by the contract's rules (PROTOCOL.md "Command": a new subscriber asks `active`, a subscriber
/// that sees a gap asks `since`). Pure: it applies what the console received and says which repairs are due.
///
/// Every row is keyed (incident, task id) and remembers the `seq` of the message it came from, so messages may
/// arrive twice and out of order (a `since` reply overlapping the live feed) and the newest still wins.
/// A cancel, or a task that is `done` or `cancelled`, takes the row off the board and leaves its `seq` behind
/// so that an older message cannot bring it back.
///
/// Gaps: a subscriber to a prefix sees `seq` jump over other topics' messages, so it cannot tell a gap from
/// someone else's traffic. For each prefix the board keeps `covered`, the `seq` up to which it holds every message
/// of the prefix (set by a `since` reply, which is authoritative, and extended by a live message that follows it
/// directly); a live message further ahead makes a `since` for that prefix due.
public struct WatchBoard: Sendable {
    /// Most messages in one `since` reply (the dispatch worker's limit, 100,000): a full reply is asked again from
    /// its end.
    public var sinceLimit = 100_000

    public let scope: WatchScope
    public private(set) var warnings: [String: Warning] = [:]
    public private(set) var tasks: [String: PlanTask] = [:]
    /// The `seq` of the newest message seen for every key, on the board or taken off it.
    private var latest: [RowKey: Int64] = [:]
    /// Per prefix: every message of the prefix up to this `seq` has been applied. Absent before `start(at:)`.
    public private(set) var covered: [String: Int64] = [:]
    /// Per prefix: the highest `seq` received live.
    private var seen: [String: Int64] = [:]
    /// Prefixes whose `since` is due whatever `seen` says (at start and on every refresh).
    private var forced: Set<String> = []
    /// The highest feed `seq` the console knows of (live messages, `since`'s `last`, `stats`).
    public private(set) var feedSeq: Int64 = 0
    /// Messages and replies that could not be used, and the last reason. Every error the board throws is
    /// counted here first.
    public private(set) var problems = 0
    public private(set) var lastProblem: String?
    /// The row the operator selected, and where it was, so that the selection stays put when its row leaves.
    private var selected: RowKey?
    private var selectedIndex = 0

    public init(scope: WatchScope) {
        self.scope = scope
    }

    // MARK: - Rows

    /// Warnings, most severe tier first, then the most recently sent.
    public var sortedWarnings: [Warning] {
        warnings.values.sorted { a, b in
            if a.tier != b.tier { return a.tier > b.tier }
            if a.sent != b.sent { return a.sent > b.sent }
            return a.incident < b.incident
        }
    }

    /// Tasks by the tier of their incident's warning (when the board shows it), then the earliest due.
    public var sortedTasks: [PlanTask] {
        func rank(_ t: PlanTask) -> Int { warnings[t.incident]?.tier.rank ?? 0 }
        return tasks.values.sorted { a, b in
            let ra = rank(a), rb = rank(b)
            if ra != rb { return ra > rb }
            if a.due != b.due { return a.due < b.due }
            return a.id < b.id
        }
    }

    /// Every row in display order: the warnings, then the tasks.
    public var rows: [RowKey] {
        sortedWarnings.map { .warning(incident: $0.incident) } + sortedTasks.map { .task(id: $0.id) }
    }

    /// The tier of a task's incident, when the board shows its warning.
    public func tier(ofIncident incident: String) -> Tier? { warnings[incident]?.tier }

    // MARK: - Selection

    /// The selected row: the one the operator chose while it is on the board, else the row now at its place.
    public var selection: RowKey? { selection(in: rows) }

    /// `selection`, resolved against rows already computed.
    public func selection(in rows: [RowKey]) -> RowKey? {
        if let selected, rows.contains(selected) { return selected }
        guard !rows.isEmpty else { return nil }
        return rows[min(selectedIndex, rows.count - 1)]
    }

    /// Moves the selection `delta` rows down (negative: up), stopping at the ends.
    public mutating func moveSelection(by delta: Int) {
        let rows = rows
        guard !rows.isEmpty else { return }
        let current = selection(in: rows).flatMap { rows.firstIndex(of: $0) } ?? 0
        let next = max(0, min(rows.count - 1, current + delta))
        selected = rows[next]
        selectedIndex = next
    }

    /// Before the selected row leaves, remembers its place: the row that takes it is selected next.
    mutating func willRemove(_ key: RowKey) {
        guard key == selected, let index = rows.firstIndex(of: key) else { return }
        selectedIndex = index
    }

    /// The selected warning, if the selection is a warning row.
    public var selectedWarning: Warning? {
        guard case .warning(let incident)? = selection else { return nil }
        return warnings[incident]
    }

    /// The selected task, if the selection is a task row.
    public var selectedTask: PlanTask? {
        guard case .task(let id)? = selection else { return nil }
        return tasks[id]
    }

    // MARK: - Synchronisation

    /// Starts gap tracking at feed position `seq` (from `stats`): every prefix is covered up to it, and a
    /// `since` from there is due for each, to catch what was published while the console subscribed.
    public mutating func start(at seq: Int64) {
        for p in scope.prefixes where covered[p] == nil { covered[p] = seq }
        feedSeq = max(feedSeq, seq)
        forced = Set(scope.prefixes)
    }

    /// `start(at:)` at the `seq` of a `stats` reply.
    public mutating func start(stats reply: JSONValue) throws(WatchError) {
        try requireOK(reply, "stats")
        guard let seq = reply["seq"]?.numberValue.flatMap(Self.wholeNumber) else {
            throw problem("stats reply without a whole-number seq")
        }
        start(at: seq)
    }

    /// Makes a `since` due for every prefix (the console's periodic check that nothing was lost quietly).
    public mutating func requestFullRepair() {
        forced = Set(scope.prefixes.filter { covered[$0] != nil })
    }

    /// The prefixes that need a `since`, with the `seq` to ask from, in the scope's order.
    public var repairsDue: [(prefix: String, after: Int64)] {
        scope.prefixes.compactMap { p in
            guard let c = covered[p] else { return nil }
            return forced.contains(p) || (seen[p] ?? 0) > c ? (p, c) : nil
        }
    }

    /// True when a prefix may be missing messages (a live message ran ahead of what `since` confirmed).
    public var hasGap: Bool {
        scope.prefixes.contains { p in covered[p].map { (seen[p] ?? 0) > $0 } ?? false }
    }

    /// Applies one live feed message (two frames: topic, JSON body).
    public mutating func receive(frames: [[UInt8]]) throws(WatchError) -> FeedOutcome {
        guard frames.count == 2 else {
            throw problem("feed message with \(frames.count) frames (expected a topic and a JSON body)")
        }
        let topic = String(decoding: frames[0], as: UTF8.self)
        guard let prefix = scope.prefix(of: topic) else { return .outOfScope }
        let body: JSONValue
        do {
            body = try JSONValue.parse(frames[1])
        } catch {
            throw problem("feed message on \(topic) is not JSON: \(error)")
        }
        guard let seq = body["seq"]?.numberValue.flatMap(Self.wholeNumber) else {
            throw problem("feed message on \(topic) has no whole-number seq")
        }
        feedSeq = max(feedSeq, seq)
        if let c = covered[prefix] {
            // A `since` reply already delivered everything of this prefix up to `c`.
            if seq <= c { return .stale }
            if seq == c + 1 && (seen[prefix] ?? 0) <= c { covered[prefix] = seq }
        }
        seen[prefix] = max(seen[prefix] ?? 0, seq)
        return try apply(topic: topic, body: body) ? .applied : .stale
    }

    /// Applies a `since` reply for `prefix`: its messages in order, then `covered` moves to the reply's `last`
    /// (or to its last message when the reply was cut at `sinceLimit`, so that the rest is asked for next).
    /// Returns how many messages changed the board.
    @discardableResult
    public mutating func applySince(prefix: String, after: Int64, reply: JSONValue) throws(WatchError) -> Int {
        try requireOK(reply, "since")
        guard let messages = reply["messages"]?.arrayValue,
              let last = reply["last"]?.numberValue.flatMap(Self.wholeNumber) else {
            throw problem("since reply without messages and last")
        }
        var changed = 0
        var lastMessageSeq = after
        var bad: WatchError?
        for m in messages {
            guard let topic = m["topic"]?.stringValue, let body = m["body"], topic.hasPrefix(prefix) else {
                bad = problem("since reply for \(prefix) holds a message outside it")
                continue
            }
            if let seq = body["seq"]?.numberValue.flatMap(Self.wholeNumber) { lastMessageSeq = max(lastMessageSeq, seq) }
            do {
                if try apply(topic: topic, body: body) { changed += 1 }
            } catch {
                bad = error
            }
        }
        let truncated = messages.count >= sinceLimit && lastMessageSeq < last
        covered[prefix] = max(covered[prefix] ?? after, truncated ? lastMessageSeq : last)
        if !truncated { forced.remove(prefix) }
        feedSeq = max(feedSeq, last)
        pruneRemovedKeys()
        if let bad { throw bad }
        return changed
    }

    /// Applies an `active` reply for `prefix`. `position` is the `covered` of the prefix when the request was
    /// sent: a row of the prefix from a message up to there that the reply no longer lists has left the prefix
    /// (its incident closed, or it was escalated or republished under another level) and is taken off.
    @discardableResult
    public mutating func applyActive(prefix: String, position: Int64?, reply: JSONValue) throws(WatchError) -> Int {
        try requireOK(reply, "active")
        guard let ws = reply["warnings"]?.arrayValue, let ts = reply["tasks"]?.arrayValue else {
            throw problem("active reply without warnings and tasks")
        }
        var changed = 0
        var listed = Set<RowKey>()
        var bad: WatchError?
        for (kind, items) in [("warning", ws), ("task", ts)] {
            for body in items {
                do {
                    let (key, _) = try identify(kind: kind, body: body)
                    listed.insert(key)
                    if try apply(kind: kind, body: body) { changed += 1 }
                } catch {
                    bad = error
                }
            }
        }
        if let position {
            for (incident, w) in warnings where w.seq <= position && w.topic.hasPrefix(prefix)
                && !listed.contains(.warning(incident: incident)) {
                willRemove(.warning(incident: incident))
                warnings[incident] = nil
                changed += 1
            }
            for (id, t) in tasks where t.seq <= position && t.topic.hasPrefix(prefix) && !listed.contains(.task(id: id)) {
                willRemove(.task(id: id))
                tasks[id] = nil
                changed += 1
            }
        }
        if let bad { throw bad }
        return changed
    }

    /// Applies the reply to this console's `ack`: the acknowledged warning, with `acknowledgedBy`, replaces
    /// the row when it is still the incident's latest warning (the feed does not carry acknowledgements).
    public mutating func applyAcknowledgement(reply: JSONValue) throws(WatchError) -> Warning {
        try requireOK(reply, "ack")
        guard let body = reply["warning"] else { throw problem("ack reply without the warning") }
        let warning: Warning
        do {
            warning = try Warning(json: body)
        } catch {
            throw problem("ack reply: \(error)")
        }
        if let row = warnings[warning.incident], row.id == warning.id { warnings[warning.incident] = warning }
        return warning
    }

    // MARK: - Applying one message

    /// Applies a message whose kind is read from its topic.
    mutating func apply(topic: String, body: JSONValue) throws(WatchError) -> Bool {
        let kind = topic.split(separator: "/", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
        return try apply(kind: kind, body: body)
    }

    /// Applies a warning or task body; true when the board changed.
    mutating func apply(kind: String, body: JSONValue) throws(WatchError) -> Bool {
        let (key, seq) = try identify(kind: kind, body: body)
        if let known = latest[key], known > seq { return false }
        switch key {
        case .warning(let incident):
            let w: Warning
            do {
                w = try Warning(json: body)
            } catch {
                throw problem("warning \(body["id"]?.stringValue ?? "?"): \(error)")
            }
            guard w.status == scope.status else { throw problem("warning \(w.id) is \(w.status.rawValue) traffic") }
            if let row = warnings[incident], row.seq == seq {
                // The same message again; only an acknowledgement (from `active` or `ack`) adds to it.
                guard row.acknowledgedBy == nil, w.acknowledgedBy != nil else { return false }
            } else if latest[key] == seq {
                return false  // taken off the board by this very message
            }
            latest[key] = seq
            if w.msgType == .cancel { willRemove(key) }
            warnings[incident] = w.msgType == .cancel ? nil : w
        case .task(let id):
            guard latest[key] != seq else { return false }
            let t: PlanTask
            do {
                t = try PlanTask(json: body)
            } catch {
                throw problem("task \(body["id"]?.stringValue ?? "?"): \(error)")
            }
            guard t.status == scope.status else { throw problem("task \(t.id) is \(t.status.rawValue) traffic") }
            latest[key] = seq
            if t.state.isFinal { willRemove(key) }
            tasks[id] = t.state.isFinal ? nil : t
        }
        return true
    }

    /// The row key and `seq` of a body, before decoding all of it.
    mutating func identify(kind: String, body: JSONValue) throws(WatchError) -> (RowKey, Int64) {
        let id = body["id"]?.stringValue ?? "?"
        guard let seq = body["seq"]?.numberValue.flatMap(Self.wholeNumber) else {
            throw problem("\(kind) \(id): seq: expected a whole number")
        }
        switch kind {
        case "warning":
            guard let incident = body["incident"]?.stringValue else { throw problem("warning \(id): incident: required") }
            return (.warning(incident: incident), seq)
        case "task":
            guard body["id"]?.stringValue != nil else { throw problem("task: id: required") }
            return (.task(id: id), seq)
        default:
            throw problem("unknown message kind \"\(kind)\"")
        }
    }

    /// Forgets removed keys that no message can bring back: every prefix is covered past them.
    mutating func pruneRemovedKeys() {
        guard covered.count == scope.prefixes.count, let floor = covered.values.min() else { return }
        latest = latest.filter { key, seq in
            switch key {
            case .warning(let incident): warnings[incident] != nil || seq > floor
            case .task(let id): tasks[id] != nil || seq > floor
            }
        }
    }

    /// Counts a problem and keeps its message for the status line.
    mutating func problem(_ message: String) -> WatchError {
        problems += 1
        lastProblem = message
        return WatchError(message)
    }

    /// Records a problem found outside the board (e.g. an unreadable reply), for the same counter.
    public mutating func recordProblem(_ message: String) {
        _ = problem(message)
    }

    /// A refusal (`ok` false) is a problem too: the console's own requests should never be refused.
    mutating func requireOK(_ reply: JSONValue, _ op: String) throws(WatchError) {
        guard reply["ok"]?.boolValue == true else {
            throw problem("\(op) refused: \(reply["error"]?.stringValue ?? "no reason given")")
        }
    }

    static func wholeNumber(_ x: Double) -> Int64? {
        x >= 0 && x == x.rounded() && x < 9_007_199_254_740_992 ? Int64(x) : nil
    }
}
