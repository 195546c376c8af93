import Foundation
import TocsinCore
import Yams

/// Reads response plans (应急预案): every `*.yaml` file of a folder (`Config/plans/`), one plan per file.
///
/// ```yaml
/// incident: flood                      # an incident type of the catalog
/// name: Shenzhen urban flood response  # human name
/// levels:                              # IV..I; each level ADDS steps to the lower ones
///   IV:
///     - id: report_district            # unique in the plan; a-z, 0-9, _
///       action: Phone the district emergency office ...
///       owner: street                  # street | district | city | warning (the warning's owning level)
///       deadline: 30m                  # after the activation of this level
///       after: [verify_site]           # optional: steps of this or a lower level done first
///       on_overdue: escalate           # optional: escalate (default) | escalate_and_notify_city
/// ```
///
/// Checked at load, each with file, line and key: unknown keys, bad durations, unknown owners, tiers and overdue
/// actions, duplicate step ids, an `after` naming an unknown step or one of a higher level, dependency cycles,
/// levels without steps, a plan for an incident type the catalog does not have, two plans for one type.
public enum PlansReader {
    /// Reads every `*.yaml` file of `folder` (sorted by name). With `catalog`, each plan's incident type must be
    /// one of its incident types.
    public static func read(folder: String, catalog: Catalog?) throws(ConfigError) -> [String: ResponsePlan] {
        let sink = ProblemSink()
        let plans = read(folder: folder, catalog: catalog, sink: sink, explicit: nil, required: true)
        if !sink.problems.isEmpty { throw ConfigError(sink.problems) }
        return plans
    }

    /// Reads plans given as text, `name` standing for the file name in problems (for tests and embedded plans).
    public static func read(documents: [(name: String, text: String)], catalog: Catalog?) throws(ConfigError)
        -> [String: ResponsePlan]
    {
        let sink = ProblemSink()
        var plans: [String: ResponsePlan] = [:]
        var origin: [String: String] = [:]
        for (name, text) in documents {
            guard let root = composeYAML(text: text, displayName: name, sink: sink) else { continue }
            add(readPlan(root, catalog: catalog), from: root, file: name, into: &plans, origin: &origin)
        }
        if !sink.problems.isEmpty { throw ConfigError(sink.problems) }
        return plans
    }

    /// Reads the folder into `sink`. A missing folder is a problem only when `required`, reported at `explicit`
    /// (the `plans` key of tocsin.yaml) when given.
    static func read(folder: String, catalog: Catalog?, sink: ProblemSink, explicit: YAMLCursor?, required: Bool)
        -> [String: ResponsePlan]
    {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder)
        else {
            if let explicit {
                explicit.problem("cannot read the plans folder \"\(folder)\"")
            } else if required {
                sink.add(ConfigProblem(file: folder, line: 1, key: "", message: "cannot read the plans folder"))
            }
            return [:]
        }
        var plans: [String: ResponsePlan] = [:]
        var origin: [String: String] = [:]
        for name in names.sorted() where name.hasSuffix(".yaml") && !name.hasPrefix(".") {
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            guard let root = composeYAML(path: path, displayName: path, sink: sink) else { continue }
            add(readPlan(root, catalog: catalog), from: root, file: path, into: &plans, origin: &origin)
        }
        return plans
    }

    private static func add(
        _ plan: ResponsePlan?, from root: YAMLCursor, file: String, into plans: inout [String: ResponsePlan],
        origin: inout [String: String]
    ) {
        guard let plan else { return }
        if let first = origin[plan.incidentType] {
            let at = root.node.mapping?.first { $0.key.scalar?.string == "incident" }?.value
            root.problem("a plan for \(plan.incidentType) is already in \(first)", key: "incident", at: at)
            return
        }
        origin[plan.incidentType] = file
        plans[plan.incidentType] = plan
    }

    /// One step as read, with the cursors that problems found later point at.
    private struct ReadStep {
        var step: PlanStep
        var level: Tier
        var idCursor: YAMLCursor
        var afterCursor: YAMLCursor?
        var afterItems: [YAMLCursor]
    }

    /// One plan document; nil when it has any problem.
    static func readPlan(_ root: YAMLCursor, catalog: Catalog?) -> ResponsePlan? {
        let before = root.sink.problems.count
        guard let f = root.fields(allowed: ["incident", "name", "levels"], required: ["incident", "name", "levels"])
        else { return nil }
        var incident: String?
        if let ic = f["incident"], let s = ic.string() {
            if !CatalogReader.isName(s) {
                ic.problem("incident type names are lower-case a-z, 0-9 and _")
            } else if let catalog, catalog.incidents[s] == nil {
                let known = catalog.incidents.keys.sorted().joined(separator: ", ")
                ic.problem("unknown incident type \"\(s)\" (the catalog has: \(known))")
            } else {
                incident = s
            }
        }
        let name = f["name"]?.nonEmptyString()
        var steps: [ReadStep] = []
        if let lc = f["levels"], let entries = lc.entries() {
            if entries.isEmpty { lc.problem("a plan needs at least one level") }
            for (tname, c) in entries {
                guard let tier = Tier(rawValue: tname) else {
                    let keyNode = lc.node.mapping?.first { $0.key.scalar?.string == tname }?.key
                    c.problem("unknown tier \"\(tname)\" (expected IV, III, II or I)", at: keyNode)
                    continue
                }
                if case .scalar(let s) = c.node, s.string.isEmpty || s.tag.description.hasSuffix("null") {
                    c.problem("a level needs at least one step")
                    continue
                }
                guard let items = c.items() else { continue }
                if items.isEmpty { c.problem("a level needs at least one step") }
                for item in items {
                    if let s = readStep(item, level: tier) { steps.append(s) }
                }
            }
        }
        check(steps)
        guard root.sink.problems.count == before, let incident, let name else { return nil }
        var levels: [Tier: [PlanStep]] = [:]
        for s in steps { levels[s.level, default: []].append(s.step) }
        return ResponsePlan(incidentType: incident, name: name, levels: levels)
    }

    private static func readStep(_ c: YAMLCursor, level: Tier) -> ReadStep? {
        guard let f = c.fields(
            allowed: ["id", "action", "owner", "deadline", "after", "on_overdue"],
            required: ["id", "action", "owner", "deadline"])
        else { return nil }
        var id: String?
        if let ic = f["id"], let s = ic.string() {
            if CatalogReader.isName(s) { id = s } else { ic.problem("step ids are lower-case a-z, 0-9 and _") }
        }
        let action = f["action"]?.nonEmptyString()
        let owner = f["owner"]?.oneOf(StepOwner.self)
        var deadline: Double?
        if let dc = f["deadline"], let d = dc.duration() {
            if d > 0 { deadline = d } else { dc.problem("must be longer than 0s") }
        }
        var after: [String] = []
        var afterItems: [YAMLCursor] = []
        var afterOK = true
        if let ac = f["after"] {
            if let items = ac.items() {
                for item in items {
                    guard let s = item.string() else { afterOK = false; continue }
                    after.append(s)
                    afterItems.append(item)
                }
            } else {
                afterOK = false
            }
        }
        var onOverdue = OverdueAction.escalate
        if let oc = f["on_overdue"] {
            guard let o = oc.oneOf(OverdueAction.self) else { return nil }
            onOverdue = o
        }
        guard let id, let action, let owner, let deadline, afterOK, let idCursor = f["id"] else { return nil }
        return ReadStep(
            step: PlanStep(id: id, action: action, owner: owner, deadlineS: deadline, after: after, onOverdue: onOverdue),
            level: level, idCursor: idCursor, afterCursor: f["after"], afterItems: afterItems)
    }

    /// Duplicate ids, `after` naming unknown or higher-level steps, and cycles.
    private static func check(_ steps: [ReadStep]) {
        var first: [String: ReadStep] = [:]
        for s in steps {
            if let earlier = first[s.step.id] {
                s.idCursor.problem("duplicate step id \"\(s.step.id)\" (first at line \(earlier.idCursor.line))")
            } else {
                first[s.step.id] = s
            }
        }
        var sound = true
        for s in steps {
            for (name, item) in zip(s.step.after, s.afterItems) {
                guard let target = first[name] else {
                    item.problem("unknown step \"\(name)\"")
                    sound = false
                    continue
                }
                if target.level > s.level {
                    item.problem(
                        "step \"\(name)\" is added at a higher level (\(target.level.rawValue)); a step can only wait for steps of its own or a lower level")
                    sound = false
                }
            }
        }
        guard sound else { return }
        // Steps in level order (IV first), then document order: the cycle is reported at its first step.
        let ordered = steps.enumerated().sorted { ($0.element.level, $0.offset) < ($1.element.level, $1.offset) }
            .map(\.element)
        var after: [String: [String]] = [:]
        for s in ordered where after[s.step.id] == nil { after[s.step.id] = s.step.after }
        if let cycle = ResponsePlan.firstCycle(order: ordered.map(\.step.id), after: after),
            let at = first[cycle[0]]
        {
            let message = "steps wait for each other in a cycle: " + cycle.joined(separator: " -> ")
            if let ac = at.afterCursor { ac.problem(message) } else { at.idCursor.problem(message) }
        }
    }
}

extension Node {
    var mapping: Node.Mapping? {
        if case .mapping(let m) = self { return m }
        return nil
    }
}
