import Foundation
import Testing
@testable import TocsinCore

/// What a warned incident's memory is mostly made of: the plan book's per-task records (about eight each) stay
/// at four words, their areas numbered per run and their seqs kept apart; the warning book's table holds a word per thread, and a copied
/// book still changes alone.
@Suite struct BookLayoutTests {
    @Test func taskRecordsStayAtThirtyTwoBytes() {
        #expect(MemoryLayout<TaskRecord>.stride <= 32)
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
                info: info, area: shatou, due: t, updated: t, by: futian, tier: .iv, level: .district,
                state: .done, escalated: false, waiting: false, wentOverdue: false))
            run.tasks.append(run.record(
                info: StepInfo(id: "move", action: "Move", after: [], onOverdue: .escalate), area: yuehai, due: t,
                updated: nil, by: nil, tier: .iii, level: .street, state: .ready, escalated: false,
                waiting: true, wentOverdue: false))
            run.seqs["verify"] = 3
            return run
        }
        let run = make([])
        let first = run.task(run.tasks[0]), second = run.task(run.tasks[1])
        #expect(first.area == shatou && first.owner == futian && first.by == futian && first.updated != nil)
        #expect(second.area == yuehai && second.owner == yuehai && second.by == nil && second.updated == nil)
        #expect(first.seq == 3 && second.seq == 0)
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

    /// An incident's per-type counts take no dictionary while it has one type, and read the same in every form.
    @Test func typeCountsKeepOneTypeInlineAndReadAsADictionary() throws {
        var c = TypeCounts()
        #expect(c.dictionary.isEmpty && c.typeCount == 0 && c.count(of: "a") == 0)
        c.add("a")
        c.add("a")
        #expect(c.dictionary == ["a": 2] && c.typeCount == 1 && c.count(of: "a") == 2 && c.count(of: "b") == 0)
        c.add("b")
        #expect(c.dictionary == ["a": 2, "b": 1] && c.typeCount == 2 && c.count(of: "b") == 1)
        #expect(TypeCounts(["a": 2, "b": 1]) == c)
        #expect(TypeCounts(["a": 2]) != TypeCounts(["a": 3]))
        var one = TypeCounts()
        one.add("a")
        one.add("a")
        #expect(TypeCounts(["a": 2]) == one)
        let json = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode([String: Int].self, from: json) == ["a": 2, "b": 1])
        #expect(try JSONDecoder().decode(TypeCounts.self, from: json) == c)
    }
}
