// Simulated responders: which command requests a feed message calls for, and when.

import TocsinCore

extension Scenario {
    /// Responder actions due because of a feed message. The runner calls this for every feed message it records
    /// and sends each returned request (a command-endpoint JSON object) at its offset, ideally through
    /// `DrillLog.resolved(_:)`.
    ///
    /// - A warning trigger matches warnings that are not `cancel` (and, for `ack`, not already acknowledged);
    ///   `ack` gives `{"op":"ack","warning":ID,"by":AREA}`, `close` gives `{"op":"close","incident":ID,"by":AREA}`.
    /// - A task trigger matches tasks in its `state` (default `ready`); `acknowledge` and `done` give
    ///   `{"op":"step","task":ID,"by":AREA,"state":"acknowledged"|"done"}`.
    /// - `by` defaults to the triggering warning's or task's owner. The offset is the message's plus the delay.
    /// - Each action fires once: its id goes into `alreadyFired`. With `each: true` it fires once per matching
    ///   warning or task (`<action id>@<warning or task id>` goes into `alreadyFired`).
    public func actionsTriggered(
        by topic: String, body: JSONValue, at offset: Double, alreadyFired: inout Set<String>
    ) -> [(offset: Double, actionID: String, request: JSONValue)] {
        let message = FeedMessage(offset: offset, topic: topic, body: body)
        var out: [(offset: Double, actionID: String, request: JSONValue)] = []
        for action in actions {
            switch action.trigger {
            case .warning(let filter):
                guard let w = message.warning, !w.isCancel, filter.matches(w), let owner = w.owner else { continue }
                if action.verb == .ack && w.acknowledgedBy != nil { continue }
                let key = action.each ? "\(action.id)@\(w.id)" : action.id
                guard !alreadyFired.contains(key) else { continue }
                let by = (action.by ?? owner).rawValue
                let request: JSONValue
                switch action.verb {
                case .close: request = ["op": "close", "incident": .string(w.incident), "by": .string(by)]
                default: request = ["op": "ack", "warning": .string(w.id), "by": .string(by)]
                }
                alreadyFired.insert(key)
                out.append((offset + action.delay, action.id, request))
            case .task(let filter):
                guard let t = message.task, filter.matchesIgnoringState(t), t.state == (filter.state ?? "ready"),
                    let owner = t.owner
                else { continue }
                let key = action.each ? "\(action.id)@\(t.id)" : action.id
                guard !alreadyFired.contains(key) else { continue }
                let state = action.verb == .done ? "done" : "acknowledged"
                let request: JSONValue = [
                    "op": "step", "task": .string(t.id), "by": .string((action.by ?? owner).rawValue),
                    "state": .string(state),
                ]
                alreadyFired.insert(key)
                out.append((offset + action.delay, action.id, request))
            }
        }
        return out
    }

    /// A one-line description of an action's request for the log and the report:
    /// `futian-acks: sz.futian acknowledges warning w-4`.
    public func describeAction(_ actionID: String, request: JSONValue) -> String {
        let by = request["by"]?.stringValue ?? "?"
        let what: String
        switch request["op"]?.stringValue {
        case "ack": what = "\(by) acknowledges warning \(request["warning"]?.stringValue ?? "?")"
        case "close": what = "\(by) gives the all-clear for incident \(request["incident"]?.stringValue ?? "?")"
        case "step":
            let task = request["task"]?.stringValue ?? "?"
            what = request["state"]?.stringValue == "done"
                ? "\(by) marks task \(task) done" : "\(by) acknowledges task \(task)"
        default: what = request.abbreviated(limit: 80)
        }
        return "\(actionID): \(what)"
    }
}
