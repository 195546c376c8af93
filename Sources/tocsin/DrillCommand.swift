import ArgumentParser
import Foundation
import TocsinConfig
import TocsinDrill
import TocsinDrillRunner

struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Replay a drill scenario through the real workers and write the after-action report.",
        discussion: """
            Virtual time (the default) runs as fast as the machine allows and is deterministic: the same scenario
            gives a byte-identical report. --speed N runs in real time times N and shows warnings and tasks
            live. --connect drives the Tocsin running at the config's endpoints. Every event a drill sends is
            `exercise`. Exit status: 0 when every expectation is met, 1 otherwise, 2 for a scenario or config error.
            """)

    @Argument(help: "The scenario file, e.g. Scenarios/typhoon.yaml.") var file: String
    @Option(name: .long, help: "The main configuration file.") var config: String = ConfigLoader.defaultPath
    @Flag(help: "Virtual time, as fast as possible (the default).") var virtual = false
    @Option(help: "Real time times N, with the live stream.") var speed: Double?
    @Flag(help: "Drive the running Tocsin at the config's endpoints.") var connect = false
    @Option(help: "Write the report as Markdown here, and as JSON beside it (.json).") var report: String?
    @Flag(help: "Show warnings and tasks as they happen (on by default with --speed).") var live = false
    @Flag(help: "Print only the summary, not the whole report.") var quiet = false
    @Flag(help: "No colours in the live stream.") var noColour = false

    func run() throws {
        let cfg: TocsinConfiguration
        let scenario: Scenario
        do {
            cfg = try ConfigLoader.load(path: config)
            scenario = try ScenarioLoader.load(path: file, catalog: cfg.catalog, areas: cfg.areas, plans: cfg.plans)
        } catch let e as ConfigError {
            printError(e.description)
            throw ExitCode(2)
        } catch let e as ScenarioError {
            printError("\(e)")
            throw ExitCode(2)
        }
        if virtual && speed != nil { throw ValidationError("--virtual and --speed exclude each other") }
        if let speed, speed <= 0 { throw ValidationError("--speed must be more than 0") }
        let isTTY = isatty(STDOUT_FILENO) == 1
        let options = DrillOptions(speed: speed, connect: connect, live: live || speed != nil,
                                   colour: isTTY && !noColour)
        let injects = scenario.expandedInjects().count
        print("Drill: \(scenario.name) (\(injects) injects over \(Int(scenario.duration / 60)) min of scenario time, "
            + (speed.map { "real time x\(Self.format($0))" } ?? (connect ? "real time" : "virtual time")) + ")")
        let started = Date()
        let outcome: DrillOutcome
        do {
            outcome = try DrillRunner(scenario: scenario, config: cfg, options: options).run()
        } catch {
            printError("drill failed: \(error)")
            throw ExitCode(2)
        }
        let markdown = outcome.markdown
        if let report {
            try markdown.write(toFile: report, atomically: true, encoding: .utf8)
            let jsonPath = (report as NSString).deletingPathExtension + ".json"
            try Data(outcome.json).write(to: URL(fileURLWithPath: jsonPath))
            print("Report: \(report) and \(jsonPath)")
        }
        if !quiet { print(""); print(markdown) }
        let met = outcome.results.filter(\.met).count
        print("Expectations met: \(met) of \(outcome.results.count)"
            + " (replayed in \(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        for r in outcome.results where !r.met { print("  MISSED \(r.id): \(r.description) — \(r.evidence)") }
        if !outcome.allMet { throw ExitCode(1) }
    }

    static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}
