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

    /// What is kept of a task, in one word: the feed `seq` in the low 47 bits (feed numbers stay far below 2^47:
    /// 140 trillion), whether the state is final in the next, its step id as a number into `steps` (a few dozen
    /// ids in the loaded plans; most are longer than the 15 bytes a string holds without an allocation of its own)
    /// in the top 16. A plan's handful of tasks then take an 80-byte block an incident (112 with 16-byte entries).
    private struct Stored: Sendable {
        private var bits: UInt64

        init(seq: Int64, step: UInt16, isFinal: Bool) {
            precondition(seq >= 0 && seq < 1 << 47, "feed seq out of range")
            bits = UInt64(seq) | (isFinal ? 1 << 47 : 0) | UInt64(step) << 48
        }

        var seq: Int64 { Int64(bits & (1 << 47 - 1)) }
        var isFinal: Bool { bits & 1 << 47 != 0 }
        var step: UInt16 { UInt16(bits >> 48) }
    }

    /// The size of what is kept per task (a test pins it).
    static var storedSize: Int { MemoryLayout<Stored>.stride }

    /// By incident id; a plan has a handful of steps, so a short array per incident.
    private var byIncident = ByIncident<[Stored]>()
    /// Every step id seen, once, and its number.
    private var steps: [String] = []
    private var stepNumbers: [String: UInt16] = [:]

    /// The number of tasks kept.
    private(set) var count = 0

    private mutating func number(ofStep step: String) -> UInt16 {
        if let n = stepNumbers[step] { return n }
        precondition(steps.count < Int(UInt16.max), "more than 65,535 distinct step ids")
        let n = UInt16(steps.count)
        steps.append(step)
        stepNumbers[step] = n
        return n
    }

    private func entry(_ s: Stored) -> Entry { Entry(step: steps[Int(s.step)], seq: s.seq, isFinal: s.isFinal) }

    /// Records a published task (its latest state).
    mutating func record(_ task: PlanTask) {
        record(incident: task.incident, step: task.step, seq: task.seq, isFinal: task.state.isFinal)
    }

    /// Records the latest message (`seq`) of `step` of `incident`'s plan.
    mutating func record(incident: String, step: String, seq: Int64, isFinal: Bool) {
        let stored = Stored(seq: seq, step: number(ofStep: step), isFinal: isFinal)
        if let i = byIncident[incident]?.firstIndex(where: { $0.step == stored.step }) {
            byIncident[incident]![i] = stored
        } else {
            byIncident[incident, default: []].append(stored)
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
