import Foundation
import Testing
import TocsinCore

/// A small flood plan whose steps exercise every rule: owners, dependencies within and across levels, both overdue
/// actions.
enum PlanFixtures {
    static func step(
        _ id: String, _ owner: StepOwner, _ minutes: Double, after: [String] = [], _ onOverdue: OverdueAction = .escalate
    ) -> PlanStep {
        PlanStep(
            id: id, action: "Do \(id)", owner: owner, deadlineS: minutes * 60, after: after, onOverdue: onOverdue)
    }

    static let flood = ResponsePlan(
        incidentType: "flood", name: "Test flood plan",
        levels: [
            .iv: [
                step("verify", .level(.street), 15),
                step("report", .level(.street), 30),
                step("written", .level(.street), 60, after: ["report"]),
                step("move", .warning, 60, after: ["verify"]),
            ],
            .iii: [
                step("first_report_city", .level(.district), 60, .escalateAndNotifyCity),
                step("command", .level(.district), 30),
                step("dispatch", .level(.district), 30, after: ["command"]),
            ],
            .ii: [
                step("post", .level(.city), 30),
                step("release", .level(.city), 300, after: ["first_report_city"]),
            ],
        ])

    static let plans = ["flood": flood]

    /// A plan book and the warning pipeline feeding it, as the plan worker will see them.
    struct Run {
        var pipeline = IncidentPipeline()
        var book = PlanBook(plans: PlanFixtures.plans)

        /// A gauge reading at Shatou `seconds` after t0; the warnings it causes go to the book at their `sent`.
        mutating func gauge(_ level: Double, at seconds: Double, status: Status = .actual) -> [PlanTask] {
            let ws = pipeline.feed(Make.event("g\(seconds)", "water_level", at: seconds, values: ["level_m": level], status: status))
            return ws.flatMap { book.warningIssued($0, at: $0.sent) }
        }

        /// The all-clear of incident `id`.
        mutating func close(_ id: String = "inc-1", at seconds: Double) -> [PlanTask] {
            pipeline.close(id, at: Make.time(seconds)).flatMap { book.warningIssued($0, at: $0.sent) }
        }

        mutating func step(_ step: String, by: AreaPath = Make.shatou, _ state: TaskState = .done, at seconds: Double)
            throws(PlanError) -> [PlanTask]
        {
            try book.step("t-inc-1-\(step)", by: by, state: state, at: Make.time(seconds))
        }
    }
}

@Suite struct PlanBookTests {
    typealias M = Make
    typealias Run = PlanFixtures.Run

    // MARK: Activation, upgrade, end

    @Test func tierIIIActivatesLevelsIVAndIII() throws {
        var r = Run()
        let tasks = r.gauge(3.1, at: 0)  // tier III at once
        // Ready at once: the steps without `after`; the others wait.
        #expect(tasks.map(\.step) == ["verify", "report", "first_report_city", "command"])
        #expect(tasks.map(\.id) == tasks.map { "t-inc-1-\($0.step)" })
        #expect(tasks.map(\.level) == [.street, .street, .district, .district])
        #expect(tasks.map(\.owner) == [M.shatou, M.shatou, M.futian, M.futian])
        #expect(
            tasks.map(\.topic) == [
                "actual/task/street/sz.futian.shatou.", "actual/task/street/sz.futian.shatou.",
                "actual/task/district/sz.futian.shatou.", "actual/task/district/sz.futian.shatou.",
            ])
        #expect(tasks.map(\.due) == [M.time(900), M.time(1800), M.time(3600), M.time(1800)])
        for t in tasks {
            #expect(t.state == .ready)
            #expect(t.seq == 0)
            #expect(t.plan == "flood")
            #expect(t.incident == "inc-1")
            #expect(t.area == M.shatou)
            #expect(t.status == .actual)
            #expect(!t.escalated)
            #expect(t.by == nil)
            #expect(t.updated == M.time(0))
            #expect(t.action == "Do \(t.step)")
        }
        #expect(r.book.openTasks.map(\.id) == tasks.map(\.id))
        #expect(r.book.responseLevel(ofIncident: "inc-1") == .iii)
        // Waiting tasks are not on the feed.
        #expect(r.book.task("t-inc-1-move") == nil)
        // An `owner: warning` step is owned at the level of the warning that added it: the district for tier III.
        let ready = try r.step("verify", at: 60)
        #expect(ready.map(\.step) == ["verify", "move"])
        #expect(ready[1].level == .district)
        #expect(ready[1].owner == M.futian)
        #expect(ready[1].due == M.time(3600))  // from the activation, not from when it became ready
        #expect(ready[1].updated == M.time(60))
    }

    @Test func tierIVActivatesOnlyLevelIV() {
        var r = Run()
        let tasks = r.gauge(2.6, at: 0)
        #expect(tasks.map(\.step) == ["verify", "report"])
        #expect(r.book.responseLevel(ofIncident: "inc-1") == .iv)
    }

    @Test func upgradeFromIVToIIAddsLevelsIIIAndIIAndKeepsWhatIsDone() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        #expect(try r.step("report", .done, at: 300).map(\.step) == ["report", "written"])
        #expect(try r.step("verify", .acknowledged, at: 310).map(\.state) == [.acknowledged])
        let added = r.gauge(3.6, at: 600)  // tier II
        // Only new steps; nothing of level IV is republished; `release` waits for `first_report_city`.
        #expect(added.map(\.step) == ["first_report_city", "command", "post"])
        #expect(added.map(\.due) == [M.time(600 + 3600), M.time(600 + 1800), M.time(600 + 1800)])
        #expect(added.map(\.level) == [.district, .district, .city])
        #expect(added.map(\.owner) == [M.futian, M.futian, M.sz])
        #expect(r.book.responseLevel(ofIncident: "inc-1") == .ii)
        #expect(r.book.task("t-inc-1-report")?.state == .done)
        #expect(r.book.task("t-inc-1-verify")?.state == .acknowledged)
        #expect(
            r.book.openTasks.map(\.step) == ["verify", "written", "first_report_city", "command", "post"])
        // A cross-level dependency: done at level III, it readies a level II step.
        #expect(try r.step("first_report_city", by: M.futian, at: 700).map(\.step) == ["first_report_city", "release"])
        // A repeated or lower tier changes nothing.
        let w = try #require(r.pipeline.book.latestWarnings.first)
        #expect(r.book.warningIssued(w, at: M.time(800)).isEmpty)
        #expect(r.gauge(2.7, at: 900).isEmpty)
    }

    @Test func cancelEndsThePlan() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        _ = try r.step("verify", at: 60)  // readies `move`
        _ = try r.step("report", .acknowledged, at: 70)
        let cancelled = r.close(at: 600)
        // Open published tasks are cancelled and republished; the waiting `written` is cancelled silently; the done
        // `verify` is untouched.
        #expect(cancelled.map(\.step) == ["report", "move"])
        #expect(cancelled.allSatisfy { $0.state == .cancelled && $0.updated == M.time(600) })
        #expect(r.book.task("t-inc-1-verify")?.state == .done)
        #expect(r.book.task("t-inc-1-written") == nil)
        #expect(r.book.openTasks.isEmpty)
        #expect(r.book.responseLevel(ofIncident: "inc-1") == nil)
        #expect(throws: PlanError(code: .finished, message: "task t-inc-1-report is cancelled")) {
            try r.step("report", at: 700)
        }
        // An ended plan never goes overdue, and is forgotten after the retention.
        #expect(r.book.advance(to: M.time(7200)).isEmpty)
        #expect(r.book.task("t-inc-1-verify") != nil)
        _ = r.book.advance(to: M.time(600 + 86_400))
        #expect(r.book.task("t-inc-1-verify") == nil)
    }

    @Test func incidentsWithoutAPlanProduceNothing() {
        var book = PlanBook(plans: [:])
        var p = IncidentPipeline()
        let ws = p.feed(M.event("a", "water_level", values: ["level_m": 3.6]))
        #expect(!ws.isEmpty)
        #expect(ws.flatMap { book.warningIssued($0, at: $0.sent) }.isEmpty)
        #expect(book.openTasks.isEmpty)
        // A cancel of an incident whose plan never ran produces nothing either.
        var r = Run()
        _ = r.pipeline.feed(M.event("a", "water_level", values: ["level_m": 1.0]))  // no tier, no warning
        #expect(r.close(at: 60).isEmpty)
    }

    @Test func exerciseWarningsGiveExerciseTasks() {
        var r = Run()
        let tasks = r.gauge(2.6, at: 0, status: .exercise)
        #expect(tasks.count == 2)
        #expect(tasks.allSatisfy { $0.status == .exercise && $0.topic.hasPrefix("exercise/task/street/") })
    }

    // MARK: Dependencies

    @Test func aStepWaitsForItsPredecessors() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        #expect(throws: PlanError(code: .waiting, message: "task t-inc-1-written is waiting for report")) {
            try r.step("written", at: 10)
        }
        // Acknowledging the predecessor is not enough.
        #expect(try r.step("report", .acknowledged, at: 20).map(\.step) == ["report"])
        #expect(r.book.task("t-inc-1-written") == nil)
        let changed = try r.step("report", .done, at: 30)
        #expect(changed.map(\.step) == ["report", "written"])
        #expect(changed.map(\.state) == [.done, .ready])
        #expect(changed[0].by == M.shatou)
        #expect(changed[0].updated == M.time(30))
        #expect(changed[1].by == nil)
        #expect(changed[1].due == M.time(3600))
        #expect(r.book.task("t-inc-1-written")?.state == .ready)
    }

    // MARK: Overdue

    @Test func overdueTaskIsRepublishedOneLevelUpOnce() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        _ = try r.step("report", at: 600)  // done in time: never overdue; readies `written` (due 1 h)
        #expect(r.book.advance(to: M.time(899)).isEmpty)
        let overdue = r.book.advance(to: M.time(900))
        try #require(overdue.count == 1)
        let t = overdue[0]
        #expect(t.id == "t-inc-1-verify")
        #expect(t.state == .overdue)
        #expect(t.level == .district)
        #expect(t.owner == M.futian)
        #expect(t.topic == "actual/task/district/sz.futian.shatou.")
        #expect(t.escalated)
        #expect(t.due == M.time(900))
        #expect(t.updated == M.time(900))
        #expect(r.book.advance(to: M.time(901)).isEmpty)  // once
        // `written` goes overdue at its own deadline; `move` waits for the overdue `verify`: not overdue.
        #expect(r.book.advance(to: M.time(7200)).map(\.step) == ["written"])
        #expect(r.book.advance(to: M.time(100_000)).isEmpty)
        // The escalated owner (or above) takes it over; the street no longer owns it.
        #expect(
            throws: PlanError(code: .notOwner, message: "sz.futian.shatou does not own task t-inc-1-verify (owner sz.futian)")
        ) {
            try r.step("verify", by: M.shatou, at: 1000)
        }
        let acked = try r.step("verify", by: M.futian, .acknowledged, at: 1000)
        #expect(acked.map(\.state) == [.acknowledged])
        #expect(acked[0].escalated)
        #expect(acked[0].level == .district)
        #expect(r.book.advance(to: M.time(200_000)).isEmpty)  // never overdue twice
        #expect(try r.step("verify", by: M.sz, at: 1100).map(\.step) == ["verify", "move"])
    }

    /// `advance` skips the ticks before the next deadline (idle cost), yet sees every change made between ticks.
    @Test func ticksBetweenDeadlinesSeeChangesMadeMeanwhile() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)  // verify due 900 s, report 1,800 s; written (3,600 s) waits for report
        #expect(r.book.advance(to: M.time(10)).isEmpty)  // next deadline: 900 s
        // `written` becomes ready between two ticks, already past its due time: the next tick sees it.
        _ = try r.step("verify", at: 20)
        _ = try r.step("report", at: 4000)
        #expect(r.book.advance(to: M.time(4001)).map(\.step) == ["written", "move"])
        #expect(r.book.advance(to: M.time(4002)).isEmpty)
        // Expiry after the retention is reported once, for the worker to delete the stored run.
        _ = r.close(at: 5000)
        #expect(r.book.advance(to: M.time(5001)).isEmpty)
        #expect(r.book.lastExpired.isEmpty)
        #expect(r.book.advance(to: M.time(5000 + 86_400)).isEmpty)
        #expect(r.book.lastExpired == ["inc-1"])
        #expect(r.book.task("t-inc-1-verify") == nil)
        #expect(r.book.advance(to: M.time(5001 + 86_400)).isEmpty)
        #expect(r.book.lastExpired.isEmpty)
    }

    @Test func acknowledgedButNotDoneGoesOverdue() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        _ = try r.step("verify", .acknowledged, at: 60)
        #expect(r.book.advance(to: M.time(900)).map(\.state) == [.overdue])
    }

    @Test func notifyCityEscalatesStraightToTheCity() throws {
        var r = Run()
        _ = r.gauge(3.1, at: 0)  // III: first_report_city (district, 1 h, notify city)
        _ = try r.step("command", by: M.futian, at: 60)  // readies dispatch
        _ = try r.step("dispatch", by: M.futian, at: 120)
        _ = try r.step("verify", at: 120)
        _ = try r.step("report", at: 120)
        _ = try r.step("written", at: 130)
        _ = try r.step("move", by: M.futian, at: 140)
        let overdue = r.book.advance(to: M.time(3600))
        #expect(overdue.map(\.step) == ["first_report_city"])
        #expect(overdue.first?.level == .city)
        #expect(overdue.first?.owner == M.sz)
        #expect(overdue.first?.topic == "actual/task/city/sz.futian.shatou.")
        #expect(overdue.first?.escalated == true)
    }

    @Test func cityTasksGoOverdueAtTheCity() throws {
        var r = Run()
        _ = r.gauge(3.6, at: 0)  // II
        let overdue = r.book.advance(to: M.time(1800)).filter { $0.step == "post" }
        try #require(overdue.count == 1)
        #expect(overdue[0].state == .overdue)
        #expect(overdue[0].level == .city)
        #expect(overdue[0].owner == M.sz)
        #expect(!overdue[0].escalated)  // nowhere higher to go
    }

    @Test func overdueTasksComeOutEarliestDueFirst() {
        var r = Run()
        _ = r.gauge(3.1, at: 0)
        let overdue = r.book.advance(to: M.time(10_000))
        #expect(overdue.map(\.step) == ["verify", "report", "command", "first_report_city"])
    }

    // MARK: Refusals

    @Test func refusals() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        #expect(throws: PlanError(code: .unknownTask, message: "unknown task \"t-x\"")) {
            try r.book.step("t-x", by: M.shatou, state: .done, at: M.time(10))
        }
        #expect(
            throws: PlanError(code: .notOwner, message: "sz.nanshan does not own task t-inc-1-verify (owner sz.futian.shatou)")
        ) {
            try r.step("verify", by: M.nanshan, at: 10)
        }
        // Another street of the same district does not own it either.
        #expect(throws: PlanError.self) { try r.step("verify", by: M.xiangmihu, at: 10) }
        #expect(
            throws: PlanError(code: .badState, message: "state must be acknowledged or done, got \"overdue\"")
        ) {
            try r.step("verify", .overdue, at: 10)
        }
        // An ancestor may move it.
        #expect(try r.step("verify", by: M.futian, at: 20).first?.by == M.futian)
        #expect(throws: PlanError(code: .finished, message: "task t-inc-1-verify is done")) {
            try r.step("verify", at: 30)
        }
        #expect(throws: PlanError(code: .finished, message: "task t-inc-1-verify is done")) {
            try r.step("verify", .acknowledged, at: 30)
        }
        // Acknowledging twice changes nothing; acknowledged -> done is allowed.
        #expect(try r.step("report", .acknowledged, at: 40).count == 1)
        #expect(try r.step("report", .acknowledged, at: 50).isEmpty)
        #expect(r.book.task("t-inc-1-report")?.updated == M.time(40))
        #expect(try r.step("report", .done, at: 60).first?.state == .done)
        #expect(PlanError(code: .unknownTask, message: "unknown task \"t-x\"").description == "unknown task \"t-x\"")
    }

    // MARK: Snapshot

    @Test func snapshotRestoreGivesIdenticalFutureBehaviour() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        _ = try r.step("report", at: 100)
        _ = try r.step("verify", .acknowledged, at: 200)
        _ = r.gauge(3.1, at: 300)
        _ = r.book.advance(to: M.time(1000))
        let bytes = try r.book.snapshot()
        var restored = try PlanBook(plans: PlanFixtures.plans, snapshot: bytes)
        #expect(try restored.snapshot() == bytes)
        #expect(restored.openTasks == r.book.openTasks)

        var warnings = r.pipeline.feed(M.event("late", "water_level", at: 1200, values: ["level_m": 3.6]))
        warnings += r.pipeline.close("inc-1", at: M.time(9000))
        func future(_ b: inout PlanBook) -> [[PlanTask]] {
            var out: [[PlanTask]] = []
            out.append(b.warningIssued(warnings[0], at: warnings[0].sent))
            out.append((try? b.step("t-inc-1-verify", by: M.futian, state: .done, at: M.time(1300))) ?? [])
            out.append((try? b.step("t-inc-1-command", by: M.futian, state: .done, at: M.time(1400))) ?? [])
            out.append(b.advance(to: M.time(5000)))
            out.append(b.warningIssued(warnings[1], at: warnings[1].sent))
            return out
        }
        let a = future(&r.book)
        let b = future(&restored)
        #expect(a == b)
        #expect(a.map(\.count).reduce(0, +) > 5)
        #expect(try r.book.snapshot() == restored.snapshot())
    }

    /// The rows the plan worker stores (the header and one per run, written by hand in the `Codable` form)
    /// restore the very same book: overdue, escalated, acknowledged by, waiting and closed runs included.
    @Test func incrementalSnapshotsRestoreTheSameBook() throws {
        var r = Run()
        _ = r.gauge(2.6, at: 0)
        _ = try r.step("report", at: 100)
        _ = try r.step("verify", .acknowledged, at: 200)
        _ = r.gauge(3.1, at: 300)
        _ = r.book.advance(to: M.time(1000))  // verify overdue, escalated
        func restore(_ book: PlanBook) throws -> PlanBook {
            let row = try #require(try book.runSnapshot("inc-1"))
            return try PlanBook(plans: PlanFixtures.plans, header: try book.headerSnapshot(), runs: [row])
        }
        let open = try restore(r.book)
        #expect(open.state == r.book.state)
        // Rows in the form stored before the eleventh round (each task a whole `PlanTask`; this one written by
        // that round's code in this very state), and before runs carried their own status, read the same.
        let statusless = Self.legacyRow.replacingOccurrences(of: #""plan":"flood","status":"actual","#, with: #""plan":"flood","#)
        #expect(statusless != Self.legacyRow)
        for legacy in [Self.legacyRow, statusless] {
            let restored = try PlanBook(plans: PlanFixtures.plans, header: try r.book.headerSnapshot(), runs: [Array(legacy.utf8)])
            #expect(restored.state == r.book.state)
        }
        // The compact form takes well under half the bytes.
        #expect(try #require(try r.book.runSnapshot("inc-1")).count * 2 < Self.legacyRow.utf8.count)
        // The hand-written row is the `Codable` form (the encoder's order of members aside).
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r.book.state)) as? [String: Any]
        let encodedRun = try #require((encoded?["runs"] as? [Any])?.first as? NSDictionary)
        let written = try JSONSerialization.jsonObject(with: Data(try #require(try r.book.runSnapshot("inc-1"))))
        #expect(encodedRun == (written as? NSDictionary))
        #expect(((written as? [String: Any])?["records"] as? [Any])?.count ?? 0 >= 3)
        #expect(open.openTasks.contains { $0.state == .overdue && $0.escalated && $0.by == M.shatou })
        _ = r.close(at: 2000)
        #expect(try restore(r.book).state == r.book.state)
        #expect(try r.book.runSnapshot("inc-2") == nil)
    }

    /// A run row as the tenth round's plan worker stored it (the state of `incrementalSnapshotsRestoreTheSameBook`
    /// before its close).
    static let legacyRow = #"{"incident":"inc-1","plan":"flood","status":"actual","tier":"III","number":1,"tasks":[{"task":{"id":"t-inc-1-verify","seq":0,"plan":"flood","incident":"inc-1","step":"verify","action":"Do verify","level":"district","owner":"sz.futian","area":"sz.futian.shatou","due":{"micros":1782895500000000},"state":"overdue","status":"actual","escalated":true,"updated":{"micros":1782895600000000},"by":"sz.futian.shatou"},"tier":"IV","after":[],"onOverdue":"escalate","waiting":false,"wentOverdue":true},{"task":{"id":"t-inc-1-report","seq":0,"plan":"flood","incident":"inc-1","step":"report","action":"Do report","level":"street","owner":"sz.futian.shatou","area":"sz.futian.shatou","due":{"micros":1782896400000000},"state":"done","status":"actual","escalated":false,"updated":{"micros":1782894700000000},"by":"sz.futian.shatou"},"tier":"IV","after":[],"onOverdue":"escalate","waiting":false,"wentOverdue":false},{"task":{"id":"t-inc-1-written","seq":0,"plan":"flood","incident":"inc-1","step":"written","action":"Do written","level":"street","owner":"sz.futian.shatou","area":"sz.futian.shatou","due":{"micros":1782898200000000},"state":"ready","status":"actual","escalated":false,"updated":{"micros":1782894700000000}},"tier":"IV","after":["report"],"onOverdue":"escalate","waiting":false,"wentOverdue":false},{"task":{"id":"t-inc-1-move","seq":0,"plan":"flood","incident":"inc-1","step":"move","action":"Do move","level":"street","owner":"sz.futian.shatou","area":"sz.futian.shatou","due":{"micros":1782898200000000},"state":"ready","status":"actual","escalated":false,"updated":{"micros":1782894600000000}},"tier":"IV","after":["verify"],"onOverdue":"escalate","waiting":true,"wentOverdue":false},{"task":{"id":"t-inc-1-first_report_city","seq":0,"plan":"flood","incident":"inc-1","step":"first_report_city","action":"Do first_report_city","level":"district","owner":"sz.futian","area":"sz.futian.shatou","due":{"micros":1782898500000000},"state":"ready","status":"actual","escalated":false,"updated":{"micros":1782894900000000}},"tier":"III","after":[],"onOverdue":"escalate_and_notify_city","waiting":false,"wentOverdue":false},{"task":{"id":"t-inc-1-command","seq":0,"plan":"flood","incident":"inc-1","step":"command","action":"Do command","level":"district","owner":"sz.futian","area":"sz.futian.shatou","due":{"micros":1782896700000000},"state":"ready","status":"actual","escalated":false,"updated":{"micros":1782894900000000}},"tier":"III","after":[],"onOverdue":"escalate","waiting":false,"wentOverdue":false},{"task":{"id":"t-inc-1-dispatch","seq":0,"plan":"flood","incident":"inc-1","step":"dispatch","action":"Do dispatch","level":"district","owner":"sz.futian","area":"sz.futian.shatou","due":{"micros":1782896700000000},"state":"ready","status":"actual","escalated":false,"updated":{"micros":1782894900000000}},"tier":"III","after":["command"],"onOverdue":"escalate","waiting":true,"wentOverdue":false}]}"#

    /// An exercise plan's tasks stay exercise tasks through a restore (the drill fence).
    @Test func exercisePlansRestoreAsExercise() throws {
        var r = Run()
        let tasks = r.gauge(2.6, at: 0, status: .exercise)
        #expect(!tasks.isEmpty && tasks.allSatisfy { $0.status == .exercise })
        let row = try #require(try r.book.runSnapshot("inc-1"))
        let restored = try PlanBook(plans: PlanFixtures.plans, header: try r.book.headerSnapshot(), runs: [row])
        #expect(restored.openTasks.allSatisfy { $0.status == .exercise && $0.topic.hasPrefix("exercise/") })
        #expect(restored.openTasks == r.book.openTasks)
    }

    /// A task id reads every way `t-<incident>-<step>` allows (ids may contain `-`), shortest incident first.
    @Test func taskIDsSplitEveryWay() {
        #expect(PlanTask.splits(ofID: "t-inc-1-report_district").map { "\($0.incident)|\($0.step)" }
                == ["inc|1-report_district", "inc-1|report_district"])
        #expect(PlanTask.splits(ofID: "t-a-b-c").map(\.incident) == ["a", "a-b"])
        #expect(PlanTask.splits(ofID: "x-inc-1-a").isEmpty)
        #expect(PlanTask.splits(ofID: "t-nodash").isEmpty)
    }

    @Test func recordedSeqIsKept() throws {
        var r = Run()
        let tasks = r.gauge(2.6, at: 0)
        r.book.recordSeq(7, ofTask: tasks[0].id)
        #expect(r.book.task(tasks[0].id)?.seq == 7)
        #expect(r.book.openTasks.first?.seq == 7)
        // Kept through a stored row, and through a snapshot.
        let row = try #require(try r.book.runSnapshot("inc-1"))
        let restored = try PlanBook(plans: PlanFixtures.plans, header: try r.book.headerSnapshot(), runs: [row])
        #expect(restored.task(tasks[0].id)?.seq == 7)
        #expect(restored.state == r.book.state)
        #expect(try PlanBook(plans: PlanFixtures.plans, snapshot: r.book.snapshot()).task(tasks[0].id)?.seq == 7)
    }
}

@Suite struct PlanTaskJSONTests {
    @Test func fieldsInTheContractsOrderThenExtensions() throws {
        var r = PlanFixtures.Run()
        let task = try requireFirst(r.gauge(2.6, at: 0))
        let json = task.jsonString
        #expect(
            json
                == #"{"id":"t-inc-1-verify","seq":0,"plan":"flood","incident":"inc-1","step":"verify","action":"Do verify","level":"street","owner":"sz.futian.shatou","area":"sz.futian.shatou","due":"2026-07-01T08:45:00Z","state":"ready","status":"actual","escalated":false,"updated":"2026-07-01T08:30:00Z"}"#
        )
        #expect(try PlanTask(json: task.json) == task)
        let done = try requireFirst(r.step("verify", by: Make.futian, at: 60))
        #expect(done.jsonString.hasSuffix(#","by":"sz.futian"}"#))
        #expect(try PlanTask(json: done.json) == done)
    }

    /// Dispatch numbers the plan worker's tasks by splicing the feed seq into their bytes: the result is the bytes
    /// of the task with that seq, for ids that need escaping too; bytes not in `write(to:)`'s form give nil.
    @Test func seqSplicedIntoTheBytesIsTheTaskWithThatSeq() throws {
        var r = PlanFixtures.Run()
        var tasks = try r.gauge(2.6, at: 0)
        tasks += try r.step("verify", by: Make.futian, at: 60)
        #expect(tasks.count >= 2)
        for original in tasks {
            for id in [original.id, #"t-"q\"uote"-\\-x"#, "t-é-中"] {
                // The task with another id, through its JSON (the id is fixed once made).
                let text = original.jsonString
                let rest = text.dropFirst(#"{"id":"#.count + JSONWriter.quoted(original.id).count)
                let task = try PlanTask(json: Array((#"{"id":"# + JSONWriter.quoted(id) + rest).utf8))
                #expect(task.id == id && task.seq == 0)
                let plain = task.json
                for seq: Int64 in [0, 7, 123_456_789, 9_007_199_254_740_991] {
                    var numbered = task
                    numbered.seq = seq
                    #expect(PlanTask.json(plain, withSeq: seq) == numbered.json, "\(id) \(seq)")
                    let spliced = try #require(PlanTask.json(task.json, withSeq: seq))
                    #expect(try PlanTask(json: spliced) == numbered)
                }
            }
        }
        for bad in [#"{"seq":1,"id":"t"}"#, #"{"id":"t","seq":-1,"a":1}"#, #"{"id":"t","seq":1}"#, #"{"id":"t","sequence":1,"x":1}"#,
                    #"{"id":"t"#, "", #"{"id":"t","seq":,"x":1}"#] {
            #expect(PlanTask.json(Array(bad.utf8), withSeq: 5) == nil, "\(bad)")
        }
        #expect(PlanTask.json(Array(#"{"id":"t","seq":12,"x":1}"#.utf8), withSeq: -1) == nil)
    }

    /// Dispatch reads of a relayed task only whose step it is and its state: they are the full decoder's, for
    /// every task a run publishes (with `updated` and `by`, and with text that needs escapes); bytes that are
    /// not a task as `write(to:)` writes it give nil (dispatch then decodes them fully and reports the error).
    @Test func relayedTasksReadAsTheFullDecoderReadsThem() throws {
        var r = PlanFixtures.Run()
        var tasks = try r.gauge(2.6, at: 0)
        tasks += try r.step("verify", by: Make.futian, at: 60)
        let first = try requireFirst(tasks)
        let oddText = first.jsonString
            .replacingOccurrences(of: #""action":"Do verify""#,
                                  with: #""action":"# + JSONWriter.quoted("say \"stop\" \\ wait\n\u{01} 中文 🔥"))
            .replacingOccurrences(of: #""incident":"inc-1""#, with: #""incident":"# + JSONWriter.quoted(#"in"c\-1"#))
        let odd = try PlanTask(json: Array(oddText.utf8))
        #expect(odd.incident == #"in"c\-1"# && odd.action.hasSuffix("🔥"))
        tasks.append(odd)
        #expect(tasks.count >= 3 && tasks.contains { $0.by != nil })
        for task in tasks {
            let relayed = try #require(PlanTask.Relayed(json: task.json))
            let full = try PlanTask(json: task.json)
            #expect(relayed.incident == full.incident && relayed.step == full.step && relayed.state == full.state)
        }
        let good = tasks[0].jsonString
        for bad in ["", "{}", "[]", String(good.dropLast()), good + "x", good.replacingOccurrences(of: #""step":"#, with: #""stop":"#),
                    good.replacingOccurrences(of: #""state":"ready""#, with: #""state":"asleep""#),
                    good.replacingOccurrences(of: #""escalated":false"#, with: #""escalated":nope"#),
                    good.replacingOccurrences(of: #""action":"Do verify""#, with: #""action":"Do \"#)] {
            #expect(PlanTask.Relayed(json: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    /// The record reader finds members by their names at the cursor when they come in the writer's order; in any
    /// other form (reordered, spaced, a name with an escape, a member twice) it reads what the full decoder reads
    /// or gives way to it.
    @Test func recordReaderAgreesWithTheFullDecoderInEveryForm() throws {
        var r = PlanFixtures.Run()
        _ = try r.gauge(2.6, at: 0)
        let task = try requireFirst(r.step("verify", by: Make.futian, at: 60))
        let compact = task.jsonString
        #expect(try PlanTask(json: task.json) == task)
        let reordered = compact.replacingOccurrences(of: #"{"id":"t-inc-1-verify","seq":0,"#, with: #"{"seq":0,"#)
            .replacingOccurrences(of: #""escalated":false"#, with: #""escalated":false,"id":"t-inc-1-verify""#)
        let spaced = compact.replacingOccurrences(of: #"",""#, with: #"" , ""#).replacingOccurrences(of: #"":"#, with: #"" : "#)
        let escapedName = compact.replacingOccurrences(of: #""step":"#, with: #""st\u0065p":"#)
        for text in [reordered, spaced, escapedName] {
            #expect(text != compact)
            #expect(try PlanTask(json: Array(text.utf8)) == task, "\(text)")
            #expect(PlanTask.Relayed(json: Array(text.utf8)).map { $0.step == task.step } ?? true)
        }
        let twice = compact.replacingOccurrences(of: #""plan":"flood","#, with: #""plan":"flood","plan":"flood","#)
        #expect(throws: TaskDecodingError.self) { try PlanTask(json: Array(twice.utf8)) }
        #expect(PlanTask.Relayed(json: Array(twice.utf8)) == nil)
    }

    @Test func decodingIsStrictAboutTypesAndLenientAboutExtensions() throws {
        let minimal =
            #"{"id":"t-1-a","seq":3,"plan":"fire","incident":"1","step":"a","action":"x","level":"city","owner":"sz","area":"sz.futian","due":"2026-07-01T08:45:00+08:00","state":"overdue","status":"test","future":1}"#
        let t = try PlanTask(json: Array(minimal.utf8))
        #expect(t.seq == 3)
        #expect(!t.escalated)
        #expect(t.updated == nil)
        #expect(t.by == nil)
        #expect(t.topic == "test/task/city/sz.futian.")
        let bad = minimal.replacingOccurrences(of: #""state":"overdue""#, with: #""state":"late""#)
        #expect(throws: TaskDecodingError.self) { try PlanTask(json: Array(bad.utf8)) }
        let noArea = minimal.replacingOccurrences(of: #""area":"sz.futian","#, with: "")
        #expect(throws: TaskDecodingError(path: "area", message: "required")) { try PlanTask(json: Array(noArea.utf8)) }
    }
}

@Suite struct ResponsePlanTests {
    @Test func fixturePlanIsSound() {
        #expect(PlanFixtures.flood.problems.isEmpty)
        #expect(PlanFixtures.flood.steps(upTo: .iii).map(\.step.id).count == 7)
        #expect(PlanFixtures.flood.steps(above: .iv, upTo: .ii).map(\.level) == [.iii, .iii, .iii, .ii, .ii])
    }

    @Test func problemsOfPlansBuiltInCode() {
        typealias F = PlanFixtures
        let plan = ResponsePlan(
            incidentType: "x", name: "x",
            levels: [
                .iv: [F.step("a", .level(.street), 5, after: ["b"]), F.step("b", .level(.street), 5, after: ["a"])],
                .iii: [],
                .ii: [F.step("c", .level(.city), 0, after: ["nope"]), F.step("a", .warning, 5)],
            ])
        let problems = plan.problems
        #expect(problems.contains("duplicate step id \"a\""))
        #expect(problems.contains("level III has no steps"))
        #expect(problems.contains("step c: unknown step \"nope\" in after"))
        #expect(problems.contains("step c: the deadline must be longer than 0s"))
        #expect(problems.contains("steps wait for each other in a cycle: a -> b -> a"))
        let upward = ResponsePlan(
            incidentType: "x", name: "x",
            levels: [.iv: [F.step("a", .level(.street), 5, after: ["b"])], .iii: [F.step("b", .level(.district), 5)]])
        #expect(upward.problems == ["step a: \"b\" is added at a higher level (III)"])
    }

    @Test func ownerNames() {
        #expect(StepOwner(rawValue: "warning") == .warning)
        #expect(StepOwner(rawValue: "district") == .level(.district))
        #expect(StepOwner(rawValue: "mayor") == nil)
        #expect(StepOwner.allCases.map(\.rawValue) == ["street", "district", "city", "warning"])
        #expect(OverdueAction(rawValue: "escalate_and_notify_city") == .escalateAndNotifyCity)
    }
}
