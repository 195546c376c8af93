import Testing
import TocsinCore

@Suite struct WarningBookTests {
    typealias M = Make

    /// Gauge readings a minute apart at one place.
    static func gauge(_ levels: [Double], status: Status = .actual) -> [Event] {
        levels.enumerated().map { i, level in
            M.event("g\(i)", "water_level", at: Double(i) * 60, values: ["level_m": level], status: status)
        }
    }

    @Test func risingWaterGauge() throws {
        var p = IncidentPipeline()
        let warnings = p.feed(Self.gauge([2.6, 3.1, 3.6, 4.1]))
        #expect(p.engine.openCount == 1)
        try #require(warnings.count == 4)
        #expect(warnings.map(\.msgType) == [.alert, .update, .update, .update])
        #expect(warnings.map(\.tier) == [.iv, .iii, .ii, .i])
        #expect(warnings.map(\.color) == ["blue", "yellow", "orange", "red"])
        #expect(warnings.map(\.level) == [.street, .district, .city, .city])
        #expect(warnings.map(\.owner) == [M.shatou, M.futian, M.sz, M.sz])
        #expect(
            warnings.map(\.topic) == [
                "actual/warning/street/sz.futian.shatou.", "actual/warning/district/sz.futian.shatou.",
                "actual/warning/city/sz.futian.shatou.", "actual/warning/city/sz.futian.shatou.",
            ])
        // References chain: each names every earlier warning, oldest first.
        for (i, w) in warnings.enumerated() {
            #expect(w.references == warnings[..<i].map(\.id))
            #expect(w.incident == "inc-1")
            #expect(w.event == "flood")
            #expect(w.status == .actual)
            #expect(w.category == .naturalDisaster)
            #expect(w.capCategory == [.met])
            #expect(w.area == M.shatou)
            #expect(w.evidence.events == i + 1)
            #expect(w.sent == M.time(Double(i) * 60))
            #expect(!w.escalated)
        }
        #expect(zip(warnings, warnings.dropFirst()).allSatisfy { $0.seq < $1.seq })
        #expect(warnings.map(\.seq) == [1, 2, 3, 4])
        #expect(Set(warnings.map(\.id)).count == 4)
        #expect(warnings[0].headline == "Flood warning IV (blue) in Shatou")
        #expect(warnings[3].headline == "Flood warning I (red) in Shatou")
        #expect(warnings[3].evidence.sample == ["g0", "g1", "g2", "g3"])
        #expect(warnings[3].evidence.first == M.time(0))
        #expect(warnings[3].evidence.last == M.time(180))
        #expect(p.book.latestWarnings.map(\.id) == [warnings[3].id])
    }

    @Test func incidentsWithoutTierAreSilentUntilTheyReachOne() {
        var p = IncidentPipeline()
        #expect(p.feed(Self.gauge([1.0, 2.0, 2.4])).isEmpty)
        let w = p.feed(M.event("g9", "water_level", at: 300, values: ["level_m": 2.5]))
        #expect(w.map(\.msgType) == [.alert])
        #expect(w.first?.references == [])
        // Closing an incident that never had a warning issues nothing.
        var q = IncidentPipeline()
        _ = q.feed(Self.gauge([1.0]))
        #expect(q.close("inc-1", at: M.time(60)).isEmpty)
        #expect(q.tick(M.time(100_000)).isEmpty)
    }

    @Test func noUpdateWhenNothingVisibleChanged() {
        var p = IncidentPipeline()
        #expect(p.feed(M.event("a", "report.fire")).map(\.msgType) == [.alert])
        #expect(p.feed(M.event("b", "report.fire", at: 60)).isEmpty)  // 2 reports: still IV, same owner and area
        #expect(p.feed(M.event("c", "report.fire", at: 120)).map(\.msgType) == [.update])  // 3 reports: III

        // With updateOnEvidence, every new event is visible.
        var q = IncidentPipeline()
        q.book.updateOnEvidence = true
        _ = q.feed(M.event("a", "report.fire"))
        let w = q.feed(M.event("b", "report.fire", at: 60))
        #expect(w.map(\.msgType) == [.update])
        #expect(w.first?.evidence.events == 2)
    }

    @Test func areaChangeIsAnUpdate() throws {
        var p = IncidentPipeline()
        _ = p.feed(M.event("a", "report.fire"))
        let w = try requireFirst(p.feed(M.event("b", "report.fire", at: 60, area: M.xiangmihu)))
        #expect(w.msgType == .update)
        #expect(w.area == M.futian)
        #expect(w.level == .street)
        #expect(w.owner == M.futian)  // the area itself: it is above the street level
        #expect(w.topic == "actual/warning/street/sz.futian.")
    }

    // MARK: Escalation

    @Test func unacknowledgedStreetWarningEscalatesAfter300s() throws {
        var p = IncidentPipeline()
        let alert = try requireFirst(p.feed(M.event("a", "report.fire")))
        #expect(p.tick(M.time(299)).isEmpty)
        let esc = p.tick(M.time(300))
        try #require(esc.count == 1)
        let e = esc[0]
        #expect(e.msgType == .update)
        #expect(e.escalated)
        #expect(e.tier == .iv)
        #expect(e.level == .district)
        #expect(e.owner == M.futian)
        #expect(e.references == [alert.id])
        #expect(e.id != alert.id)
        #expect(e.seq == alert.seq + 1)
        #expect(e.topic == "actual/warning/district/sz.futian.shatou.")
        #expect(e.headline.hasPrefix("Fire warning IV (blue) in Shatou"))
        #expect(p.tick(M.time(301)).isEmpty)  // not again
    }

    @Test func acknowledgedWarningDoesNotEscalate() throws {
        var p = IncidentPipeline()
        let alert = try requireFirst(p.feed(M.event("a", "report.fire")))
        let acked = try p.book.acknowledge(alert.id, by: M.shatou, at: M.time(120))
        #expect(acked.acknowledgedBy == M.shatou)
        #expect(acked.acknowledgedAt == M.time(120))
        #expect(p.book.latestWarnings.first?.isAcknowledged == true)
        #expect(p.tick(M.time(300)).isEmpty)
        #expect(p.tick(M.time(5000)).isEmpty)
        // Acknowledging again is harmless and keeps the first acknowledgement.
        let again = try p.book.acknowledge(alert.id, by: M.futian, at: M.time(200))
        #expect(again.acknowledgedBy == M.shatou)
    }

    @Test func escalationOfAnEscalation() throws {
        var p = IncidentPipeline()
        let alert = try requireFirst(p.feed(M.event("a", "report.fire")))
        let toDistrict = try requireFirst(p.tick(M.time(300)))
        #expect(p.tick(M.time(300 + 599)).isEmpty)
        let toCity = try requireFirst(p.tick(M.time(300 + 600)))
        #expect(toCity.level == .city)
        #expect(toCity.owner == M.sz)
        #expect(toCity.escalated)
        #expect(toCity.tier == .iv)
        #expect(toCity.references == [alert.id, toDistrict.id])
        #expect(p.tick(M.time(300 + 600 + 900)).isEmpty)  // the city cannot escalate
        #expect(p.tick(M.time(7000)).isEmpty)
    }

    @Test func timeoutsArePerLevel() throws {
        var p = IncidentPipeline()
        _ = p.feed(M.event("a", "report.fire"))
        let timeouts: [Level: Double] = [.street: 60, .district: 120, .city: 180]
        #expect(p.tick(M.time(59), timeouts: timeouts).isEmpty)
        #expect(p.tick(M.time(60), timeouts: timeouts).map(\.level) == [.district])
        #expect(p.tick(M.time(179), timeouts: timeouts).isEmpty)
        #expect(p.tick(M.time(180), timeouts: timeouts).map(\.level) == [.city])
    }

    @Test func escalationSticksForLaterUpdates() throws {
        var p = IncidentPipeline()
        _ = p.feed(M.event("a", "report.fire"))
        _ = try requireFirst(p.tick(M.time(300)))  // street -> district
        _ = try requireFirst(p.tick(M.time(900)))  // district -> city
        // Tier III would be owned by the district; the city keeps it.
        let w = try requireFirst(p.feed([M.event("b", "report.fire", at: 950), M.event("c", "report.fire", at: 960)]))
        #expect(w.tier == .iii)
        #expect(w.level == .city)
        #expect(w.owner == M.sz)
        #expect(w.escalated)
        #expect(!w.headline.contains("escalated"))
    }

    @Test func updateRestartsTheAcknowledgementClock() throws {
        var p = IncidentPipeline()
        let alert = try requireFirst(p.feed(M.event("a", "report.fire")))
        try p.book.acknowledge(alert.id, by: M.shatou, at: M.time(10))
        let up = try requireFirst(p.feed(M.event("b", "report.fire", at: 100, values: ["injured": 1])))  // III
        #expect(up.level == .district)
        #expect(!up.isAcknowledged)
        #expect(p.tick(M.time(100 + 599)).isEmpty)
        #expect(p.tick(M.time(100 + 600)).map(\.level) == [.city])
    }

    // MARK: Acknowledgement errors

    @Test func acknowledgementErrors() throws {
        var p = IncidentPipeline()
        let ws = p.feed(Self.gauge([2.6, 3.1]))
        let (alert, update) = (ws[0], ws[1])
        #expect(update.owner == M.futian)
        #expect(throws: WarningError(code: .unknownWarning, message: "unknown warning \"w-x\"")) {
            try p.book.acknowledge("w-x", by: M.futian, at: M.time(200))
        }
        #expect(
            throws: WarningError(
                code: .notOwner, message: "sz.nanshan does not own warning \(update.id) (owner sz.futian)")
        ) {
            try p.book.acknowledge(update.id, by: M.nanshan, at: M.time(200))
        }
        // A street below the owner does not own it either.
        #expect(throws: WarningError.self) { try p.book.acknowledge(update.id, by: M.shatou, at: M.time(200)) }
        #expect(
            throws: WarningError(code: .superseded, message: "warning \(alert.id) is superseded by \(update.id)")
        ) {
            try p.book.acknowledge(alert.id, by: M.futian, at: M.time(200))
        }
        // An ancestor of the owner may acknowledge.
        let acked = try p.book.acknowledge(update.id, by: M.sz, at: M.time(200))
        #expect(acked.acknowledgedBy == M.sz)

        _ = p.close("inc-1", at: M.time(300))
        #expect(throws: WarningError(code: .closed, message: "incident inc-1 is closed")) {
            try p.book.acknowledge(update.id, by: M.futian, at: M.time(400))
        }
    }

    @Test func authorizeClose() throws {
        var p = IncidentPipeline()
        _ = p.feed(M.event("a", "report.fire"))
        try p.book.authorizeClose(incident: "inc-1", by: M.shatou)
        try p.book.authorizeClose(incident: "inc-1", by: M.sz)
        #expect(throws: WarningError.self) { try p.book.authorizeClose(incident: "inc-1", by: M.nanshan) }
        #expect(throws: WarningError.self) { try p.book.authorizeClose(incident: "inc-9", by: M.sz) }
    }

    // MARK: Drill fence

    @Test(arguments: [Status.exercise, .test])
    func drillTrafficNeverReachesActualTopics(status: Status) throws {
        var p = IncidentPipeline()
        var warnings = p.feed(Self.gauge([2.6, 3.1, 3.6, 4.1], status: status))
        warnings += p.feed(M.event("f", "report.fire", at: 10, values: ["injured": 12], status: status))
        warnings += p.feed(M.event("c", "report.crowd", at: 20, M.offset(M.here, north: 3000), status: status))
        warnings += p.tick(M.time(2000))  // escalations
        warnings += p.tick(M.time(20_000))  // quiet closes
        #expect(warnings.count >= 8)
        #expect(warnings.contains { $0.tier == .i })
        #expect(warnings.contains { $0.msgType == .cancel })
        #expect(warnings.allSatisfy { $0.topic.hasPrefix("\(status.rawValue)/") && $0.status == status })
        #expect(!warnings.contains { $0.topic.hasPrefix("actual/") })
    }

    @Test func mixedTrafficKeepsStatusesApart() {
        var p = IncidentPipeline()
        var warnings = p.feed(M.event("a", "report.fire", values: ["injured": 10]))
        warnings += p.feed(M.event("x", "report.fire", at: 5, values: ["injured": 10], status: .exercise))
        #expect(warnings.map(\.topic) == ["actual/warning/city/sz.futian.shatou.", "exercise/warning/city/sz.futian.shatou."])
        #expect(warnings.map(\.incident) == ["inc-1", "inc-2"])
    }

    // MARK: Cancel

    @Test func quietCloseAfterTwoHoursCancels() throws {
        var p = IncidentPipeline()
        let ws = p.feed(Self.gauge([2.6, 3.1]))
        try p.book.acknowledge(ws[1].id, by: M.futian, at: M.time(100))
        #expect(p.tick(M.time(60 + 7199)).isEmpty)
        let cancel = try requireFirst(p.tick(M.time(60 + 7200)))
        #expect(cancel.msgType == .cancel)
        #expect(cancel.references == ws.map(\.id))
        #expect(cancel.tier == .iii)
        #expect(cancel.level == .district)
        #expect(cancel.owner == M.futian)
        #expect(cancel.headline == "Cancelled: Flood warning III (yellow) in Shatou")
        #expect(cancel.instruction == "The incident is closed: no new events for 2 h.")
        #expect(p.book.latestWarnings.isEmpty)
        #expect(p.book.warning(cancel.id) == cancel)
        #expect(p.tick(M.time(100_000)).isEmpty)  // once
    }

    @Test func allClearCancelReferencesEverythingEarlier() throws {
        var p = IncidentPipeline()
        var ws = p.feed(M.event("a", "report.fire"))
        ws += p.tick(M.time(300))  // escalation to district
        ws += p.feed(M.event("b", "report.fire", at: 400, values: ["injured": 3]))  // II
        let cancel = try requireFirst(p.close("inc-1", at: M.time(500)))
        #expect(ws.count == 3)
        #expect(cancel.msgType == .cancel)
        #expect(cancel.references == ws.map(\.id))
        #expect(cancel.tier == .ii)
        #expect(cancel.level == .city)
        #expect(cancel.instruction == "All clear: the incident is closed.")
        #expect(cancel.sent == M.time(500))
        #expect(p.close("inc-1", at: M.time(600)).isEmpty)
        #expect(p.tick(M.time(100_000)).isEmpty)  // no escalation of a cancel
    }

    @Test func closedIncidentsAreForgottenAfterTheRetention() throws {
        var p = IncidentPipeline()
        let alert = try requireFirst(p.feed(M.event("a", "report.fire")))
        try p.book.acknowledge(alert.id, by: M.shatou, at: M.time(1))
        _ = p.close("inc-1", at: M.time(10))
        _ = p.tick(M.time(10 + 86_399))
        #expect(p.book.warning(alert.id) != nil)
        _ = p.tick(M.time(10 + 86_400))
        #expect(p.book.warning(alert.id) == nil)
        #expect(throws: WarningError(code: .unknownWarning, message: "unknown warning \"\(alert.id)\"")) {
            try p.book.acknowledge(alert.id, by: M.shatou, at: M.time(100_000))
        }
    }

    /// The rows dispatch stores (the header and one per thread, written by hand in the `Codable` form) restore
    /// the very same book: every field, the optional ones set (acknowledged, escalated, closed) or not.
    @Test func incrementalSnapshotsRestoreTheSameBook() throws {
        var p = IncidentPipeline()
        let first = try requireFirst(p.feed(M.event("a", "report.fire")))
        _ = p.tick(M.time(300))  // escalated to the district
        _ = p.feed(M.event("b", "report.fire", at: 400, values: ["injured": 3]))
        let far = GeoPoint(lat: M.here.lat + 0.2, lon: M.here.lon + 0.2)
        let other = try requireFirst(p.feed(M.event("c", "report.collapse", at: 450, far)))
        try p.book.acknowledge(other.id, by: M.futian, at: M.time(460))
        _ = p.close(first.incident, at: M.time(500))
        let ids = p.book.state.threads.map(\.incident.id)
        #expect(ids.count == 2)
        let rows = try ids.map { try #require(try p.book.threadSnapshot($0)) }
        let restored = try WarningBook(
            catalog: ShippedCatalog.catalog, header: try p.book.headerSnapshot(), threads: rows)
        #expect(restored.state == p.book.state)
        #expect(restored.state.threads.contains { $0.closedAt != nil && $0.escalatedLevel == .district })
        #expect(restored.state.threads.contains { $0.warnings.last?.acknowledgedBy == M.futian })
        #expect(restored.nextSeq == p.book.nextSeq)
    }

    // MARK: Sequence numbers and texts

    @Test func oneCounterNumbersTheFeed() throws {
        var p = IncidentPipeline()
        let a = try requireFirst(p.feed(M.event("a", "report.fire")))
        #expect(p.book.takeSeq() == 2)  // e.g. a task
        #expect(p.book.takeSeq() == 3)
        let b = try requireFirst(p.feed(M.event("b", "report.fire", at: 5, M.offset(M.here, east: 3000))))
        #expect(a.seq == 1)
        #expect(b.seq == 4)
        #expect(p.book.nextSeq == 5)
        #expect(b.id == "w-2")
    }

    @Test(arguments: [
        ("{event} {tier} {color} {area} {area_name}", "fire IV blue sz.futian.shatou Shatou"),
        ("no placeholders", "no placeholders"),
        ("{unknown} {tier}", "{unknown} IV"),
        ("{tier", "{tier"),
        ("}{tier}{", "}IV{"),
        ("{{tier}}", "{{tier}}"),
    ])
    func templates(template: String, expected: String) throws {
        let catalog = Catalog(
            types: [
                EventTypeSpec(
                    name: "report.fire", kind: .report, incident: "fire", values: [],
                    tiers: [.iv: [.count(atLeast: 1)]])
            ],
            incidents: [
                IncidentTypeSpec(
                    name: "fire", category: .accident, capCategories: [.fire], headline: template,
                    instruction: template)
            ])
        var p = IncidentPipeline(catalog: catalog)
        let w = try requireFirst(p.feed(M.event("a", "report.fire")))
        #expect(w.headline == expected)
        #expect(w.instruction == expected)
    }

    @Test func areaNameFallsBackToThePath() throws {
        let catalog = ShippedCatalog.catalog
        var engine = IncidentEngine(catalog: catalog)
        var book = WarningBook(catalog: catalog)
        let c = engine.apply(M.event("a", "report.fire"), seq: 1)
        let w = try requireFirst(book.incidentChanged(c[0], at: M.time(0)))
        #expect(w.headline == "Fire warning IV (blue) in sz.futian.shatou")
    }

    @Test func staleChangesAreIgnored() throws {
        var engine = IncidentEngine(catalog: ShippedCatalog.catalog)
        var book = WarningBook(catalog: ShippedCatalog.catalog, areas: ShippedCatalog.areas)
        let c1 = engine.apply(M.event("a", "report.fire"), seq: 1)[0]
        _ = engine.apply(M.event("b", "report.fire", at: 1), seq: 2)
        let c3 = engine.apply(M.event("c", "report.fire", at: 2), seq: 3)[0]
        #expect(book.incidentChanged(c1, at: M.time(0)).map(\.msgType) == [.alert])
        #expect(book.incidentChanged(c3, at: M.time(2)).map(\.tier) == [.iii])
        #expect(book.incidentChanged(c1, at: M.time(3)).isEmpty)  // re-delivered old change
    }
}
