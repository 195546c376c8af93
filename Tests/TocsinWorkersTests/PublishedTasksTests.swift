import Testing
import TocsinCore
@testable import TocsinWorkers

@Suite struct PublishedTasksTests {
    /// A task as the feed carries it (PlanTask's public decoder, as dispatch reads the plan worker's outbox).
    func task(_ incident: String, _ step: String, seq: Int, state: TaskState = .ready) throws -> PlanTask {
        let json = #"{"id":"t-\#(incident)-\#(step)","seq":\#(seq),"plan":"fire","incident":"\#(incident)","step":"\#(step)","action":"x","level":"street","owner":"sz.futian.shatou","area":"sz.futian.shatou","due":"2026-07-01T08:45:00Z","state":"\#(state.rawValue)","status":"actual"}"#
        return try PlanTask(json: Array(json.utf8))
    }

    @Test func keepsTheLatestStateOfEachTaskAndFindsItById() throws {
        var tasks = PublishedTasks()
        tasks.record(try task("inc-1", "verify", seq: 3))
        tasks.record(try task("inc-1", "report_district", seq: 4))
        tasks.record(try task("inc-12", "verify", seq: 5))
        tasks.record(try task("inc-1", "verify", seq: 9, state: .done))
        #expect(tasks.count == 3)
        #expect(tasks.entry("t-inc-1-verify") == .init(step: "verify", seq: 9, isFinal: true))
        // Ids whose parts contain "-": every split is tried.
        #expect(tasks.entry("t-inc-1-report_district")?.seq == 4)
        #expect(tasks.entry("t-inc-12-verify")?.seq == 5)
        #expect(tasks.entry("t-inc-1-nothing") == nil)
        #expect(tasks.entry("t-inc-2-verify") == nil)
        #expect(tasks.entry("inc-1-verify") == nil)
        #expect(tasks.entry("t-") == nil)
        #expect(tasks.openSeqs == [4, 5])
    }

    /// When the warning book lets an incident go, its tasks go too: nothing published stays in memory for ever.
    @Test func forgetsAnIncidentsTasksTogether() throws {
        var tasks = PublishedTasks()
        for (i, step) in ["a", "b", "c"].enumerated() { tasks.record(try task("inc-7", step, seq: i + 1)) }
        tasks.record(try task("inc-8", "a", seq: 10))
        tasks.forget(incident: "inc-7")
        #expect(tasks.count == 1)
        #expect(tasks.entry("t-inc-7-a") == nil)
        #expect(tasks.openSeqs == [10])
        tasks.retain { $0 != "inc-8" }
        #expect(tasks.count == 0)
        #expect(tasks.openSeqs.isEmpty)
    }

    /// Each task is kept in one word: large feed numbers, the final flag and the step all read back, also with
    /// an incident id of another form than the engine's.
    @Test func keepsATaskInOneWordWithoutLosingItsParts() throws {
        #expect(PublishedTasks.storedSize == 8)
        var tasks = PublishedTasks()
        let big = (1 << 47) - 1
        tasks.record(try task("inc-3", "verify", seq: big, state: .done))
        tasks.record(try task("inc-3", "report_district", seq: big - 1))
        tasks.record(try task("x-1", "verify", seq: 2))
        #expect(tasks.entry("t-inc-3-verify") == .init(step: "verify", seq: Int64(big), isFinal: true))
        #expect(tasks.entry("t-inc-3-report_district") == .init(step: "report_district", seq: Int64(big - 1), isFinal: false))
        #expect(tasks.entry("t-x-1-verify") == .init(step: "verify", seq: 2, isFinal: false))
        #expect(tasks.openSeqs == [2, Int64(big - 1)])
    }
}
