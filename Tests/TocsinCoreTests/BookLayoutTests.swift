import Foundation
import Testing
@testable import TocsinCore

/// What a warned incident's memory is mostly made of: the plan book's per-task records (about eight each) stay
/// at four words, their areas numbered per run and their seqs kept apart; the warning book's table holds a word per thread, and a copied
/// book still changes alone.
@Suite struct BookLayoutTests {
    @Test func taskRecordsStayAtTwentyFourBytes() {
        #expect(MemoryLayout<TaskRecord>.stride <= 24)
    }

    /// Runs of a plan count their steps in the plan's one table, also after a restore; a run whose step is not
    /// in it (a plan edited in between) gets a table of its own, and its tasks still read back their steps.
    @Test func runsShareTheirPlansStepTable() throws {
        var r = PlanFixtures.Run()
        _ = r.gauge(2.6, at: 0)
        _ = r.gauge(2.6, at: 0, status: .exercise)
        let runs = Array(r.book.runTable).map(\.value)
        #expect(runs.count == 2 && runs[0].steps === runs[1].steps && !runs[0].steps.infos.isEmpty)
        let restored = try PlanBook(plans: PlanFixtures.plans, snapshot: r.book.snapshot())
        let back = Array(restored.runTable).map(\.value)
        #expect(back.count == 2 && back[0].steps === back[1].steps && back[0].steps !== runs[0].steps)
        #expect(restored.state == r.book.state)

        var run = runs[0]
        let odd = StepInfo(id: "extra", action: "Extra", after: [], onOverdue: .escalate)
        let before = run.steps
        let t = Timestamp(micros: 1)
        run.tasks.append(run.record(info: odd, area: AreaPath("sz.futian")!, due: t, updated: nil, by: nil, tier: .iv,
                                    level: .district, state: .ready, escalated: false, waiting: false,
                                    wentOverdue: true))
        #expect(run.steps !== before && before.infos.count + 1 == run.steps.infos.count)
        #expect(run.step(of: run.tasks.last!) == "extra" && run.tasks.last!.wentOverdue && !run.tasks.last!.waiting)
        #expect(run.step(of: run.tasks[0]) == runs[0].step(of: runs[0].tasks[0]))
    }

    /// Incidents and warnings declare their one-byte properties after the words, so padding does not grow them
    /// (226 and 257 bytes in declaration order of the contract).
    @Test func incidentsAndWarningsCarryNoPadding() {
        #expect(MemoryLayout<Incident>.size <= 222)  // 214 + the sample as one string instead of an array
        #expect(MemoryLayout<Warning>.size <= 231)
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

    /// A thread keeps what each warning adds to its incident and rebuilds the same warnings; the headline and
    /// instruction are one shared object; a stored thread whose warnings do not fit that form is kept in full
    /// and reads back unchanged, and so does one whose incident's fixed facts change.
    @Test func threadsKeepWarningsCompactlyAndRebuildThemExactly() throws {
        #expect(MemoryLayout<IssuedWarning>.stride <= 144)
        var p = IncidentPipeline()
        let alert = try #require(p.feed(Make.event("g1", "water_level", at: 0, values: ["level_m": 2.6])).first)
        let update = try #require(p.feed(Make.event("g2", "water_level", at: 30, values: ["level_m": 3.2])).first)
        _ = try p.book.acknowledge(update.id, by: Make.futian, at: Make.time(60))
        let thread = try #require(p.book.state.threads.first)
        #expect(thread.isCompact && thread.warnings.count == 2)
        #expect(thread.warnings[0] == alert)
        #expect(thread.warnings[1].references == [alert.id] && thread.warnings[1].acknowledgedBy == Make.futian)
        #expect(thread.warnings[1].owner == update.owner && thread.warnings[1].headline == update.headline)
        #expect(WarningTexts.shared(headline: alert.headline, instruction: alert.instruction)
                === WarningTexts.shared(headline: alert.headline, instruction: alert.instruction))

        // A stored thread of another form: a warning id the book would not issue.
        let json = String(decoding: try JSONEncoder().encode(thread), as: UTF8.self)
            .replacingOccurrences(of: "\"\(alert.id)\"", with: "\"legacy-1\"")
        let odd = try JSONDecoder().decode(WarningThread.self, from: Data(json.utf8))
        #expect(!odd.isCompact && odd.warnings[0].id == "legacy-1" && odd.warnings[1].references == ["legacy-1"])
        #expect(try JSONDecoder().decode(WarningThread.self, from: JSONEncoder().encode(odd)) == odd)

        var changed = thread
        var incident = thread.incident
        incident.capCategories = [.other]
        changed.incident = incident
        #expect(!changed.isCompact && changed.warnings == thread.warnings && thread.isCompact)
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

    /// The warning index is a dense array from the oldest warning kept: it reads back what was set, in or out
    /// of order, after its emptied front is dropped, and keeps ids of another form by their text.
    @Test func warningIndexReadsBackThroughRemovalsAndCompaction() {
        var index = WarningIndex()
        for n in 1...10 { index["w-\(n)"] = "inc-\(100 + n)" }
        #expect(index["w-3"] == "inc-103" && index["w-10"] == "inc-110" && index["w-11"] == nil && index["w-0"] == nil)
        for n in 1...6 { index["w-\(n)"] = nil }  // past half: the front is dropped
        #expect(index.count == 4)
        #expect(index["w-6"] == nil && index["w-7"] == "inc-107" && index["w-10"] == "inc-110")
        index["w-2"] = "inc-2"  // before the front again
        index["w-15"] = "inc-15"  // past the end, leaving a gap
        #expect(index["w-2"] == "inc-2" && index["w-7"] == "inc-107" && index["w-15"] == "inc-15")
        #expect(index["w-12"] == nil && index.count == 6)
        index["w-07"] = "inc-9"  // not the book's form: by text, and w-7 stays
        index["w-16"] = "inc-x"
        #expect(index["w-07"] == "inc-9" && index["w-7"] == "inc-107" && index["w-16"] == "inc-x")
        for n in [2, 7, 8, 9, 10, 15] { index["w-\(n)"] = nil }
        index["w-07"] = nil
        index["w-16"] = nil
        #expect(index.count == 0 && index["w-15"] == nil)
        index["w-40"] = "inc-4"
        #expect(index["w-40"] == "inc-4" && index.count == 1)
        #expect(["w-10", "x", "w-9", "w-2"].sorted(by: WarningIndex.order) == ["w-2", "w-9", "w-10", "x"])
    }

    /// Tables by incident key the engine's ids by number and any other id by its text, and give back both.
    @Test func tablesByIncidentKeepEveryFormOfId() {
        var t = ByIncident<[Int]>()
        t["inc-1"] = [1]
        t["inc-01"] = [2]
        t["x"] = [3]
        t["inc-2", default: []].append(4)
        t["inc-2", default: []].append(5)
        t["inc-1"]?.append(6)
        #expect(t["inc-1"] == [1, 6] && t["inc-01"] == [2] && t["x"] == [3] && t["inc-2"] == [4, 5])
        #expect(t.count == 4 && Set(t.keys) == ["inc-1", "inc-01", "x", "inc-2"])
        #expect(t.values.map(\.count).reduce(0, +) == 6)
        #expect(t.removeValue(forKey: "inc-01") == [2] && t["inc-1"] == [1, 6] && t.count == 3)
        t["x"] = nil
        #expect(Set(t.keys) == ["inc-1", "inc-2"])
    }

    /// The engine's slot arrays grow a chunk at a time and read and change in place across chunk boundaries.
    @Test func chunkedArraysReadAndChangeAcrossChunks() {
        var a = Chunked<Int>()
        for i in 0..<3000 { a.append(i * 2) }
        #expect(a.count == 3000 && a[0] == 0 && a[1023] == 2046 && a[1024] == 2048 && a[2999] == 5998)
        a[1024] += 1
        a[2047] = -1
        #expect(a[1024] == 2049 && a[2047] == -1 && a[2048] == 4096)
    }

    /// A grid cell is one word: neighbours, groups and negative coordinates stay apart; only coordinates 2^24
    /// cells apart share a word (which adds candidates that `nearest` then rejects by distance).
    @Test func gridCellsAreOneWordAndKeepNeighboursApart() {
        #expect(MemoryLayout<GridCell>.size == 8)
        let c = GridCell(group: 3, x: -5, y: 9)
        #expect(c == GridCell(group: 3, x: -5, y: 9))
        for other in [GridCell(group: 3, x: -4, y: 9), GridCell(group: 3, x: -5, y: 8), GridCell(group: 4, x: -5, y: 9),
                      GridCell(group: 3, x: 5, y: 9), GridCell(group: 3, x: -5, y: -9)] {
            #expect(c != other)
        }
        #expect(GridCell(group: 3, x: -5 + (1 << 24), y: 9) == c)
    }

    /// The grid's own table acts as a dictionary through inserts, replacements and removals (backward-shift
    /// deletion across wrapped probe runs included), and keeps at most three quarters of its buckets full.
    @Test func cellTableActsAsADictionary() {
        var rng = SystemRandomNumberGenerator()
        var table = CellTable()
        var reference: [GridCell: Int32] = [:]
        // Few distinct cells, so that probe runs collide, wrap around and are deleted from often.
        let cells = (0..<3000).map { (n: Int) -> GridCell in
            let group = Int64(n % 3), x = Int64(n % 61) - 30, y = Int64(n / 61) - 20
            return GridCell(group: group, x: x, y: y)
        }
        for step in 0..<200_000 {
            let cell = cells[Int.random(in: 0..<(step < 100_000 ? cells.count : 300), using: &rng)]
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                let v = Int32.random(in: 0...1_000_000, using: &rng)
                table[cell] = v
                reference[cell] = v
            case 5..<8:
                table[cell] = nil
                reference[cell] = nil
            default:
                #expect(table[cell] == reference[cell])
            }
            if step % 20_000 == 0 {
                #expect(table.count == reference.count)
                #expect(table.count * 4 <= table.capacity * 3)
                for c in cells where table[c] != reference[c] { Issue.record("\(c) \(String(describing: table[c]))"); break }
            }
        }
        #expect(table.count == reference.count)
        for c in cells { #expect(table[c] == reference[c]) }
        for c in cells { table[c] = nil }
        #expect(table.count == 0 && cells.allSatisfy { table[$0] == nil })
    }

    /// An incident's sample of event ids is one string: it reads back in order, counts, encodes as the same array,
    /// and ids it cannot join (with the separator, or empty) are kept as a list.
    @Test func sampleIDsAreOneStringAndReadBack() throws {
        var s = SampleIDs()
        #expect(s.count == 0 && s.array.isEmpty)
        for id in ["a-1", "platform-ev-000000000002", "c"] { s.append(id) }
        #expect(s.count == 3 && s.array == ["a-1", "platform-ev-000000000002", "c"])
        var seen: [String] = []
        s.forEach { seen.append(String($0)) }
        #expect(seen == s.array)
        #expect(SampleIDs(s.array) == s)
        #expect(try JSONDecoder().decode([String].self, from: JSONEncoder().encode(s)) == s.array)
        #expect(try JSONDecoder().decode(SampleIDs.self, from: JSONEncoder().encode(s)) == s)
        var odd = SampleIDs(["x", "has\u{1F}sep", ""])
        #expect(odd.count == 3 && odd.array == ["x", "has\u{1F}sep", ""])
        odd.append("y")
        #expect(odd.array.last == "y" && odd.count == 4)
        #expect(MemoryLayout<SampleIDs>.size <= 16)
        #expect(SampleIDs(["a", "b\u{7}c"]).array == ["a", "b\u{7}c"])
    }
}
