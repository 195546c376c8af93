import Testing
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinTesting

/// Builders for hand-made logs: feed bodies shaped like PROTOCOL.md's Warning and Task.
enum Feed {
    static let start = Timestamp(rfc3339: "2026-09-16T00:00:00Z")!

    static func warning(
        _ id: String, incident: String = "inc-1", msgType: String = "alert", tier: String, event: String = "flood",
        area: String, level: String, owner: String, escalated: Bool = false, references: [String] = [],
        status: String = "exercise", at offset: Double, acknowledgedBy: String? = nil
    ) -> DrillRecord {
        var body: JSONObject = [
            "id": .string(id), "seq": 1, "incident": .string(incident), "msgType": .string(msgType),
            "references": .array(references.map { .string($0) }), "status": .string(status), "tier": .string(tier),
            "event": .string(event), "area": .string(area), "level": .string(level), "owner": .string(owner),
            "sent": .string(start.adding(seconds: offset).rfc3339),
            "evidence": ["events": 3, "first": .string(start.rfc3339), "last": .string(start.rfc3339), "sample": []],
            "escalated": .bool(escalated),
        ]
        if let acknowledgedBy { body["acknowledgedBy"] = .string(acknowledgedBy) }
        return .feed(offset: offset, topic: "\(status)/warning/\(level)/\(area).", body: .object(body))
    }

    static func task(
        _ step: String, incident: String = "inc-1", plan: String = "flood", state: String, level: String,
        owner: String, area: String = "sz.futian.shatou", due: Double, at offset: Double, by: String? = nil
    ) -> DrillRecord {
        var body: JSONObject = [
            "id": .string("t-\(incident)-\(step)"), "seq": 2, "plan": .string(plan), "incident": .string(incident),
            "step": .string(step), "action": "Do it", "level": .string(level), "owner": .string(owner),
            "area": .string(area), "due": .string(start.adding(seconds: due).rfc3339), "state": .string(state),
            "status": "exercise", "escalated": false,
        ]
        if let by { body["by"] = .string(by) }
        return .feed(offset: offset, topic: "exercise/task/\(level)/\(area).", body: .object(body))
    }

    static func ack(_ warning: String, by: String, at offset: Double, ok: Bool = true) -> DrillRecord {
        .action(
            offset: offset, description: "ack: \(by) acknowledges warning \(warning)",
            request: ["op": "ack", "warning": .string(warning), "by": .string(by)],
            reply: ok ? ["ok": true] : ["ok": false, "error": .string("warning \(warning) is superseded by w-9")])
    }
}

enum EvalScenario {
    static let text = """
    name: Evaluation drill
    purpose: Hand-built logs.
    objectives: [Check every expectation kind]
    start: 2026-09-16T08:00:00+08:00
    duration: 2h
    injects:
      - name: Gauge
        at: 10m
        from: sz.futian.shatou
        type: water_level
        values: {level_m: 3.1}
    actions:
      - id: futian-acks
        after: {warning: {event: flood, tier_at_least: III, area: sz.futian}}
        delay: 4m
        do: ack
      - id: city-takes-step
        after: {task: {plan: flood, step: district_command}}
        delay: 2m
        do: acknowledge
        by: sz
      - id: street-works
        after: {task: {plan: flood, level: street, except_steps: [propose_all_clear]}}
        delay: 1m
        do: done
        each: true
      - id: all-clear
        after: {warning: {event: flood, area: sz.futian}}
        delay: 1h
        do: close
    expectations:
      - id: e-warn
        warning: {event: flood, tier_at_least: III, area: sz.futian}
        by: 1h
      - id: e-ack
        acknowledged: {event: flood, area: sz.futian, level: district}
        by: 1h
      - id: e-task
        task: {plan: flood, step: district_command}
        by: 1h30m
      - id: e-done
        task: {plan: flood, step: district_command, state: done}
        by: 1h30m
      - id: e-none
        no_warning: {area: sz.nanshan}
      - id: e-fence
        no_actual: true
    contingencies:
      - expectation: e-ack
        name: Cars in the underpass
        injects:
          - from: sz.futian.shatou
            type: report.traffic_accident
            values: {vehicles: 2}
            burst: {count: 3, over: 5m, radius_m: 50, seed: 3}
    """

    static func load() throws -> Scenario {
        let c = Fixtures.shippedConfig
        return try ScenarioLoader.load(text: text, name: "eval.yaml", catalog: c.catalog, areas: c.areas, plans: c.plans)
    }

    /// Everything goes right.
    static func goodLog(_ s: Scenario) -> DrillLog {
        DrillLog(scenario: s, records: [
            .injected(offset: 600, s.expandedInjects()[0], reply: "accepted"),
            Feed.warning("w-1", tier: "IV", area: "sz.futian.shatou", level: "street", owner: "sz.futian.shatou", at: 600),
            Feed.warning("w-2", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "district",
                         owner: "sz.futian", references: ["w-1"], at: 1200),
            Feed.task("district_command", state: "ready", level: "district", owner: "sz.futian", due: 3000, at: 1200),
            Feed.ack("w-2", by: "sz.futian", at: 1440),
            Feed.task("district_command", state: "acknowledged", level: "district", owner: "sz.futian", due: 3000,
                      at: 1800, by: "sz.futian"),
            Feed.task("district_command", state: "done", level: "district", owner: "sz.futian", due: 3000, at: 2700,
                      by: "sz.futian"),
        ])
    }

    /// Everything goes wrong: late warning, no acknowledgement, a warning in Nanshan, a leak onto actual/.
    static func badLog(_ s: Scenario) -> DrillLog {
        DrillLog(scenario: s, records: [
            .injected(offset: 600, s.expandedInjects()[0], reply: "rejected: values.level_m: required"),
            Feed.warning("w-1", tier: "IV", area: "sz.futian.shatou", level: "street", owner: "sz.futian.shatou", at: 600),
            Feed.warning("w-7", incident: "inc-7", tier: "IV", area: "sz.nanshan.yuehai", level: "street",
                         owner: "sz.nanshan.yuehai", at: 1500),
            Feed.warning("w-8", incident: "inc-8", tier: "IV", area: "sz.luohu.dongmen", level: "street",
                         owner: "sz.luohu.dongmen", status: "actual", at: 1600),
            .contingency(offset: 3600, expectationID: "e-ack"),
            Feed.warning("w-2", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "district",
                         owner: "sz.futian", references: ["w-1"], at: 4200),
            Feed.task("district_command", state: "ready", level: "district", owner: "sz.futian", due: 5000, at: 4200),
            Feed.task("district_command", state: "overdue", level: "city", owner: "sz", due: 5000, at: 5000),
            Feed.warning("w-3", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "city", owner: "sz",
                         escalated: true, references: ["w-1", "w-2"], at: 4800),
            Feed.ack("w-2", by: "sz.futian", at: 4900, ok: false),
        ])
    }
}

@Suite struct EvaluationTests {
    @Test func everyKindMet() throws {
        let s = try EvalScenario.load()
        let results = s.evaluate(EvalScenario.goodLog(s))
        #expect(results.map(\.id) == ["e-warn", "e-ack", "e-task", "e-done", "e-none", "e-fence"])
        #expect(results.allSatisfy { $0.met }, "\(results.filter { !$0.met })")
        #expect(results.map(\.at) == [1200, 1440, 1800, 2700, nil, nil])
        #expect(results.map(\.deadline) == [3600, 3600, 5400, 5400, 7200, 7200])
        #expect(results[0].evidence == "w-2 (flood III, owner sz.futian) at 08:20, 40 min before the deadline")
        #expect(results[1].evidence == "w-2 (flood III, owner sz.futian) acknowledged by sz.futian at 08:24, 4 min after it was issued")
        #expect(results[2].evidence == "t-inc-1-district_command acknowledged by sz.futian at 08:30, due 08:50")
        #expect(results[4].evidence == "no matching warning until 10:00 (2 warnings elsewhere)")
        #expect(results[5].evidence == "none of the 5 feed messages until 10:00 was under actual/")
    }

    @Test func everyKindMissed() throws {
        let s = try EvalScenario.load()
        let results = s.evaluate(EvalScenario.badLog(s))
        #expect(results.allSatisfy { !$0.met }, "\(results.filter(\.met))")
        #expect(results.allSatisfy { $0.at == nil })
        #expect(results[0].evidence == "no matching warning by 09:00; w-2 (flood III, owner sz.futian) came at 09:10, 10 min late")
        #expect(results[1].evidence == "no matching warning was issued by 09:00")
        #expect(results[2].evidence == "t-inc-1-district_command was ready at 09:10 but not acknowledged by 09:30 (state then: overdue)")
        #expect(results[4].evidence == "w-7 (flood IV, owner sz.nanshan.yuehai) in sz.nanshan.yuehai at 08:25")
        #expect(results[5].evidence == "actual/warning/street/sz.luohu.dongmen. (w-8) at 08:26:40")
    }

    @Test func acknowledgementFromTheFeedCountsAndNotByAnotherLevel() throws {
        let s = try EvalScenario.load()
        var log = DrillLog(scenario: s)
        log.append(Feed.warning("w-2", tier: "III", area: "sz.futian.shatou", level: "district", owner: "sz.futian", at: 1200))
        log.append(Feed.warning("w-3", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "city", owner: "sz",
                                escalated: true, references: ["w-2"], at: 1800))
        log.append(Feed.ack("w-3", by: "sz", at: 2000))
        var result = s.evaluate(log)[1]
        #expect(!result.met)
        #expect(result.evidence == "w-2 (flood III, owner sz.futian, issued 08:20) not acknowledged by 09:00; escalated to sz as w-3 at 08:30")
        log.append(Feed.warning("w-2", tier: "III", area: "sz.futian.shatou", level: "district", owner: "sz.futian",
                                at: 2400, acknowledgedBy: "sz.futian"))
        result = s.evaluate(log)[1]
        #expect(result.met)
        #expect(result.at == 2400)
    }

    @Test func missedExpectationsBeforeAndAfterDeadlines() throws {
        let s = try EvalScenario.load()
        let bad = EvalScenario.badLog(s)
        #expect(s.missedExpectations(in: bad, at: 3599).isEmpty)
        #expect(s.missedExpectations(in: bad, at: 3600) == ["e-warn", "e-ack"])
        #expect(s.missedExpectations(in: bad, at: 5400) == ["e-warn", "e-ack", "e-task", "e-done"])
        #expect(s.missedExpectations(in: bad, at: 7200) == ["e-warn", "e-ack", "e-task", "e-done", "e-none", "e-fence"])
        let good = EvalScenario.goodLog(s)
        #expect(s.missedExpectations(in: good, at: 7200).isEmpty)
        // A met expectation stays met when more happens after its deadline.
        var later = good
        later.append(Feed.warning("w-9", incident: "inc-9", tier: "IV", area: "sz.nanshan.shekou", level: "street",
                                  owner: "sz.nanshan.shekou", at: 7300))
        #expect(s.missedExpectations(in: later, at: 7300).isEmpty)
        // The contingency of a missed expectation: its injects, at or after the deadline.
        let extra = s.contingencyInjects(for: "e-ack")
        #expect(extra.count == 3)
        #expect(extra.allSatisfy { $0.offset >= 3600 && $0.offset <= 3900 && $0.id.hasPrefix("eval-c1-1-") })
        #expect(s.contingencyInjects(for: "e-warn").isEmpty)
    }

    @Test func actionsFireOnceWithDelayAndDefaults() throws {
        let s = try EvalScenario.load()
        var fired = Set<String>()
        func run(_ record: DrillRecord) -> [(offset: Double, actionID: String, request: JSONValue)] {
            guard case .feed(let offset, let topic, let body) = record else { return [] }
            return s.actionsTriggered(by: topic, body: body, at: offset, alreadyFired: &fired)
        }
        // A blue warning: only the all-clear (any flood warning for Futian) fires, an hour later, by the owner.
        var due = run(Feed.warning("w-1", tier: "IV", area: "sz.futian.shatou", level: "street",
                                   owner: "sz.futian.shatou", at: 600))
        #expect(due.map(\.actionID) == ["all-clear"])
        #expect(due[0].offset == 4200)
        #expect(due[0].request == ["op": "close", "incident": "inc-1", "by": "sz.futian.shatou"])
        // Tier III: the ack, 4 minutes later, by the warning's owner.
        due = run(Feed.warning("w-2", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "district",
                               owner: "sz.futian", at: 1200))
        #expect(due.count == 1)
        #expect(due[0].offset == 1440)
        #expect(due[0].actionID == "futian-acks")
        #expect(due[0].request == ["op": "ack", "warning": "w-2", "by": "sz.futian"])
        // Once only.
        #expect(run(Feed.warning("w-3", msgType: "update", tier: "II", area: "sz.futian.shatou", level: "city",
                                 owner: "sz", at: 1300)).isEmpty)
        #expect(fired == ["all-clear", "futian-acks"])
        // Task actions: `by` given explicitly; a trigger waits for `ready`.
        #expect(run(Feed.task("district_command", state: "acknowledged", level: "district", owner: "sz.futian",
                              due: 3000, at: 1250)).isEmpty)
        due = run(Feed.task("district_command", state: "ready", level: "district", owner: "sz.futian", due: 3000, at: 1260))
        #expect(due.count == 1)
        #expect(due[0].offset == 1380)
        #expect(due[0].request == ["op": "step", "task": "t-inc-1-district_command", "by": "sz", "state": "acknowledged"])
        // `each: true`: once per matching task, never for an excluded step.
        due = run(Feed.task("verify_site", state: "ready", level: "street", owner: "sz.futian.shatou", due: 1500, at: 700))
        #expect(due.map(\.request) == [["op": "step", "task": "t-inc-1-verify_site", "by": "sz.futian.shatou", "state": "done"]])
        #expect(due[0].offset == 760)
        #expect(run(Feed.task("verify_site", state: "ready", level: "street", owner: "sz.futian.shatou", due: 1500, at: 710)).isEmpty)
        #expect(run(Feed.task("drainage", state: "ready", level: "street", owner: "sz.futian.shatou", due: 1500, at: 720)).count == 1)
        #expect(run(Feed.task("propose_all_clear", state: "ready", level: "street", owner: "sz.futian.shatou", due: 9000, at: 720)).isEmpty)
        #expect(fired.contains("street-works@t-inc-1-verify_site") && fired.contains("street-works@t-inc-1-drainage"))
    }

    @Test func cancelsAndAcknowledgedWarningsTriggerNothing() throws {
        let s = try EvalScenario.load()
        var fired = Set<String>()
        for record in [
            Feed.warning("w-5", msgType: "cancel", tier: "III", area: "sz.futian.shatou", level: "district", owner: "sz.futian", at: 100),
            Feed.warning("w-6", tier: "III", area: "sz.futian.shatou", level: "district", owner: "sz.futian", at: 200,
                         acknowledgedBy: "sz.futian"),
        ] {
            guard case .feed(let offset, let topic, let body) = record else { continue }
            let due = s.actionsTriggered(by: topic, body: body, at: offset, alreadyFired: &fired)
            #expect(due.allSatisfy { $0.actionID == "all-clear" })
        }
        #expect(!fired.contains("futian-acks"))
    }

    @Test func resolvedAcknowledgesTheLatestWarningItsSenderOwns() throws {
        let s = try EvalScenario.load()
        var log = DrillLog(scenario: s)
        log.append(Feed.warning("w-1", tier: "IV", area: "sz.futian.shatou", level: "street", owner: "sz.futian.shatou", at: 600))
        log.append(Feed.warning("w-2", msgType: "update", tier: "III", area: "sz.futian.shatou", level: "district",
                                owner: "sz.futian", at: 700))
        // The district acknowledging w-1 (superseded) acknowledges w-2, which it owns.
        #expect(log.resolved(["op": "ack", "warning": "w-1", "by": "sz.futian"])
                == ["op": "ack", "warning": "w-2", "by": "sz.futian"])
        // The street does not own w-2: its late acknowledgement of w-1 stays as it was (and will be refused).
        #expect(log.resolved(["op": "ack", "warning": "w-1", "by": "sz.futian.shatou"])
                == ["op": "ack", "warning": "w-1", "by": "sz.futian.shatou"])
        let step: JSONValue = ["op": "step", "task": "t-1", "by": "sz", "state": "done"]
        #expect(log.resolved(step) == step)
        #expect(s.describeAction("futian-acks", request: ["op": "ack", "warning": "w-2", "by": "sz.futian"])
                == "futian-acks: sz.futian acknowledges warning w-2")
        #expect(s.describeAction("x", request: step) == "x: sz marks task t-1 done")
    }
}

@Suite struct ReportTests {
    /// The overdue example of the issue: a street task not done by its due time passes to the district.
    static func overdueLog(_ s: Scenario) -> DrillLog {
        var log = EvalScenario.goodLog(s)
        log.append(Feed.task("cordon", incident: "inc-3", state: "ready", level: "street", owner: "sz.futian.shatou",
                             due: 1800, at: 600))
        log.append(Feed.task("cordon", incident: "inc-3", state: "overdue", level: "district", owner: "sz.futian",
                             due: 1800, at: 1800))
        log.append(Feed.task("cordon", incident: "inc-3", state: "done", level: "district", owner: "sz.futian",
                             due: 1800, at: 2160, by: "sz.futian"))
        return log
    }

    @Test func deterministicWithEverySection() throws {
        let s = try EvalScenario.load()
        for log in [EvalScenario.goodLog(s), EvalScenario.badLog(s), Self.overdueLog(s)] {
            let results = s.evaluate(log)
            let markdown = DrillReport.markdown(log, results: results)
            #expect(markdown == DrillReport.markdown(log, results: s.evaluate(log)))
            #expect(DrillReport.json(log, results: results) == DrillReport.json(log, results: results))
            for section in ["## Timeline", "## Expectations", "## Key times", "## Strengths", "## Areas for improvement"] {
                #expect(markdown.contains("\n\(section)\n"), "\(section)")
            }
            let json = try JSONValue.parse(DrillReport.json(log, results: results))
            for key in ["scenario", "summary", "timeline", "expectations", "keyTimes", "strengths", "improvements"] {
                #expect(json[key] != nil, "\(key)")
            }
        }
    }

    @Test func findingsCarryTheirEvidence() throws {
        let s = try EvalScenario.load()
        let good = Self.overdueLog(s)
        let markdown = DrillReport.markdown(good, results: s.evaluate(good))
        #expect(markdown.contains("- Task t-inc-3-cordon overdue by 6 min, escalated to sz.futian (due 08:30, done at 08:36)"))
        #expect(markdown.contains("- Met: A flood warning at tier III or higher for sz.futian by 09:00 (w-2 (flood III, owner sz.futian) at 08:20, 40 min before the deadline)"))
        #expect(markdown.contains("| `e-warn` A flood warning at tier III or higher for sz.futian by 09:00 | met | 08:20 (T+00:20:00) | 09:00 |"))
        #expect(markdown.contains("| inc-1 | flood | sz.futian.shatou | 08:00 | 08:10 (w-1) | 08:20 (w-2) | - | - | sz.futian (district) | - |"))
        #expect(markdown.contains("| w-2 | sz.futian | 08:20 | 08:24 | sz.futian | 4 min |"))

        let bad = EvalScenario.badLog(s)
        let report = DrillReport.markdown(bad, results: s.evaluate(bad))
        #expect(report.contains("- Missed: A flood warning at tier III or higher for sz.futian by 09:00 (no matching warning by 09:00; w-2"))
        #expect(report.contains("- Warning w-2 (flood III for sz.futian.shatou) was not acknowledged by sz.futian in time; escalated to sz (w-3 at 09:20)"))
        #expect(report.contains("- Responder action refused: ack: sz.futian acknowledges warning w-2 (warning w-2 is superseded by w-9 at 09:21:40)"))
        #expect(report.contains("- Contingency \"Cars in the underpass\" was needed because expectation e-ack was missed (fired at 09:00 with 3 events)"))
        #expect(report.contains("1 injected event was not accepted (1 rejected, 0 duplicate)"))
        #expect(report.contains("| 09:00:00 | T+01:00:00 | contingency | expectation e-ack missed: contingency \"Cars in the underpass\" fires (3 events) |"))
        #expect(report.contains("[ACTUAL]"))
    }

    @Test func jsonReportMirrorsTheResults() throws {
        let s = try EvalScenario.load()
        let log = EvalScenario.goodLog(s)
        let json = try JSONValue.parse(DrillReport.json(log, results: s.evaluate(log)))
        #expect(json["scenario"]?["start"] == "2026-09-16T08:00:00+08:00")
        #expect(json["summary"]?["expectations"] == ["met": 6, "missed": 0])
        let first = try #require(json["expectations"]?.arrayValue?.first)
        #expect(first == ["id": "e-warn", "description": "A flood warning at tier III or higher for sz.futian by 09:00",
                          "met": true, "at": 1200, "deadline": 3600,
                          "evidence": "w-2 (flood III, owner sz.futian) at 08:20, 40 min before the deadline"])
        let ack = try #require(json["keyTimes"]?["acknowledgements"]?.arrayValue?.first)
        #expect(ack["delay"] == 240)
        #expect(json["timeline"]?.arrayValue?.first?["time"] == "2026-09-16T08:10:00+08:00")
    }
}

@Suite struct ExpansionTests {
    static let text = """
    name: Generators
    start: 2026-09-16T08:00:00+08:00
    duration: 2h
    injects:
      - name: Gauge rising
        at: 10m
        from: sz.futian.shatou
        type: water_level
        series: {value: level_m, from: 2.0, to: 4.3, over: 40m, every: 2m}
      - name: Callers
        at: 20m
        from: sz.futian.futian
        type: report.fire
        location: {lat: 22.5340, lon: 114.0650}
        values: {injured: {min: 0, max: 2}}
        text: [Smoke on the 3rd floor, Flames from a window]
        burst: {count: 25, over: 10m, radius_m: 200, seed: SEED}
    """

    static func load(seed: Int = 7) throws -> Scenario {
        let c = Fixtures.shippedConfig
        return try ScenarioLoader.load(
            text: text.replacingOccurrences(of: "SEED", with: "\(seed)"), name: "gen.yaml", catalog: c.catalog,
            areas: c.areas)
    }

    @Test func seriesRisesLinearly() throws {
        let events = try Self.load().expandedInjects().filter { $0.type == "water_level" }
        #expect(events.count == 21)
        #expect(events.map(\.offset) == (0...20).map { 600 + Double($0) * 120 })
        let levels = try events.map { try #require(JSONValue.parse($0.json)["values"]?["level_m"]?.numberValue) }
        #expect(levels.first == 2.0 && levels.last == 4.3)
        #expect(levels[10] == 3.15)
        #expect(levels == levels.sorted())
        #expect(events.map(\.id) == (1...21).map { "gen-1-\($0)" })
        #expect(events.allSatisfy { $0.label == "Gauge rising" && $0.source == "sz.futian.shatou" })
    }

    @Test func burstIsScatteredAndSeeded() throws {
        let s = try Self.load()
        let burst = s.expandedInjects().filter { $0.type == "report.fire" }
        #expect(burst.count == 25)
        #expect(burst.map(\.offset) == burst.map(\.offset).sorted())
        let centre = GeoPoint(lat: 22.5340, lon: 114.0650)
        var texts = Set<String>()
        for e in burst {
            #expect(e.offset >= 1200 && e.offset <= 1800 && e.offset == e.offset.rounded())
            let json = try JSONValue.parse(e.json)
            let p = GeoPoint(lat: json["location"]?["lat"]?.numberValue ?? 0, lon: json["location"]?["lon"]?.numberValue ?? 0)
            #expect(p.distance(to: centre) <= 201)
            let injured = try #require(json["values"]?["injured"]?.numberValue)
            #expect([0, 1, 2].contains(injured))
            texts.insert(json["text"]?.stringValue ?? "")
            #expect(json["status"] == "exercise")
        }
        #expect(texts == ["Smoke on the 3rd floor", "Flames from a window"])
        #expect(Set(burst.map(\.offset)).count > 10)
        #expect(try Self.load(seed: 7).expandedInjects() == s.expandedInjects())
        #expect(try Self.load(seed: 8).expandedInjects().filter { $0.type == "report.fire" } != burst)
    }

    @Test func injectsInterleaveByTime() throws {
        let events = try Self.load().expandedInjects()
        #expect(events.count == 46)
        #expect(events.map(\.offset) == events.map(\.offset).sorted())
        #expect(Set(events.map(\.id)).count == 46)
        #expect(try Self.load().eventCount == (46, 0))
    }
}
