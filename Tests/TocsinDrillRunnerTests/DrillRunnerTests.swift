import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinDrillRunner
import TocsinTesting

/// Every shipped scenario, replayed through the real workers on a virtual clock.
@Suite struct DrillReplayTests {
    static let scenarios: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.scenariosPath)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.sorted()
    }()

    static func load(_ file: String) throws -> Scenario {
        let config = Fixtures.shippedConfig
        return try ScenarioLoader.load(path: Fixtures.scenariosPath + "/" + file, catalog: config.catalog,
                                       areas: config.areas, plans: config.plans)
    }

    @Test func atLeastSevenScenariosShip() {
        #expect(Self.scenarios.count >= 7)
        #expect(Self.scenarios.contains("typhoon.yaml"))
        #expect(Self.scenarios.contains("missed-acknowledgement.yaml"))
    }

    /// The same scenario twice gives byte-identical reports; only the scenario built to fail misses anything,
    /// and nothing ever reaches an `actual/` topic.
    @Test(arguments: scenarios)
    func replaysDeterministically(_ file: String) throws {
        let scenario = try Self.load(file)
        let first = try DrillRunner(scenario: scenario, config: Fixtures.shippedConfig, output: { _ in }).run()
        let second = try DrillRunner(scenario: scenario, config: Fixtures.shippedConfig, output: { _ in }).run()
        #expect(first.markdown == second.markdown)
        #expect(first.json == second.json)
        let warnings = first.log.records.filter { if case .feed(_, let topic, _) = $0 { topic.contains("/warning/") } else { false } }
        #expect(!warnings.isEmpty, "the drill produced no warning at all")
        let actual = first.log.records.filter { if case .feed(_, let topic, _) = $0 { topic.hasPrefix("actual/") } else { false } }
        #expect(actual.isEmpty)
        let injected = first.log.records.compactMap { r -> String? in if case .injected(_, _, let reply) = r { reply } else { nil } }
        #expect(injected.allSatisfy { $0 == "accepted" }, "\(Set(injected))")
        let missed = first.results.filter { !$0.met }.map(\.id)
        if file == "missed-acknowledgement.yaml" {
            #expect(missed.count == 1, "missed: \(missed)")
            #expect(first.log.records.contains { if case .contingency = $0 { true } else { false } })
        } else {
            #expect(missed.isEmpty, "\(file) missed \(missed): \(first.results.filter { !$0.met }.map(\.evidence))")
        }
    }
}

/// `tocsin drill` as a user runs it: exit status and the report files.
@Suite(.serialized) struct DrillCommandTests {
    @Test func failingScenarioExitsOneAndWritesBothReports() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-drill-cli")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: ["drill", Fixtures.scenariosPath + "/missed-acknowledgement.yaml",
                                                 "--config", Fixtures.configPath, "--report", dir + "/report.md", "--quiet"],
                                     logPath: dir + "/out.log")
        #expect(child.wait(timeout: 120) == 1, "\(child.log)")
        #expect(child.log.contains("MISSED"))
        let markdown = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(markdown.contains("## Expectations"))
        let json = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
        #expect(json.objectValue != nil)
    }

    @Test func brokenScenarioExitsTwoWithFileLineAndKey() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-drill-bad")
        defer { Fixtures.removeTemporary(dir) }
        let text = try String(contentsOfFile: Fixtures.scenariosPath + "/typhoon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "sz.dapeng.nanao", with: "sz.dapeng.nowhere")
        try text.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let child = try ChildProcess(arguments: ["drill", dir + "/bad.yaml", "--config", Fixtures.configPath],
                                     logPath: dir + "/out.log")
        #expect(child.wait(timeout: 60) == 2)
        #expect(child.log.contains("bad.yaml:"))
        #expect(child.log.contains("sz.dapeng.nowhere"))
    }

    /// `--connect` drives a running Tocsin (live clock, real time times the speed); the drill's traffic stays
    /// under `exercise/`: a subscriber to everything sees nothing under `actual/`.
    @Test func connectedDrillNeverReachesActualTopics() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-drill-connect")
        defer { Fixtures.removeTemporary(dir) }
        let tcp = try writeTCPTestConfig(dir: dir)
        let server = try ChildProcess(arguments: ["run", "--config", tcp.path, "--log-level", "error"], logPath: dir + "/run.log")
        defer { server.kill(SIGKILL) }
        let command = try WireClient(endpoint: tcp.command)
        defer { command.close() }
        var ready = false
        for _ in 0..<150 where !ready {
            ready = (try? command.request(#"{"op":"stats"}"#, timeoutMilliseconds: 200))??["ok"] == true
        }
        #expect(ready)
        let scenarioText = """
        name: Connected fence check
        purpose: A short drill against a running instance.
        start: 2026-09-16T08:00:00+08:00
        duration: 10m
        step: 30s
        injects:
          - name: Shatou gauge rising
            at: "08:00"
            from: sz.futian.shatou
            type: water_level
            location: {lat: 22.5277, lon: 114.0250}
            series: {value: level_m, from: 2.4, to: 4.2, over: 8m, every: 1m}
        expectations:
          - id: flood-warned
            warning: {event: flood, tier_at_least: II, area: sz.futian}
            by: "08:10"
          - id: fence
            no_actual: true
        """
        let config = try ConfigLoader.load(path: tcp.path)
        let scenario = try ScenarioLoader.load(text: scenarioText, name: "connect.yaml", catalog: config.catalog,
                                               areas: config.areas, plans: config.plans)
        let outcome = try DrillRunner(scenario: scenario, config: config,
                                      options: DrillOptions(speed: 300, connect: true), output: { _ in }).run()
        #expect(outcome.allMet, "\(outcome.results.filter { !$0.met }.map(\.evidence))")
        // A fresh client: readiness probes that timed out may still have replies queued on `command`.
        let query = try WireClient(endpoint: tcp.command)
        defer { query.close() }
        let all = try #require(try query.request(#"{"op":"since","seq":0}"#))
        let topics = all["messages"]?.arrayValue?.compactMap { $0["topic"]?.stringValue } ?? []
        #expect(topics.contains { $0.hasPrefix("exercise/warning/") })
        #expect(!topics.contains { $0.hasPrefix("actual/") })
    }
}
