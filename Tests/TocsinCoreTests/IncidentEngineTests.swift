import Testing
import TocsinCore

@Suite struct IncidentEngineTests {
    typealias M = Make

    static func engine() -> IncidentEngine { IncidentEngine(catalog: ShippedCatalog.catalog) }

    // MARK: Correlation

    @Test func fiveFireReportsWithin100mAreOneIncidentAtTierIII() throws {
        var e = Self.engine()
        let spots: [(Double, Double)] = [(0, 0), (40, 10), (-30, 50), (60, -60), (-45, -35)]
        var last: [IncidentChange] = []
        for (i, (n, east)) in spots.enumerated() {
            last = e.apply(M.event("f\(i)", "report.fire", at: Double(i) * 60, M.offset(M.here, north: n, east: east)),
                           seq: Int64(i + 1))
        }
        #expect(e.openCount == 1)
        let fire = try #require(last.first?.incident)
        #expect(fire.id == "inc-1")
        #expect(fire.eventCount == 5)
        #expect(fire.tier == .iii)
        #expect(fire.count(of: "report.fire") == 5)

        let far = e.apply(M.event("f5", "report.fire", at: 300, M.offset(M.here, east: 5000)), seq: 6)
        #expect(far.first?.kind == .opened)
        #expect(far.first?.incident.id == "inc-6")
        #expect(far.first?.incident.tier == .iv)
        #expect(e.openCount == 2)
        #expect(e.incident("inc-1")?.eventCount == 5)
    }

    @Test func windowAfterTheLastEvent() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire", at: 0), seq: 1)
        let atEdge = e.apply(M.event("b", "report.fire", at: 1800), seq: 2)  // exactly the 30 min window
        #expect(atEdge.first?.kind == .updated(previousTier: .iv))
        let after = e.apply(M.event("c", "report.fire", at: 1800 + 1801), seq: 3)  // 30 min 1 s after the last
        #expect(after.first?.kind == .opened)
        #expect(e.openCount == 2)
    }

    @Test func slightlyOutOfOrderEventsJoin() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire", at: 3600), seq: 1)
        let early = e.apply(M.event("b", "report.fire", at: 3600 - 600), seq: 2)
        #expect(early.first?.kind == .updated(previousTier: .iv))
        #expect(early.first?.incident.firstTime == M.time(3000))
        #expect(early.first?.incident.lastTime == M.time(3600))
        let tooEarly = e.apply(M.event("c", "report.fire", at: 3000 - 1801), seq: 3)
        #expect(tooEarly.first?.kind == .opened)
    }

    @Test func exerciseNextToActualOpensItsOwn() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        let drill = e.apply(M.event("x", "report.fire", at: 10, status: .exercise), seq: 2)
        #expect(drill.first?.kind == .opened)
        #expect(drill.first?.incident.status == .exercise)
        let test = e.apply(M.event("t", "report.fire", at: 20, status: .test), seq: 3)
        #expect(test.first?.kind == .opened)
        let actual = e.apply(M.event("b", "report.fire", at: 30), seq: 4)
        #expect(actual.first?.incident.id == "inc-1")
        let drill2 = e.apply(M.event("y", "report.fire", at: 40, status: .exercise), seq: 5)
        #expect(drill2.first?.incident.id == "inc-2")
        #expect(e.openIncidents.map(\.status) == [.actual, .exercise, .test])
    }

    /// PROTOCOL.md: an event that joins no open incident opens one, also below every threshold (no tier, so no
    /// warning); a later reading above one joins it, and the evidence counts both.
    @Test func readingsBelowEveryThresholdOpenAnIncidentWithoutATier() {
        var e = Self.engine()
        let low = e.apply(M.event("low", "water_level", values: ["level_m": 1.2]), seq: 1)
        #expect(low.first?.kind == .opened)
        #expect(low.first?.incident.tier == nil)
        let high = e.apply(M.event("high", "water_level", at: 60, values: ["level_m": 2.6]), seq: 2)
        #expect(high.first?.incident.id == "inc-1")
        #expect(high.first?.incident.tier == .iv)
        #expect(high.first?.incident.eventCount == 2)
    }

    @Test func otherIncidentTypeDoesNotJoin() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        let crash = e.apply(M.event("b", "report.traffic_accident", at: 5), seq: 2)
        #expect(crash.first?.kind == .opened)
        // Two event types of one incident type do join (crowd_density and report.crowd: crowd_crush).
        _ = e.apply(M.event("c", "crowd_density", at: 10, values: ["persons_per_m2": 4.5]), seq: 3)
        let report = e.apply(M.event("d", "report.crowd", at: 20), seq: 4)
        #expect(report.first?.incident.id == "inc-3")
        #expect(e.openCount == 3)
    }

    @Test(arguments: [(499.0, true), (500.0 - 0.01, true), (501.0, false), (800.0, false)])
    func radiusBoundary(distance: Double, joins: Bool) {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        let c = e.apply(M.event("b", "report.fire", at: 5, M.offset(M.here, east: distance)), seq: 2)
        #expect((c.first?.kind == .opened) == !joins)
    }

    @Test func diseaseClusterHasALargerRadiusAndWindow() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.illness", values: ["cases": 2]), seq: 1)
        let c = e.apply(
            M.event("b", "report.illness", at: 20 * 3600, M.offset(M.here, north: 900), values: ["cases": 3]), seq: 2)
        #expect(c.first?.kind == .updated(previousTier: nil))
        #expect(c.first?.incident.tier == .iv)
        #expect(c.first?.incident.aggregate("cases", of: "report.illness") == 5)
    }

    @Test func joinsTheNearestOfSeveral() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire", M.offset(M.here, east: -400)), seq: 1)
        _ = e.apply(M.event("b", "report.fire", at: 1, M.offset(M.here, east: 400)), seq: 2)
        #expect(e.openCount == 2)
        let c = e.apply(M.event("c", "report.fire", at: 2, M.offset(M.here, east: 100)), seq: 3)
        #expect(c.first?.incident.id == "inc-2")
        let d = e.apply(M.event("d", "report.fire", at: 3, M.offset(M.here, east: -150)), seq: 4)
        #expect(d.first?.incident.id == "inc-1")
    }

    @Test func centreAreaRadiusAndSample() throws {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire", M.offset(M.here, east: -100)), seq: 1)
        let one = try #require(e.incident("inc-1"))
        #expect(one.radiusM == Incident.minimumRadiusM)
        #expect(one.area == M.shatou)
        let two = try requireFirst(
            e.apply(M.event("b", "report.fire", at: 10, M.offset(M.here, east: 100), area: M.xiangmihu), seq: 2)
        ).incident
        #expect(abs(two.center.lat - M.here.lat) < 1e-9)
        #expect(abs(two.center.lon - M.here.lon) < 1e-9)
        #expect(abs(two.radiusM - 100) < 0.01)
        #expect(two.area == M.futian)  // lowest common ancestor of two streets
        for i in 0..<5 {
            _ = e.apply(M.event("c\(i)", "report.fire", at: 20 + Double(i), area: M.yuehai), seq: Int64(3 + i))
        }
        let all = try #require(e.incident("inc-1"))
        #expect(all.area == M.sz)
        #expect(all.sampleIDs == ["a", "b", "c0", "c1", "c2"])
        #expect(all.eventCount == 7)
        // The extent stays an upper bound of the distance to every event.
        #expect(all.radiusM >= all.center.distance(to: M.offset(M.here, east: -100)) - 1e-6)
        #expect(all.radiusM >= all.center.distance(to: M.offset(M.here, east: 100)) - 1e-6)
    }

    /// Many scattered events: the extent stays an upper bound of the true farthest distance, and a tight one.
    @Test func extentOfAScatter() throws {
        var e = Self.engine()
        var rng = SplitMix(seed: 7)
        var points: [GeoPoint] = []
        for i in 0..<400 {
            let p = M.offset(M.here, north: rng.uniform(-200...200), east: rng.uniform(-200...200))
            points.append(p)
            _ = e.apply(M.event("s\(i)", "report.fire", at: Double(i), p), seq: Int64(i + 1))
        }
        #expect(e.openCount == 1)
        let incident = try #require(e.incident("inc-1"))
        let trueMax = points.map { incident.center.distance(to: $0) }.max()!
        #expect(incident.radiusM >= trueMax - 1e-6)
        #expect(incident.radiusM <= trueMax * 1.42)
        #expect(incident.bounds.south <= points.map(\.lat).min()!)
    }

    @Test func aggregatesAndVersion() throws {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.traffic_accident", values: ["vehicles": 3, "injured": 1]), seq: 1)
        _ = e.apply(M.event("b", "report.traffic_accident", at: 60, values: ["vehicles": 2, "injured": 2]), seq: 2)
        let c = try requireFirst(
            e.apply(M.event("c", "report.traffic_accident", at: 120, values: ["injured": 4]), seq: 3))
        #expect(c.incident.aggregate("vehicles", of: "report.traffic_accident") == 3)
        #expect(c.incident.aggregate("injured", of: "report.traffic_accident") == 7)
        #expect(c.incident.count(of: "report.traffic_accident") == 3)
        #expect(c.incident.tier == .iii)
        #expect(c.incident.version == 3)
        #expect(c.eventID == "c")
    }

    @Test func appliedSeqIsIgnoredAgain() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 7)
        #expect(e.apply(M.event("a", "report.fire"), seq: 7).isEmpty)
        #expect(e.apply(M.event("b", "report.fire"), seq: 3).isEmpty)
        #expect(e.incident("inc-7")?.eventCount == 1)
        #expect(e.lastSeq == 7)
        #expect(e.apply(M.event("c", "no_such_type"), seq: 8).isEmpty)
        #expect(e.lastSeq == 8)
    }

    // MARK: Closing

    @Test func quietCloseAfterTheQuietPeriod() throws {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        _ = e.apply(M.event("b", "report.fire", at: 600), seq: 2)
        #expect(e.advance(to: M.time(600 + 7199)).isEmpty)
        let closed = e.advance(to: M.time(600 + 7200))
        #expect(closed.count == 1)
        let c = try #require(closed.first)
        #expect(c.kind == .closed(.quiet))
        #expect(!c.incident.isOpen)
        #expect(c.incident.closedAt == M.time(7800))
        #expect(c.incident.closeReason == .quiet)
        #expect(e.openCount == 0)
        #expect(e.incident("inc-1") == nil)
        #expect(e.advance(to: M.time(100_000)).isEmpty)
        // A later event at the same place opens a new incident.
        let again = e.apply(M.event("c", "report.fire", at: 8000), seq: 3)
        #expect(again.first?.kind == .opened)
    }

    @Test func newsPostponesTheQuietClose() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        _ = e.apply(M.event("b", "report.fire", at: 1000), seq: 2)
        #expect(e.advance(to: M.time(7200)).isEmpty)  // the first deadline passed, but there was news
        #expect(e.advance(to: M.time(8199)).isEmpty)
        #expect(e.advance(to: M.time(8200)).map(\.incident.id) == ["inc-1"])
    }

    @Test func quietClosesComeOutByDeadline() {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire", at: 100), seq: 1)
        _ = e.apply(M.event("b", "report.fire", at: 0, M.offset(M.here, east: 3000)), seq: 2)
        _ = e.apply(M.event("c", "report.fire", at: 50, M.offset(M.here, east: 6000)), seq: 3)
        let closed = e.advance(to: M.time(20_000))
        #expect(closed.map(\.incident.id) == ["inc-2", "inc-3", "inc-1"])
    }

    @Test func allClearClose() throws {
        var e = Self.engine()
        _ = e.apply(M.event("a", "report.fire"), seq: 1)
        let closed = e.close("inc-1", at: M.time(900))
        let c = try #require(closed)
        #expect(c.kind == .closed(.allClear))
        #expect(c.incident.closedAt == M.time(900))
        #expect(c.incident.version == 2)
        #expect(e.close("inc-1", at: M.time(901)) == nil)
        #expect(e.close("inc-99", at: M.time(901)) == nil)
        #expect(e.close("nonsense", at: M.time(901)) == nil)
        #expect(e.advance(to: M.time(100_000)).isEmpty)
        let again = e.apply(M.event("b", "report.fire", at: 950), seq: 2)
        #expect(again.first?.kind == .opened)
    }

    // MARK: Index

    /// The grid finds exactly what a scan of every open incident finds (nearest within the radius and the
    /// window, ties to the oldest), with centres that move, across cell edges, at 22.5 and at 60 degrees north.
    @Test(arguments: [22.5, 60.0])
    func gridAgreesWithAFullScan(latitude: Double) {
        struct Ref {
            var number: Int64
            var status: Status
            var center: GeoPoint
            var count: Int
            var first: Timestamp
            var last: Timestamp
        }
        var rng = SplitMix(seed: UInt64(latitude * 1000))
        var e = Self.engine()
        var refs: [Ref] = []
        let origin = GeoPoint(lat: latitude, lon: 114)
        var t = 0.0
        for i in 0..<4000 {
            t += rng.uniform(0...3)
            let time = M.time(t - rng.uniform(0...600))
            let p = M.offset(origin, north: rng.uniform(-4000...4000), east: rng.uniform(-4000...4000))
            let status: Status = rng.next() % 5 == 0 ? .exercise : .actual
            let seq = Int64(i + 1)
            var best: Int?
            var bestD = Double.infinity
            for (k, r) in refs.enumerated() where r.status == status {
                guard time.micros >= r.first.micros - 1_800_000_000, time.micros <= r.last.micros + 1_800_000_000
                else { continue }
                let d = r.center.distance(to: p)
                if d <= 500 && (d < bestD || (d == bestD && r.number < refs[best!].number)) {
                    best = k
                    bestD = d
                }
            }
            let change = e.apply(M.event("e\(i)", "report.fire", at: 0, p, status: status).with(time: time), seq: seq)
            if let k = best {
                var r = refs[k]
                r.count += 1
                let n = Double(r.count)
                r.center = GeoPoint(lat: r.center.lat + (p.lat - r.center.lat) / n, lon: r.center.lon + (p.lon - r.center.lon) / n)
                r.first = min(r.first, time)
                r.last = max(r.last, time)
                refs[k] = r
                if change.first?.incident.id != "inc-\(r.number)" {
                    Issue.record("event \(i): expected inc-\(r.number), got \(change.first?.incident.id ?? "-")")
                    return
                }
            } else {
                refs.append(Ref(number: seq, status: status, center: p, count: 1, first: time, last: time))
                if change.first?.kind != .opened {
                    Issue.record("event \(i): expected a new incident, got \(change.first?.incident.id ?? "-")")
                    return
                }
            }
        }
        #expect(e.openCount == refs.count)
        #expect(refs.count > 100)
        #expect(refs.contains { $0.count > 20 })
    }

    /// `correlate` (the classify worker's call) does what `apply` does to the incidents, and makes the change
    /// exactly when the incident has a tier or had one: for a stream of water-level readings below every tier,
    /// rising through the tiers and falling back, reports, and events of another status at the same places.
    @Test func correlateMakesOnlyTheChangesOfTieredIncidents() throws {
        var applied = Self.engine(), correlated = Self.engine()
        var seq: Int64 = 0
        var withChange = 0, withoutChange = 0
        for i in 0..<600 {
            seq += 1
            let place = M.offset(M.here, north: Double(i % 7) * 900, east: Double(i % 3) * 900)
            let event: Event
            switch i % 5 {
            case 0: event = M.event("r\(i)", "report.fire", at: Double(i), place)
            case 1: event = M.event("x\(i)", "water_level", at: Double(i), place, values: ["level_m": 0.5],
                                    status: .exercise)
            default:
                // Below every tier for most readings; a few places rise to tier II and fall back.
                let level = i % 7 == 3 ? 2.0 + Double(i % 40) / 10 : 1.0 + Double(i % 10) / 10
                event = M.event("w\(i)", "water_level", at: Double(i), place, values: ["level_m": level])
            }
            let changes = applied.apply(event, seq: seq)
            let full = try requireFirst(changes)
            let correlation = correlated.correlate(event, seq: seq)
            let c = try #require(correlation)
            #expect(c.number == full.incident.openingSeq)
            let tiered = full.incident.tier != nil || full.previousTier != nil
            #expect((c.change != nil) == tiered, "event \(i)")
            if let change = c.change { #expect(change == full) }
            if tiered { withChange += 1 } else { withoutChange += 1 }
            #expect(correlated.incident(number: c.number) == applied.incident(full.incident.id))
        }
        #expect(withChange > 100 && withoutChange > 100)
        #expect(correlated.state == applied.state)
        let late = correlated.correlate(M.event("late", "water_level", at: 1, values: ["level_m": 1]), seq: 3)
        #expect(late == nil)
        #expect(correlated.incident(number: 999_999) == nil)
    }

    /// 100,000 open incidents far apart (1.2 km grid, the same type and status): each event still finds exactly
    /// its own incident through the grid, and a new event joins the right one.
    @Test func manyOpenIncidentsUseTheIndex() throws {
        var e = Self.engine()
        let side = 317  // 317 x 317 > 100,000
        var seq: Int64 = 0
        func spot(_ i: Int) -> GeoPoint {
            M.offset(GeoPoint(lat: 22.0, lon: 113.5), north: Double(i / side) * 1200, east: Double(i % side) * 1200)
        }
        for i in 0..<100_000 {
            seq += 1
            let c = e.apply(M.event("e\(i)", "report.fire", at: Double(i % 1000), spot(i)), seq: seq)
            if c.first?.kind != .opened {
                Issue.record("event \(i) joined \(c.first?.incident.id ?? "-")")
                return
            }
        }
        #expect(e.openCount == 100_000)
        let target = 54_321
        seq += 1
        let join = try requireFirst(
            e.apply(M.event("j", "report.fire", at: 1000, M.offset(spot(target), north: 120, east: -80)), seq: seq)
                )
        #expect(join.kind == .updated(previousTier: .iv))
        #expect(join.incident.id == "inc-\(target + 1)")
        #expect(join.incident.eventCount == 2)
        #expect(e.openCount == 100_000)
    }
}

@Suite struct AreaAncestryTests {
    @Test(arguments: [
        ("sz.futian.shatou", "sz.futian.shatou", "sz.futian.shatou"),
        ("sz.futian.shatou", "sz.futian.xiangmihu", "sz.futian"),
        ("sz.futian.shatou", "sz.futian", "sz.futian"),
        ("sz.futian", "sz.futian.shatou", "sz.futian"),
        ("sz.futian.shatou", "sz.nanshan.yuehai", "sz"),
        ("sz.futian", "sz.futianbei", "sz"),
        ("sz", "sz.nanshan", "sz"),
    ])
    func commonAncestor(a: String, b: String, expected: String) {
        #expect(AreaPath(a)!.commonAncestor(with: AreaPath(b)!) == AreaPath(expected)!)
    }

    @Test func noCommonRoot() {
        #expect(AreaPath("sz")!.commonAncestor(with: AreaPath("gz")!) == nil)
    }
}
