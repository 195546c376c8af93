import ArgumentParser
import TocsinConfig
import TocsinCore

struct PlansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans", abstract: "Inspect the response plans (Config/plans/*.yaml).",
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the response plans, one per incident type.")

        @Option(name: .long, help: "The main configuration file.")
        var config: String = ConfigLoader.defaultPath

        func run() throws {
            print(PlanChecklist.list(try loadConfiguration(config)))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the checklist of one plan, level by level (IV..I).")

        @Argument(help: "The incident type, e.g. flood.")
        var type: String

        @Option(name: .long, help: "The main configuration file.")
        var config: String = ConfigLoader.defaultPath

        func run() throws {
            let c = try loadConfiguration(config)
            guard let plan = c.plans[type] else {
                let known = c.plans.keys.sorted().joined(separator: ", ")
                printError("no plan for incident type \"\(type)\" (plans: \(known.isEmpty ? "none" : known))")
                throw ExitCode(1)
            }
            print(PlanChecklist.render(plan))
        }
    }
}

/// Loads the configuration or prints every problem and exits with status 2 (as `tocsin config check`).
private func loadConfiguration(_ path: String) throws -> TocsinConfiguration {
    do {
        return try ConfigLoader.load(path: path)
    } catch {
        printError(error.description)
        throw ExitCode(2)
    }
}

/// The human text of `tocsin plans list` and `tocsin plans show`.
enum PlanChecklist {
    static func list(_ c: TocsinConfiguration) -> String {
        guard !c.plans.isEmpty else { return "No response plans." }
        var out = ["Response plans: \(c.plans.count)"]
        let width = c.plans.keys.map(\.count).max() ?? 0
        for plan in c.plans.values.sorted(by: { $0.incidentType < $1.incidentType }) {
            let counts = Tier.allCases.map { "\($0.rawValue) \(plan.levels[$0]?.count ?? 0)" }.joined(separator: ", ")
            out.append("  \(plan.incidentType.padding(toLength: width, withPad: " ", startingAt: 0))  \(plan.name)  [steps: \(counts)]")
        }
        let missing = c.catalog.incidents.keys.filter { c.plans[$0] == nil }.sorted()
        if !missing.isEmpty { out.append("Incident types without a plan: \(missing.joined(separator: ", "))") }
        return out.joined(separator: "\n")
    }

    static func render(_ plan: ResponsePlan) -> String {
        var out: [String] = []
        out.append("\(plan.name) [\(plan.incidentType)]")
        out.append("Each level adds its steps to those of the lower levels; deadlines count from the level's activation.")
        var number = 0
        for tier in Tier.allCases {
            let steps = plan.levels[tier] ?? []
            out.append("")
            let inherited = Tier.allCases.filter { $0 < tier && plan.levels[$0] != nil }.map(\.rawValue)
            let adds = inherited.isEmpty ? "" : " (adds to \(inherited.joined(separator: ", ")))"
            out.append("Level \(tier.rawValue) (\(tier.color), owned by the \(tier.owningLevel.rawValue))\(adds)")
            if steps.isEmpty {
                out.append("  (no steps of its own)")
                continue
            }
            for step in steps {
                number += 1
                let owner = step.owner == .warning ? "warning's owner" : step.owner.rawValue
                out.append("  [ ] \(number). \(step.id)  (\(owner), within \(duration(step.deadlineS)))")
                out.append("        \(step.action)")
                var notes: [String] = []
                if !step.after.isEmpty { notes.append("after: \(step.after.joined(separator: ", "))") }
                let overdue =
                    switch (step.onOverdue, step.owner) {
                    case (.escalate, .level(.city)): "republish as overdue to the city"
                    case (.escalate, _): "escalate one level up"
                    case (.escalateAndNotifyCity, _): "escalate to the city"
                    }
                notes.append("if overdue: " + overdue)
                out.append("        \(notes.joined(separator: "; "))")
            }
        }
        return out.joined(separator: "\n")
    }

    /// `30 min`, `1 h`, `1 h 30 min`, `24 h`, `14 d`, `45 s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 172_800, s % 86_400 == 0 { return "\(s / 86_400) d" }
        if s >= 3600, s % 60 == 0 {
            let m = (s % 3600) / 60
            return m == 0 ? "\(s / 3600) h" : "\(s / 3600) h \(m) min"
        }
        if s >= 60, s % 60 == 0 { return "\(s / 60) min" }
        return "\(s) s"
    }
}
