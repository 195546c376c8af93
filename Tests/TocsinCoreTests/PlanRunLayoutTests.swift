import Testing
@testable import TocsinCore

/// The plan book's per-task record is what a warned incident's memory is mostly made of (10 to 12 tasks each):
/// it stays at five words, its areas numbered per run.
@Suite struct PlanRunLayoutTests {
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
}
