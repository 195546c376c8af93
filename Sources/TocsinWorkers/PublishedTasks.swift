import TocsinCore

/// What the dispatch worker keeps of the tasks it published: for each incident, each step's latest feed message
/// (its `seq`) and whether that state is final. The message itself is read back from the feed's store when a
/// `step` or `active` needs it; a full `PlanTask` per task cost about 1.5 KB per warned incident.
///
/// An incident's tasks are forgotten together (`forget(incident:)`) when the warning book lets the incident go
/// after its retention: without that, every task ever published stayed in memory.
struct PublishedTasks: Sendable {
    struct Entry: Sendable, Hashable {
        /// The step id within the plan.
        var step: String
        /// The feed `seq` of the task's latest message.
        var seq: Int64
        var isFinal: Bool
    }

    /// By incident id; a plan has a handful of steps, so a short array per incident.
    private var byIncident: [String: [Entry]] = [:]

    /// The number of tasks kept.
    private(set) var count = 0

    /// Records a published task (its latest state).
    mutating func record(_ task: PlanTask) {
        let entry = Entry(step: task.step, seq: task.seq, isFinal: task.state.isFinal)
        if let i = byIncident[task.incident]?.firstIndex(where: { $0.step == task.step }) {
            byIncident[task.incident]![i] = entry
        } else {
            byIncident[task.incident, default: []].append(entry)
            count += 1
        }
    }

    /// The entry of task `id` (`t-<incident id>-<step id>`), if it was published and is still kept. Incident
    /// and step ids may contain `-`: every split is tried against the incidents kept.
    func entry(_ id: String) -> Entry? {
        for (incident, step) in PlanTask.splits(ofID: id) {
            if let e = byIncident[incident]?.first(where: { $0.step == step }) { return e }
        }
        return nil
    }

    /// The `seq`s of every task whose latest state is not final, in feed order.
    var openSeqs: [Int64] {
        byIncident.values.flatMap { $0.compactMap { $0.isFinal ? nil : $0.seq } }.sorted()
    }

    /// Forgets every task of an incident.
    mutating func forget(incident id: String) {
        if let gone = byIncident.removeValue(forKey: id) { count -= gone.count }
    }

    /// Keeps only the incidents `keep` says yes to.
    mutating func retain(where keep: (String) -> Bool) {
        for id in Array(byIncident.keys) where !keep(id) { forget(incident: id) }
    }
}
