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

    /// What is kept of a task: 16 bytes, its step id a number into `steps` (a few dozen ids in the loaded plans;
    /// most are longer than the 15 bytes a string holds without an allocation of its own).
    private struct Stored: Sendable {
        var seq: Int64
        var step: UInt32
        var isFinal: Bool
    }

    /// By incident id; a plan has a handful of steps, so a short array per incident.
    private var byIncident = ByIncident<[Stored]>()
    /// Every step id seen, once, and its number.
    private var steps: [String] = []
    private var stepNumbers: [String: UInt32] = [:]

    /// The number of tasks kept.
    private(set) var count = 0

    private mutating func number(ofStep step: String) -> UInt32 {
        if let n = stepNumbers[step] { return n }
        let n = UInt32(steps.count)
        steps.append(step)
        stepNumbers[step] = n
        return n
    }

    private func entry(_ s: Stored) -> Entry { Entry(step: steps[Int(s.step)], seq: s.seq, isFinal: s.isFinal) }

    /// Records a published task (its latest state).
    mutating func record(_ task: PlanTask) {
        let stored = Stored(seq: task.seq, step: number(ofStep: task.step), isFinal: task.state.isFinal)
        if let i = byIncident[task.incident]?.firstIndex(where: { $0.step == stored.step }) {
            byIncident[task.incident]![i] = stored
        } else {
            byIncident[task.incident, default: []].append(stored)
            count += 1
        }
    }

    /// The entry of task `id` (`t-<incident id>-<step id>`), if it was published and is still kept. Incident
    /// and step ids may contain `-`: every split is tried against the incidents kept.
    func entry(_ id: String) -> Entry? {
        for (incident, step) in PlanTask.splits(ofID: id) {
            guard let tasks = byIncident[incident], let n = stepNumbers[step] else { continue }
            if let s = tasks.first(where: { $0.step == n }) { return entry(s) }
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
        for id in byIncident.keys where !keep(id) { forget(incident: id) }
    }
}
