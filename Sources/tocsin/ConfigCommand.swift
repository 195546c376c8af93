import ArgumentParser
import TocsinConfig
import TocsinCore

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load and validate the configuration; print a summary and every problem found.")

        @Option(name: .long, help: "The main configuration file.")
        var config: String = ConfigLoader.defaultPath

        func run() throws {
            do {
                let c = try ConfigLoader.load(path: config)
                print(ConfigSummary.render(c))
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
    }
}

/// The human summary printed by `tocsin config check`.
enum ConfigSummary {
    static func render(_ c: TocsinConfiguration) -> String {
        var out: [String] = []
        out.append("Configuration \(c.path): OK")
        out.append("")
        out.append("Endpoints   ingest \(c.endpoints.ingest)   feed \(c.endpoints.feed)   command \(c.endpoints.command)")
        out.append("Data        \(c.dataPath) (durability \(c.durability.rawValue))")
        out.append("Security    \(c.security.mode.rawValue)" + (c.security.mode == .curve
            ? " (\(c.areas.sorted.filter { $0.publicKey != nil }.count) platform keys, \(c.security.clients.count) client keys)" : ""))
        let esc = Level.allCases.map { "\($0.rawValue) \(formatDuration(c.acknowledgeTimeout[$0] ?? 0))" }
        out.append("Escalation  \(esc.joined(separator: ", "))")
        out.append("")
        out.append("Areas: \(c.areas.count) platforms (\(c.areas.count(at: .city)) city, "
            + "\(c.areas.count(at: .district)) districts, \(c.areas.count(at: .street)) streets)")
        for city in c.areas.sorted where city.path.level == .city {
            out.append("  \(city.path)  \(city.name) \(city.nameZh)")
            for d in c.areas.children(of: city.path) {
                let streets = c.areas.children(of: d.path)
                out.append("    \(d.path.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0))"
                    + " \(d.name) \(d.nameZh): \(streets.count) streets")
            }
        }
        out.append("")
        out.append("Event types: \(c.catalog.types.count) (\(c.catalog.incidents.count) incident types)")
        for t in c.catalog.types.values.sorted(by: { $0.name < $1.name }) {
            let values = t.values.map { $0.optional ? "\($0.name)?" : $0.name }.joined(separator: ", ")
            let tiers = Tier.allCases.filter { t.tiers[$0] != nil }.map(\.rawValue).joined(separator: " ")
            out.append("  \(t.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(t.kind.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))"
                + " -> \(t.incident.padding(toLength: 17, withPad: " ", startingAt: 0)) values [\(values)]  tiers \(tiers)")
        }
        return out.joined(separator: "\n")
    }

    static func formatDuration(_ s: Double) -> String {
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600))h" }
        if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60))m" }
        return "\(Int(s))s"
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeStderr(string)
    }
}

import Foundation
enum FileHandleWriter {
    static func writeStderr(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
