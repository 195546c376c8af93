import Testing
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinTesting

/// A small, complete scenario; each broken case changes one thing in it.
enum BaseScenario {
    static let text = """
    name: Test drill
    purpose: Check the loader.
    start: 2026-09-16T08:00:00+08:00
    duration: 2h
    injects:
      - name: Gauge
        at: 10m
        from: sz.futian.shatou
        type: water_level
        values: {level_m: 2.1}
      - name: Rising gauge
        at: "08:20"
        from: sz.futian.xiangmihu
        type: water_level
        series: {value: level_m, from: 2.0, to: 4.3, over: 40m, every: 2m}
      - name: Callers
        at: 30m
        from: sz.futian.futian
        type: report.fire
        burst: {count: 5, over: 10m, radius_m: 100, seed: 7}
    actions:
      - id: futian-acks
        after: {warning: {event: flood, tier_at_least: III, area: sz.futian}}
        delay: 4m
        do: ack
    expectations:
      - id: flood-warning
        warning: {event: flood, tier_at_least: III, area: sz.futian}
        by: 1h
      - id: report-ack
        task: {plan: flood, step: report_district}
        by: "09:30"
    contingencies:
      - expectation: flood-warning
        injects:
          - from: sz.futian.lianhua
            type: report.traffic_accident
            values: {vehicles: 2}
    """

    static func load(_ text: String = text) throws(ScenarioError) -> Scenario {
        let config = Fixtures.shippedConfig
        return try ScenarioLoader.load(
            text: text, name: "test.yaml", catalog: config.catalog, areas: config.areas, plans: config.plans)
    }
}

struct BrokenScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var from: String
    var to: String
    var line: Int
    var key: String
    var message: String
    var testDescription: String { name }
}

@Suite struct BrokenScenarioTests {
    static let cases: [BrokenScenario] = [
        .init(name: "unknown platform", from: "from: sz.futian.shatou", to: "from: sz.futian.nowhere",
              line: 8, key: "injects[0].from", message: "sz.futian.nowhere is not a registered platform"),
        .init(name: "platform path not an area path", from: "from: sz.futian.shatou", to: "from: Futian",
              line: 8, key: "injects[0].from", message: "\"Futian\" is not an area path"),
        .init(name: "unknown event type", from: "type: report.fire", to: "type: report.fir",
              line: 19, key: "injects[2].type", message: "unknown event type \"report.fir\""),
        .init(name: "unknown value name", from: "{level_m: 2.1}", to: "{levle_m: 2.1}",
              line: 10, key: "injects[0].values.levle_m", message: "unknown value \"levle_m\" for water_level"),
        .init(name: "missing value", from: "    values: {level_m: 2.1}\n", to: "",
              line: 6, key: "injects[0].values", message: "missing value \"level_m\" for water_level"),
        .init(name: "value not a number", from: "{level_m: 2.1}", to: "{level_m: high}",
              line: 10, key: "injects[0].values.level_m", message: "expected a number, got \"high\""),
        .init(name: "tier V", from: "warning: {event: flood, tier_at_least: III", to: "warning: {event: flood, tier_at_least: V",
              line: 28, key: "expectations[0].warning.tier_at_least", message: "unknown tier \"V\""),
        .init(name: "bad duration", from: "duration: 2h", to: "duration: two hours",
              line: 4, key: "duration", message: "expected a duration such as 30s, 5m, 1h30m or 2h, got \"two hours\""),
        .init(name: "zero duration", from: "duration: 2h", to: "duration: 0s",
              line: 4, key: "duration", message: "must be longer than 0s"),
        .init(name: "bad start", from: "start: 2026-09-16T08:00:00+08:00", to: "start: 2026-09-16 08:00",
              line: 3, key: "start", message: "expected an RFC 3339 time with a zone"),
        .init(name: "series without to", from: "to: 4.3, ", to: "",
              line: 15, key: "injects[1].series.to", message: "missing required key \"to\""),
        .init(name: "series past the end", from: "over: 40m, every", to: "over: 2h, every",
              line: 15, key: "injects[1].series.over", message: "the series ends at T+02:20:00, beyond the scenario's duration (2h)"),
        .init(name: "series of an unknown value", from: "value: level_m,", to: "value: level_cm,",
              line: 15, key: "injects[1].series.value", message: "unknown value \"level_cm\" for water_level"),
        .init(name: "burst with count 0", from: "count: 5", to: "count: 0",
              line: 20, key: "injects[2].burst.count", message: "must be at least 1"),
        .init(name: "series and burst", from: "burst: {count: 5", to: "series: {value: injured, from: 0, to: 1, over: 5m, every: 1m}\n    burst: {count: 5",
              line: 21, key: "injects[2].burst", message: "an inject is a series or a burst, not both"),
        .init(name: "offset beyond duration", from: "at: 30m", to: "at: 3h",
              line: 17, key: "injects[2].at", message: "\"3h\" (T+03:00:00) is beyond the scenario's duration (2h)"),
        .init(name: "clock time before the start", from: "at: \"08:20\"", to: "at: \"07:20\"",
              line: 12, key: "injects[1].at", message: "\"07:20\" is before the scenario start"),
        .init(name: "area outside the platform", from: "from: sz.futian.futian", to: "from: sz.futian.futian\n    area: sz.nanshan.yuehai",
              line: 19, key: "injects[2].area", message: "sz.nanshan.yuehai is not within the platform sz.futian.futian"),
        .init(name: "latitude out of range", from: "- from: sz.futian.lianhua\n", to: "- from: sz.futian.lianhua\n        location: {lat: 122.5, lon: 114.05}\n",
              line: 37, key: "contingencies[0].injects[0].location.lat", message: "122.5 is out of range [-90, 90]"),
        .init(name: "expectation on an unknown incident type", from: "warning: {event: flood, tier", to: "warning: {event: flod, tier",
              line: 28, key: "expectations[0].warning.event", message: "unknown incident type \"flod\""),
        .init(name: "expectation without a deadline", from: "    by: 1h\n", to: "",
              line: 27, key: "expectations[0].by", message: "missing required key \"by\""),
        .init(name: "expectation of no kind", from: "    warning: {event: flood, tier_at_least: III, area: sz.futian}\n    by: 1h", to: "    by: 1h",
              line: 27, key: "expectations[0]", message: "an expectation needs one of: warning, acknowledged, task, no_warning, no_actual"),
        .init(name: "unknown plan step", from: "step: report_district", to: "step: report_distric",
              line: 31, key: "expectations[1].task.step", message: "unknown step \"report_distric\" in the flood plan"),
        .init(name: "unknown task state", from: "step: report_district}", to: "step: report_district, state: finished}",
              line: 31, key: "expectations[1].task.state", message: "unknown state \"finished\" (expected acknowledged, done)"),
        .init(name: "action with unknown do", from: "do: ack", to: "do: call",
              line: 25, key: "actions[0].do", message: "unknown action \"call\" (expected ack, acknowledge, done or close)"),
        .init(name: "action verb for the wrong trigger", from: "do: ack", to: "do: done",
              line: 25, key: "actions[0].do", message: "\"done\" acts on a plan step: its trigger must be after: {task: ...}"),
        .init(name: "action by an unknown area", from: "    do: ack\n", to: "    do: ack\n    by: sz.gotham\n",
              line: 26, key: "actions[0].by", message: "sz.gotham is not a registered area"),
        .init(name: "contingency naming an unknown expectation", from: "expectation: flood-warning", to: "expectation: flood-warn",
              line: 34, key: "contingencies[0].expectation", message: "unknown expectation \"flood-warn\" (the scenario has: flood-warning, report-ack)"),
        .init(name: "contingency inject before the deadline", from: "      - from: sz.futian.lianhua", to: "      - at: 30m\n        from: sz.futian.lianhua",
              line: 36, key: "contingencies[0].injects[0].at", message: "T+00:30:00 is before the deadline of expectation \"flood-warning\" (T+01:00:00)"),
        .init(name: "unknown key", from: "purpose:", to: "purpse:",
              line: 2, key: "purpse", message: "unknown key (expected one of:"),
        .init(name: "status is not the scenario's to choose", from: "    values: {level_m: 2.1}\n", to: "    values: {level_m: 2.1}\n    status: actual\n",
              line: 11, key: "injects[0].status", message: "unknown key"),
        .init(name: "duplicate expectation id", from: "  - id: report-ack", to: "  - id: flood-warning",
              line: 30, key: "expectations[1].id", message: "duplicate expectation id \"flood-warning\" (first at line 27)"),
        .init(name: "YAML syntax", from: "duration: 2h", to: "duration: [2h",
              line: 5, key: "", message: "YAML syntax"),
    ]

    @Test(arguments: cases)
    func reportsFileLineKeyAndMessage(_ c: BrokenScenario) throws {
        #expect(BaseScenario.text.contains(c.from), "case \(c.name) does not apply")
        let text = BaseScenario.text.replacingOccurrences(of: c.from, with: c.to)
        let error = try #require(throws: ScenarioError.self) { try BaseScenario.load(text) }
        let match = error.problems.first { $0.key == c.key && $0.message.contains(c.message) }
        #expect(match != nil, "got: \(error.problems.map(\.description))")
        #expect(match?.line == c.line, "got: \(error.problems.map(\.description))")
        #expect(match?.file == "test.yaml")
    }

    @Test func baseLoads() throws {
        let s = try BaseScenario.load()
        #expect(s.name == "Test drill")
        #expect(s.slug == "test")
        #expect(s.duration == 7200)
        #expect(s.step == 30)
        #expect(s.start == Timestamp(rfc3339: "2026-09-16T00:00:00Z"))
        #expect(s.utcOffset == 8 * 3600)
        #expect(s.injects.map(\.at) == [600, 1200, 1800])
        #expect(s.injects[0].location == GeoPoint(lat: 22.5277, lon: 114.025))  // the street's centre
        #expect(s.expectations.map(\.deadline) == [3600, 5400])
        #expect(s.expectations[0].description == "A flood warning at tier III or higher for sz.futian by 09:00")
        #expect(s.contingencies[0].injects[0].at == 3600)  // defaults to the expectation's deadline
        #expect(s.actions[0].delay == 240)
    }

    @Test func reportsEveryProblemAtOnce() throws {
        let text = BaseScenario.text
            .replacingOccurrences(of: "type: report.fire", with: "type: report.fir")
            .replacingOccurrences(of: "count: 5", with: "count: 0")
            .replacingOccurrences(of: "do: ack", with: "do: call")
        let error = try #require(throws: ScenarioError.self) { try BaseScenario.load(text) }
        #expect(Set(error.problems.map(\.key)).isSuperset(of: ["injects[2].type", "injects[2].burst.count", "actions[0].do"]))
        #expect(error.description.contains("test.yaml:19:"))
    }

    @Test func missingFileIsReported() throws {
        let config = Fixtures.shippedConfig
        let error = try #require(throws: ScenarioError.self) {
            try ScenarioLoader.load(path: "/nonexistent/drill.yaml", catalog: config.catalog, areas: config.areas)
        }
        #expect(error.problems.map(\.message) == ["cannot read file"])
    }

    @Test func scenarioTimes() throws {
        // Offsets, clock times and RFC 3339 times all name moments of the scenario.
        for (written, offset) in [("90", 90.0), ("1h30m", 5400), ("+45m", 2700), ("\"09:15\"", 4500),
                                  ("\"08:00:30\"", 30), ("2026-09-16T01:05:00Z", 3900), ("1.5h", 5400)] {
            let text = BaseScenario.text.replacingOccurrences(of: "at: 10m", with: "at: \(written)")
            #expect(try BaseScenario.load(text).injects[0].at == offset, "\(written)")
        }
        #expect(ScenarioLoader.slug(of: "Scenarios/Typhoon Landfall.yaml") == "typhoon-landfall")
    }
}
