import TocsinCore
import TocsinWatch

/// Warning and task bodies as the dispatch worker writes them (PROTOCOL.md "Warning", "Task"), for feeding the
/// board without a pipeline.
enum Feed {
    static let t0 = Timestamp(rfc3339: "2026-09-16T08:00:00Z") ?? Timestamp(micros: 0)
    static let exercise = WatchScope(status: .exercise, level: .district, area: AreaPath(unchecked: "sz.futian"))

    static func time(_ offset: Double) -> Timestamp { t0.adding(seconds: offset) }

    static func warning(
        _ id: String, seq: Int, incident: String, tier: Tier = .iii, event: String = "flood",
        area: String = "sz.futian.shatou", level: Level = .district, owner: String = "sz.futian",
        msgType: String = "alert", status: Status = .exercise, sent: Double = 0, escalated: Bool = false,
        acknowledgedBy: String? = nil, headline: String? = nil
    ) -> JSONValue {
        var o: JSONObject = [
            "id": .string(id), "seq": .number(Double(seq)), "incident": .string(incident), "msgType": .string(msgType),
            "references": [], "status": .string(status.rawValue), "tier": .string(tier.rawValue),
            "color": .string(tier.color), "category": "natural_disaster", "capCategory": ["Met"],
            "event": .string(event), "headline": .string(headline ?? "\(event) warning \(tier.rawValue) in \(area)"),
            "instruction": "Keep away from the river.", "area": .string(area), "level": .string(level.rawValue),
            "owner": .string(owner), "location": ["lat": 22.5277, "lon": 114.025, "radiusM": 100],
            "sent": .string(time(sent).rfc3339),
            "evidence": ["events": 1, "first": .string(time(sent).rfc3339), "last": .string(time(sent).rfc3339), "sample": ["e-1"]],
            "escalated": .bool(escalated),
        ]
        if let acknowledgedBy {
            _ = o.insertNew("acknowledgedBy", .string(acknowledgedBy))
            _ = o.insertNew("acknowledgedAt", .string(time(sent + 60).rfc3339))
        }
        return .object(o)
    }

    static func task(
        _ step: String, seq: Int, incident: String, plan: String = "flood", state: TaskState = .ready,
        area: String = "sz.futian.shatou", level: Level = .district, owner: String = "sz.futian", due: Double = 900,
        status: Status = .exercise, escalated: Bool = false, by: String? = nil, action: String? = nil
    ) -> JSONValue {
        var o: JSONObject = [
            "id": .string("t-\(incident)-\(step)"), "seq": .number(Double(seq)), "plan": .string(plan),
            "incident": .string(incident), "step": .string(step), "action": .string(action ?? "Do \(step)."),
            "level": .string(level.rawValue), "owner": .string(owner), "area": .string(area),
            "due": .string(time(due).rfc3339), "state": .string(state.rawValue), "status": .string(status.rawValue),
            "escalated": .bool(escalated),
        ]
        if let by { _ = o.insertNew("by", .string(by)) }
        return .object(o)
    }

    /// The feed topic of a body.
    static func topic(_ body: JSONValue) -> String {
        let kind = body["plan"] == nil ? "warning" : "task"
        return "\(body["status"]?.stringValue ?? "")/\(kind)/\(body["level"]?.stringValue ?? "")/\(body["area"]?.stringValue ?? "")."
    }

    /// The two frames of a live feed message.
    static func frames(_ body: JSONValue) -> [[UInt8]] {
        [Array(topic(body).utf8), body.serialized()]
    }

    /// A `since` reply holding `bodies`, with the feed at `last`.
    static func since(_ bodies: [JSONValue], last: Int) -> JSONValue {
        ["ok": true, "messages": .array(bodies.map { ["topic": .string(topic($0)), "body": $0] }),
         "last": .number(Double(last))]
    }

    /// An `active` reply.
    static func active(warnings: [JSONValue], tasks: [JSONValue] = []) -> JSONValue {
        ["ok": true, "warnings": .array(warnings), "tasks": .array(tasks)]
    }

    /// A board of the exercise scope that has started at `seq`.
    static func board(at seq: Int64 = 0, scope: WatchScope = exercise) -> WatchBoard {
        var b = WatchBoard(scope: scope)
        b.start(at: seq)
        return b
    }
}

/// Reading a plain (colourless) screen.
enum Screen {
    /// The word of a row that starts under the column `name` of `header` (columns line up in a plain screen).
    static func cell(_ row: String, under name: String, in header: String) -> String? {
        guard let r = header.range(of: name) else { return nil }
        let offset = header.distance(from: header.startIndex, to: r.lowerBound)
        return row.dropFirst(offset).split(separator: " ").first.map(String.init)
    }
}
