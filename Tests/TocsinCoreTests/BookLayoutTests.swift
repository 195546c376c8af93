import Testing
@testable import TocsinCore

/// What a warned incident's memory is mostly made of: the plan book's per-task records (about eight each) stay
/// at five words, their areas numbered per run; the warning book's table holds a word per thread, and a copied
/// book still changes alone.
@Suite struct BookLayoutTests {
    @Test func taskRecordsStayAtFortyBytes() {
        #expect(MemoryLayout<TaskRecord>.stride <= 40)
    }

    /// Areas and the stepping center are numbers into the run's own list: each task gives back its own, and runs
    /// that number the same areas in another order are equal.
    @Test func areasAreNumberedPerRunAndReadBack() {
        let info = StepInfo(id: "verify", action: "Verify", after: [], onOverdue: .escalate)
        let shatou = AreaPath("sz.futian.shatou")!, yuehai = AreaPath("sz.nanshan.yuehai")!
        let futian = AreaPath("sz.futian")!
        func make(_ order: [AreaPath]) -> PlanRun {
            var run = PlanRun(incident: "inc-1", plan: "flood", status: .actual, tier: .iii, number: 1, tasks: [])
            for a in order { _ = run.areaIndex(a) }
            let t = Timestamp(micros: 1_000_000)
            run.tasks.append(run.record(
                info: info, area: shatou, due: t, seq: 3, updated: t, by: futian, tier: .iv, level: .district,
                state: .done, escalated: false, waiting: false, wentOverdue: false))
            run.tasks.append(run.record(
                info: StepInfo(id: "move", action: "Move", after: [], onOverdue: .escalate), area: yuehai, due: t,
                seq: 0, updated: nil, by: nil, tier: .iii, level: .street, state: .ready, escalated: false,
                waiting: true, wentOverdue: false))
            return run
        }
        let run = make([])
        let first = run.task(run.tasks[0]), second = run.task(run.tasks[1])
        #expect(first.area == shatou && first.owner == futian && first.by == futian && first.updated != nil)
        #expect(second.area == yuehai && second.owner == yuehai && second.by == nil && second.updated == nil)
        #expect(run.areas.count == 3)
        #expect(make([futian, yuehai]) == run)
        #expect(make([futian, yuehai]).tasks[0].areaIndex != run.tasks[0].areaIndex)
    }

    @Test func warningThreadsAreOneWordAndCopiesChangeAlone() throws {
        #expect(MemoryLayout<WarningThread>.stride == 8)
        var p = IncidentPipeline()
        let alert = try #require(p.feed(Make.event("g1", "water_level", at: 0, values: ["level_m": 2.6])).first)
        let copy = p.book
        _ = try p.book.acknowledge(alert.id, by: Make.shatou, at: Make.time(60))
        #expect(p.book.warning(alert.id)?.isAcknowledged == true)
        #expect(copy.warning(alert.id)?.isAcknowledged == false)
        #expect(copy.state != p.book.state)
        let restored = try WarningBook(
            catalog: ShippedCatalog.catalog, areas: ShippedCatalog.areas, snapshot: try p.book.snapshot())
        #expect(restored.state == p.book.state)
    }
}
