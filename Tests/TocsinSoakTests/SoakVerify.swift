import Foundation
import TocsinCore
import TocsinStore
import TocsinTesting

/// What the journal holds against what the platforms were told. Read with `JournalReader` (read-only).
struct JournalCheck {
    var rows = 0
    /// Events the platforms got `accepted` or `duplicate` for but the journal does not hold.
    var lost: [String] = []
    /// Events the journal holds more than once.
    var duplicated: [String] = []
    /// Journal rows that no platform sent.
    var unknown: [String] = []
    /// Per source whose journal order is not its platform's send order: the first place where they differ.
    var disorder: [String] = []
    /// Events that got no reply, or a reply other than accepted or duplicate.
    var unanswered = 0, rejected = 0
    /// The journal's `accepted` counter (stored with every batch), to compare with `rows`.
    var acceptedCounter = 0

    var acknowledged = 0, resent = 0, firstReplyDuplicate = 0

    init(journalPath: String, workload: SoakWorkload, results: [SoakPlatforms.Result]) throws {
        let reader = try JournalReader(path: journalPath)
        defer { try? reader.close() }
        var seen: [String: Int] = [:]
        var bySource: [String: [String]] = [:]
        var after: Int64 = 0
        for _ in 0..<10_000 {
            let batch = try reader.read(after: after, limit: 50_000)
            guard let last = batch.last else { break }
            for r in batch {
                let key = r.source + "|" + r.eventID
                seen[key, default: 0] += 1
                bySource[r.source, default: []].append(r.eventID)
            }
            rows += batch.count
            after = last.seq
        }
        acceptedCounter = try reader.counters()["accepted"] ?? 0
        var sent = Set<String>()
        for (p, result) in zip(workload.platforms, results) {
            for (i, id) in p.ids.enumerated() {
                let key = p.source + "|" + id
                sent.insert(key)
                resent += result.attempts[i] > 1 ? 1 : 0
                switch result.statuses[i] {
                case "accepted"?, "duplicate"?:
                    acknowledged += 1
                    if result.statuses[i] == "duplicate" { firstReplyDuplicate += 1 }
                    if seen[key] == nil { lost.append(id) }
                case nil: unanswered += 1
                default: rejected += 1
                }
            }
            let journaled = bySource[p.source] ?? []
            let expected = p.ids.filter { seen[p.source + "|" + $0] != nil }
            if journaled != expected {
                let i = zip(journaled, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(journaled.count, expected.count)
                disorder.append("\(p.source): journal position \(i) holds \(i < journaled.count ? journaled[i] : "nothing"), sent \(i < expected.count ? expected[i] : "nothing")")
            }
        }
        duplicated = seen.filter { $0.value > 1 }.map(\.key).sorted()
        unknown = seen.keys.filter { !sent.contains($0) }.sorted()
    }
}

/// The feed as the suite compares it with a fault-free run.
///
/// Compared, because they depend only on each platform's own order: for every incident (named by the first event
/// it saw, `evidence.sample[0]`), its warnings in feed order with `msgType`, tier, level, owner, area, event,
/// status, headline, location, evidence (count, first and last time, sample) and the number of references; and
/// the set of (incident, plan step) that got a task. Not compared, because they depend on how the platforms
/// interleaved or on the wall clock: warning, incident and task ids, `seq`, `sent`, task `due`, `updated` and
/// states (a long run may see tasks go overdue).
struct FeedEssence: Equatable {
    /// Incident key -> its warnings, in feed order.
    var warnings: [String: [String]] = [:]
    var taskSteps: Set<String> = []
    var warningCount = 0, taskCount = 0, messageCount = 0
    /// Problems of the feed on its own: seq not 1...N, a warning id twice, a task of an incident without warnings.
    var problems: [String] = []

    init(_ feed: [(topic: String, body: JSONValue)]) {
        messageCount = feed.count
        var incidentKey: [String: String] = [:]
        var warningIDs = Set<String>()
        for (n, m) in feed.enumerated() {
            let b = m.body
            if b["seq"]?.numberValue != Double(n + 1), problems.count < 20 {
                problems.append("message \(n + 1) has seq \(b["seq"]?.serializedString() ?? "none")")
            }
            guard m.topic.contains("/warning/") else { continue }
            warningCount += 1
            let id = b["id"]?.stringValue ?? "?"
            if !warningIDs.insert(id).inserted { problems.append("warning \(id) twice on the feed") }
            let sample = b["evidence"]?["sample"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let key = sample.first ?? "?"
            if let incident = b["incident"]?.stringValue { incidentKey[incident] = key }
            let e = b["evidence"] ?? .null
            let fields: [String?] = [
                m.topic.split(separator: "/").prefix(3).joined(separator: "/"), b["msgType"]?.stringValue,
                b["tier"]?.stringValue, b["level"]?.stringValue, b["owner"]?.stringValue, b["area"]?.stringValue,
                b["event"]?.stringValue, b["status"]?.stringValue, b["headline"]?.stringValue,
                b["location"]?.serializedString(), e["events"]?.serializedString(), e["first"]?.stringValue,
                e["last"]?.stringValue, sample.joined(separator: ","),
                b["references"]?.arrayValue.map { "\($0.count) refs" }, b["escalated"]?.serializedString(),
            ]
            warnings[key, default: []].append(fields.map { $0 ?? "-" }.joined(separator: " | "))
        }
        for m in feed where m.topic.contains("/task/") {
            taskCount += 1
            let incident = m.body["incident"]?.stringValue ?? "?"
            guard let key = incidentKey[incident] else {
                if problems.count < 40 { problems.append("task \(m.body["id"]?.stringValue ?? "?") of incident \(incident), which has no warning") }
                continue
            }
            taskSteps.insert(key + " " + (m.body["step"]?.stringValue ?? "?"))
        }
    }

    /// The differences with `reference`, at most `limit` of them, readable.
    func differences(from reference: FeedEssence, limit: Int = 8) -> [String] {
        var out: [String] = []
        for key in Set(warnings.keys).union(reference.warnings.keys).sorted() where warnings[key] != reference.warnings[key] {
            out.append("incident \(key): here \(warnings[key] ?? []) / fault-free \(reference.warnings[key] ?? [])")
            if out.count >= limit { return out }
        }
        for step in taskSteps.symmetricDifference(reference.taskSteps).sorted().prefix(limit - out.count) {
            out.append("task \(step) only \(taskSteps.contains(step) ? "here" : "in the fault-free run")")
        }
        return out
    }
}

/// The fault-free run of a workload: the same events, the same platform processes, one `tocsin run`, no faults.
func referenceFeed(_ workload: SoakWorkload, dir: String, timeout: Double) throws -> FeedEssence {
    let deployment = try SoakDeployment(dir: dir + "/reference", mode: .single)
    defer { deployment.killAll() }
    try workload.write(to: deployment.dir)
    try deployment.startAll()
    try deployment.waitReady()
    let platforms = try SoakPlatforms(workload, dir: deployment.dir, endpoint: deployment.ingest, window: 200,
                                      deadline: timeout)
    defer { platforms.killAll() }
    let results = try platforms.finish(timeout: timeout, watching: deployment)
    guard results.allSatisfy({ r in r.statuses.allSatisfy { $0 == "accepted" } }) else {
        throw SoakError("the fault-free run did not accept every event")
    }
    _ = try deployment.settle(events: workload.total, timeout: timeout)
    let essence = FeedEssence(try deployment.feed())
    _ = deployment.stopAll()
    return essence
}

/// Where the suite writes its figures: `out/soak-<scenario>-<size>.json`, and one line on stdout.
func recordFigures(_ scenario: String, _ size: SoakSize, _ figures: [(String, String)]) {
    var w = JSONWriter()
    w.beginObject()
    w.field("scenario", scenario)
    w.field("size", size.name)
    w.field("date", ISO8601DateFormatter().string(from: Date()))
    for (k, v) in figures {
        w.key(k)
        if let n = Double(v) { w.value(n) } else { w.value(v) }
    }
    w.endObject()
    let dir = Fixtures.repositoryRoot + "/out"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try? Data(w.bytes).write(to: URL(fileURLWithPath: dir + "/soak-\(scenario)-\(size.name).json"))
    print("soak \(scenario) (\(size.name)): " + figures.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
}
