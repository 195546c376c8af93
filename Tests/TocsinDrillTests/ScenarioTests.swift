import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinTesting

/// The scenarios shipped in `Scenarios/`.
let shippedScenarios = [
    "typhoon", "urban-flash-flood", "crowd-crush", "hazmat-leak", "highrise-fire", "landslide",
    "missed-acknowledgement",
]

func loadShipped(_ name: String) throws -> Scenario {
    let config = Fixtures.shippedConfig
    return try ScenarioLoader.load(
        path: Fixtures.scenariosPath + "/\(name).yaml", catalog: config.catalog, areas: config.areas,
        plans: config.plans)
}

@Suite struct ShippedScenarioTests {
    @Test func everyScenarioFileIsListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.scenariosPath)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        #expect(Set(files) == Set(shippedScenarios))
        #expect(files.count >= 7)
    }

    @Test(arguments: shippedScenarios)
    func loadsAndExpandsDeterministically(_ name: String) throws {
        let config = Fixtures.shippedConfig
        // Also without plans: the plans only add checks of step ids.
        _ = try ScenarioLoader.load(
            path: Fixtures.scenariosPath + "/\(name).yaml", catalog: config.catalog, areas: config.areas)
        let scenario = try loadShipped(name)
        #expect(scenario.slug == name)
        #expect(scenario.duration >= 3600 && scenario.duration <= 6 * 3600)
        #expect(!scenario.purpose.isEmpty && !scenario.objectives.isEmpty)
        #expect(scenario.expectations.count >= 5)

        let events = scenario.expandedInjects()
        #expect(events == scenario.expandedInjects())
        #expect(events.count >= 20 && events.count <= 400, "\(events.count) events")
        #expect(events.map(\.offset) == events.map(\.offset).sorted())

        var all = events
        for c in scenario.contingencies {
            let extra = scenario.contingencyInjects(for: c.expectation)
            #expect(!extra.isEmpty)
            #expect(extra == scenario.contingencyInjects(for: c.expectation))
            let deadline = try #require(scenario.expectation(c.expectation)).deadline
            #expect(extra.allSatisfy { $0.offset >= deadline })
            all += extra
        }
        #expect(Set(all.map(\.id)).count == all.count, "event ids are unique")

        let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: .infinity)
        let now = scenario.time(at: scenario.duration)
        for e in all {
            #expect(e.offset >= 0 && e.offset <= scenario.duration, "\(e.id) at \(e.offset)")
            #expect(e.id.hasPrefix(name + "-"))
            let event = try decoder.decode(e.json, now: now).get()
            #expect(event.status == .exercise)
            #expect(event.id == e.id)
            #expect(event.source.rawValue == e.source)
            #expect(event.type == e.type)
            #expect(event.time == scenario.time(at: e.offset))
            #expect(e.label != nil)
            #expect(try JSONValue.parse(e.json)["status"] == "exercise")
        }
    }

    /// Replays every shipped scenario through TocsinCore's engines (`ReferenceReplay`): each meets all its
    /// expectations, except `missed-acknowledgement`, which misses exactly one and fires its contingency.
    @Test(arguments: shippedScenarios)
    func replaysAsDesigned(_ name: String) throws {
        let scenario = try loadShipped(name)
        let log = ReferenceReplay.run(scenario, config: Fixtures.shippedConfig)
        let results = scenario.evaluate(log)
        let missed = results.filter { !$0.met }.map(\.id)
        let fired = log.records.compactMap { r -> String? in
            if case .contingency(_, let id) = r { return id }
            return nil
        }
        if name == "missed-acknowledgement" {
            #expect(missed == ["baoan-acknowledges"], "\(results.filter { !$0.met })")
            #expect(fired == ["baoan-acknowledges"])
            let injected = log.records.filter {
                if case .injected(_, let e, _) = $0 { return e.id.hasPrefix("missed-acknowledgement-c1-") }
                return false
            }
            #expect(injected.count == scenario.contingencyInjects(for: "baoan-acknowledges").count)
        } else {
            #expect(missed.isEmpty, "\(results.filter { !$0.met })")
            #expect(fired.isEmpty)
        }
        // Every event was accepted, and nothing left the exercise fence.
        for case .injected(_, let e, let reply) in log.records { #expect(reply == "accepted", "\(e.id): \(reply)") }
        for case .feed(_, let topic, _) in log.records { #expect(topic.hasPrefix("exercise/")) }

        let markdown = DrillReport.markdown(log, results: results)
        #expect(markdown == DrillReport.markdown(log, results: scenario.evaluate(log)))
        let json = DrillReport.json(log, results: results)
        #expect(json == DrillReport.json(log, results: results))
        let parsed = try JSONValue.parse(json)
        #expect(parsed["expectations"]?.arrayValue?.count == scenario.expectations.count)
    }
}
