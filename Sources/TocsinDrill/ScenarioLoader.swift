// Reading and validating `Scenarios/*.yaml` against the configuration, with file, line and key for every problem.

import Foundation
import TocsinConfig
import TocsinCore
import Yams

/// Every problem found in a scenario, not just the first.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public init(problems: [ConfigProblem]) { self.problems = problems }
    public var description: String {
        "\(problems.count) scenario problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Loads scenarios. Platforms and areas must be registered in `areas`, event types, value names and incident types
/// must be in `catalog`; with `plans`, task plans and step ids must be steps of those response plans.
public enum ScenarioLoader {
    public static func load(
        path: String, catalog: Catalog, areas: AreaTree, plans: [String: ResponsePlan]? = nil
    ) throws(ScenarioError) -> Scenario {
        let sink = ProblemSink()
        guard let root = composeYAML(path: path, displayName: path, sink: sink) else {
            throw ScenarioError(problems: sink.problems)
        }
        return try read(root, file: path, catalog: catalog, areas: areas, plans: plans)
    }

    /// Loads a scenario given as text; `name` stands for the file in problems and gives the id prefix.
    public static func load(
        text: String, name: String, catalog: Catalog, areas: AreaTree, plans: [String: ResponsePlan]? = nil
    ) throws(ScenarioError) -> Scenario {
        let sink = ProblemSink()
        guard let root = composeYAML(text: text, displayName: name, sink: sink) else {
            throw ScenarioError(problems: sink.problems)
        }
        return try read(root, file: name, catalog: catalog, areas: areas, plans: plans)
    }

    static func read(
        _ root: YAMLCursor, file: String, catalog: Catalog, areas: AreaTree, plans: [String: ResponsePlan]?
    ) throws(ScenarioError) -> Scenario {
        var reader = ScenarioReader(catalog: catalog, areas: areas, plans: plans, file: file)
        let scenario = reader.read(root)
        guard root.sink.problems.isEmpty, let scenario else {
            let problems = root.sink.problems
            throw ScenarioError(
                problems: problems.isEmpty
                    ? [ConfigProblem(file: file, line: 1, key: "", message: "not a valid scenario")] : problems)
        }
        return scenario
    }

    /// The id prefix of a scenario file: its base name without `.yaml`, lower-case, other characters as `-`.
    public static func slug(of file: String) -> String {
        var base = (file as NSString).lastPathComponent
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
        var out = ""
        for u in base.lowercased().unicodeScalars {
            if (u >= "a" && u <= "z") || (u >= "0" && u <= "9") {
                out.unicodeScalars.append(u)
            } else if !out.hasSuffix("-") && !out.isEmpty {
                out.append("-")
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "scenario" : String(out.prefix(64))
    }
}

/// The reading state of one scenario document.
struct ScenarioReader {
    let catalog: Catalog
    let areas: AreaTree
    let plans: [String: ResponsePlan]?
    let file: String

    /// Known once read; offsets are checked against them when they are.
    var start: Timestamp?
    var utcOffset = 0
    var duration: Double?

    init(catalog: Catalog, areas: AreaTree, plans: [String: ResponsePlan]?, file: String) {
        self.catalog = catalog
        self.areas = areas
        self.plans = plans
        self.file = file
    }

    /// 9999-12-31T23:59:59.999999Z, the last time an event can carry.
    static let lastEventTime = Timestamp(micros: 253_402_300_799_999_999)

    static let topKeys: Set<String> = [
        "name", "purpose", "objectives", "start", "duration", "step", "injects", "actions", "expectations",
        "contingencies",
    ]

    mutating func read(_ root: YAMLCursor) -> Scenario? {
        guard let f = root.fields(allowed: Self.topKeys, required: ["name", "start", "duration", "injects"]) else {
            return nil
        }
        let name = f["name"]?.nonEmptyString()
        let purpose = f["purpose"]?.string() ?? ""
        var objectives: [String] = []
        if let oc = f["objectives"], let items = oc.items() {
            objectives = items.compactMap { $0.nonEmptyString() }
        }
        if let sc = f["start"], let s = sc.string() {
            if let t = Timestamp(rfc3339: s.trimmingCharacters(in: .whitespaces)) {
                start = t
                utcOffset = DrillTime.zoneOffset(ofRFC3339: s)
            } else {
                sc.problem("expected an RFC 3339 time with a zone, such as 2026-09-16T08:00:00+08:00, got \"\(s)\"")
            }
        }
        if let dc = f["duration"], let d = readDuration(dc) {
            if d <= 0 {
                dc.problem("must be longer than 0s")
            } else if d > 7 * 86_400 {
                dc.problem("must be at most 7 days")
            } else if let start, start.adding(seconds: d) > Self.lastEventTime {
                // Later events could not be written: an event's time is RFC 3339 with a four-digit year.
                dc.problem("the scenario would end after 9999-12-31T23:59:59Z")
            } else {
                duration = d
            }
        }
        var step = 30.0
        if let sc = f["step"], let d = readDuration(sc) {
            if d <= 0 {
                sc.problem("must be longer than 0s")
            } else if let duration, d > duration {
                sc.problem("must not be longer than the scenario (\(DrillTime.compact(duration)))")
            } else {
                step = d
            }
        }

        var injects: [Inject] = []
        if let ic = f["injects"], let items = ic.items() {
            if items.isEmpty { ic.problem("a scenario needs at least one inject") }
            for item in items {
                if let inject = readInject(item, notBefore: nil) { injects.append(inject) }
            }
        }

        var actions: [ResponderAction] = []
        if let ac = f["actions"], let items = ac.items() {
            var seen: [String: Int] = [:]
            for item in items {
                guard let action = readAction(item) else { continue }
                if let line = seen[action.id] {
                    item.problem("duplicate action id \"\(action.id)\" (first at line \(line))", key: item.key + ".id")
                    continue
                }
                seen[action.id] = item.line
                actions.append(action)
            }
        }

        var expectations: [Expectation] = []
        if let ec = f["expectations"], let items = ec.items() {
            var seen: [String: Int] = [:]
            for item in items {
                guard let e = readExpectation(item) else { continue }
                if let line = seen[e.id] {
                    item.problem("duplicate expectation id \"\(e.id)\" (first at line \(line))", key: item.key + ".id")
                    continue
                }
                seen[e.id] = item.line
                expectations.append(e)
            }
        }

        var contingencies: [Contingency] = []
        if let cc = f["contingencies"], let items = cc.items() {
            for item in items {
                if let c = readContingency(item, expectations: expectations, allIDs: expectationIDs(f["expectations"])) {
                    contingencies.append(c)
                }
            }
        }

        guard let name, let start, let duration else { return nil }
        return Scenario(
            name: name, purpose: purpose.trimmingCharacters(in: .whitespacesAndNewlines), objectives: objectives,
            start: start, utcOffset: utcOffset, duration: duration, step: step, injects: injects, actions: actions,
            expectations: expectations, contingencies: contingencies, file: file, slug: ScenarioLoader.slug(of: file))
    }

    /// The ids written in the expectations list, also of expectations with other problems (so that a contingency
    /// naming one of those is not reported a second time).
    func expectationIDs(_ c: YAMLCursor?) -> Set<String> {
        guard let c, case .sequence(let seq) = c.node else { return [] }
        var out: Set<String> = []
        for item in seq {
            guard case .mapping(let m) = item else { continue }
            for (k, v) in m where k.scalar?.string == "id" {
                if let s = v.scalar?.string { out.insert(s) }
            }
        }
        return out
    }

    // MARK: - Times

    func readDuration(_ c: YAMLCursor) -> Double? {
        guard let s = c.string() else { return nil }
        if let d = DrillTime.parseDuration(s) { return d }
        c.problem("expected a duration such as 30s, 5m, 1h30m or 2h, got \"\(s)\"")
        return nil
    }

    /// A moment of the scenario as an offset from its start: a duration (`1h30m`, `+90m`), a clock time on the
    /// start's date in its zone (`08:30`), or an RFC 3339 time. Checked to lie within the scenario.
    func readOffset(_ c: YAMLCursor) -> Double? {
        guard let s = c.string() else { return nil }
        var offset: Double?
        if let d = DrillTime.parseDuration(s) {
            offset = d
        } else if let t = Timestamp(rfc3339: s.trimmingCharacters(in: .whitespaces)) {
            guard let start else { return nil }
            offset = t - start
        } else if let clock = DrillTime.parseClock(s) {
            guard let start else { return nil }
            let day = start.civil(offsetSeconds: utcOffset)
            if let t = Timestamp(
                year: day.year, month: day.month, day: day.day, hour: clock.hour, minute: clock.minute,
                second: clock.second, offsetSeconds: utcOffset)
            {
                offset = t - start
            }
        }
        guard let offset else {
            c.problem(
                "expected a scenario time: an offset such as 1h30m, a clock time such as 08:30 or an RFC 3339 time, got \"\(s)\""
            )
            return nil
        }
        if offset < 0 {
            c.problem("\"\(s)\" is before the scenario start")
            return nil
        }
        if let duration, offset > duration {
            c.problem("\"\(s)\" (\(DrillTime.elapsed(offset))) is beyond the scenario's duration (\(DrillTime.compact(duration)))")
            return nil
        }
        return offset
    }

    func clockText(_ offset: Double) -> String {
        guard let start else { return DrillTime.elapsed(offset) }
        return Scenario(name: "", start: start, utcOffset: utcOffset, duration: duration ?? 0).clock(offset)
    }

    // MARK: - Areas and names

    func readArea(_ c: YAMLCursor, what: String = "area") -> AreaPath? {
        guard let s = c.string() else { return nil }
        guard let path = AreaPath(s) else {
            c.problem("\"\(s)\" is not an area path (dotted, lower-case, city first: sz.futian.shatou)")
            return nil
        }
        guard areas.contains(path) else {
            c.problem("\(s) is not a registered \(what) (an area of the configuration)")
            return nil
        }
        return path
    }

    func readIncidentType(_ c: YAMLCursor) -> String? {
        guard let s = c.string() else { return nil }
        guard catalog.incidents[s] != nil else {
            c.problem("unknown incident type \"\(s)\" (the catalog has: \(catalog.incidents.keys.sorted().joined(separator: ", ")))")
            return nil
        }
        return s
    }

    func readTier(_ c: YAMLCursor) -> Tier? {
        guard let s = c.string() else { return nil }
        guard let t = Tier(rawValue: s) else {
            c.problem("unknown tier \"\(s)\" (expected IV, III, II or I)")
            return nil
        }
        return t
    }

    func readID(_ c: YAMLCursor) -> String? {
        guard let s = c.nonEmptyString() else { return nil }
        let ok = s.utf8.count <= 64 && s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_" || $0 == "."
        }
        guard ok else {
            c.problem("ids are 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
            return nil
        }
        return s
    }

    // MARK: - Injects

    static let injectKeys: Set<String> = [
        "name", "at", "from", "area", "type", "location", "values", "text", "device", "series", "burst",
    ]

    /// One inject. `notBefore` is the deadline of a contingency's expectation: its injects default to it and
    /// may not come earlier.
    func readInject(_ c: YAMLCursor, notBefore: (id: String, deadline: Double)?) -> Inject? {
        let required: Set<String> = notBefore == nil ? ["at", "from", "type"] : ["from", "type"]
        guard let f = c.fields(allowed: Self.injectKeys, required: required) else { return nil }
        var ok = true
        var at: Double?
        if let ac = f["at"] {
            at = readOffset(ac)
            if let a = at, let nb = notBefore, a < nb.deadline {
                ac.problem(
                    "\(DrillTime.elapsed(a)) is before the deadline of expectation \"\(nb.id)\" (\(DrillTime.elapsed(nb.deadline))): a contingency fires only once it is missed")
                at = nil
            }
            if at == nil { ok = false }
        } else if let nb = notBefore {
            at = nb.deadline
        }
        let source = f["from"].flatMap { readArea($0, what: "platform") }
        var area = source
        if let ac = f["area"] {
            area = readArea(ac)
            if let a = area, let s = source, !a.isWithin(s) {
                ac.problem("\(a) is not within the platform \(s): a platform reports about its own area")
                area = nil
            }
            if area == nil { ok = false }
        }
        var spec: EventTypeSpec?
        if let tc = f["type"], let s = tc.string() {
            spec = catalog.types[s]
            if spec == nil {
                tc.problem("unknown event type \"\(s)\" (the catalog has: \(catalog.types.keys.sorted().joined(separator: ", ")))")
            }
        }
        var location: GeoPoint?
        if let lc = f["location"] {
            location = readLocation(lc)
            if location == nil { ok = false }
        } else if let area {
            location = areas[area]?.center
        }
        var values: [String: Inject.Value] = [:]
        if let vc = f["values"], let entries = vc.entries() {
            for (vname, v) in entries {
                if let spec, spec.value(named: vname) == nil {
                    let known = spec.values.map(\.name).joined(separator: ", ")
                    v.problem("unknown value \"\(vname)\" for \(spec.name) (expected: \(known.isEmpty ? "none" : known))")
                    ok = false
                    continue
                }
                if let value = readValue(v) { values[vname] = value } else { ok = false }
            }
        } else if f["values"] != nil {
            ok = false
        }
        var texts: [String] = []
        if let tc = f["text"] {
            if case .sequence = tc.node {
                for item in tc.items() ?? [] {
                    if let t = readText(item) { texts.append(t) } else { ok = false }
                }
                if texts.isEmpty && ok { tc.problem("needs at least one text") }
            } else if let t = readText(tc) {
                texts = [t]
            } else {
                ok = false
            }
        }
        var device: String?
        if let dc = f["device"], let d = dc.nonEmptyString() {
            if d.utf8.count > EventDecoder.maxDeviceBytes { dc.problem("longer than 128 bytes") } else { device = d }
        }
        if f["series"] != nil && f["burst"] != nil {
            c.problem("an inject is a series or a burst, not both", key: c.key + ".burst", at: f["burst"]?.node)
            ok = false
        }
        var pattern = Inject.Pattern.single
        if let sc = f["series"] {
            if let s = readSeries(sc, spec: spec, values: values, at: at) { pattern = .series(s) } else { ok = false }
        } else if let bc = f["burst"] {
            if let b = readBurst(bc, at: at) { pattern = .burst(b) } else { ok = false }
        }
        if let spec {
            var given = Set(values.keys)
            if case .series(let s) = pattern { given.insert(s.value) }
            let missing = spec.values.filter { !$0.optional && !given.contains($0.name) }.map(\.name)
            if !missing.isEmpty, f["series"] == nil || pattern != .single {
                let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
                c.problem(
                    "missing value \(names) for \(spec.name)", key: c.key + ".values", at: f["values"]?.node)
                ok = false
            }
        }
        guard ok, let at, let source, let area, let spec, let location else { return nil }
        let name = f["name"]?.nonEmptyString() ?? "\(spec.name) from \(source)"
        return Inject(
            name: name, at: at, source: source, area: area, type: spec.name, kind: spec.kind, location: location,
            values: values, texts: texts, device: device, pattern: pattern, line: c.line)
    }

    func readText(_ c: YAMLCursor) -> String? {
        guard let t = c.nonEmptyString() else { return nil }
        guard t.utf8.count <= EventDecoder.maxTextBytes else {
            c.problem("longer than 4096 bytes")
            return nil
        }
        return t
    }

    func readLocation(_ c: YAMLCursor) -> GeoPoint? {
        guard let f = c.fields(allowed: ["lat", "lon"], required: ["lat", "lon"]) else { return nil }
        var lat: Double?, lon: Double?
        if let lc = f["lat"], let v = lc.double() {
            if (-90...90).contains(v) { lat = v } else { lc.problem("\(JSONWriter.numberText(v)) is out of range [-90, 90]") }
        }
        if let lc = f["lon"], let v = lc.double() {
            if (-180...180).contains(v) { lon = v } else { lc.problem("\(JSONWriter.numberText(v)) is out of range [-180, 180]") }
        }
        guard let lat, let lon else { return nil }
        return GeoPoint(lat: lat, lon: lon)
    }

    /// A number, or `{min: A, max: B}` drawn per event.
    func readValue(_ c: YAMLCursor) -> Inject.Value? {
        if case .mapping = c.node {
            guard let f = c.fields(allowed: ["min", "max"], required: ["min", "max"]),
                let minC = f["min"], let maxC = f["max"], let lo = minC.double(), let hi = maxC.double()
            else { return nil }
            guard lo <= hi else {
                c.problem("min (\(JSONWriter.numberText(lo))) is above max (\(JSONWriter.numberText(hi)))")
                return nil
            }
            let whole = Int(minC.node.scalar?.string ?? "") != nil && Int(maxC.node.scalar?.string ?? "") != nil
            return .range(min: lo, max: hi, decimals: whole ? 0 : 2)
        }
        guard let v = c.double() else { return nil }
        return .fixed(v)
    }

    func readSeed(_ c: YAMLCursor?) -> UInt64? {
        guard let c else { return 1 }
        guard let s = c.string(), let v = UInt64(s) else {
            c.problem("expected a whole number from 0, got \(c.describedKind)")
            return nil
        }
        return v
    }

    func readSeries(_ c: YAMLCursor, spec: EventTypeSpec?, values: [String: Inject.Value], at: Double?) -> Inject.Series? {
        guard let f = c.fields(
            allowed: ["value", "from", "to", "over", "every", "noise", "decimals", "seed"],
            required: ["value", "from", "to", "over", "every"])
        else { return nil }
        var ok = true
        var value: String?
        if let vc = f["value"], let s = vc.string() {
            if let spec, spec.value(named: s) == nil {
                let known = spec.values.map(\.name).joined(separator: ", ")
                vc.problem("unknown value \"\(s)\" for \(spec.name) (expected: \(known.isEmpty ? "none" : known))")
            } else if values[s] != nil {
                vc.problem("\"\(s)\" is also given under values")
            } else {
                value = s
            }
        }
        let from = f["from"]?.double()
        let to = f["to"]?.double()
        var over: Double?
        if let oc = f["over"], let d = readDuration(oc) {
            if let at, let duration, at + d > duration {
                oc.problem(
                    "the series ends at \(DrillTime.elapsed(at + d)), beyond the scenario's duration (\(DrillTime.compact(duration)))")
            } else {
                over = d
            }
        }
        var every: Double?
        if let ec = f["every"], let d = readDuration(ec) {
            if d <= 0 {
                ec.problem("must be longer than 0s")
            } else if let over, over / d > 10_000 {
                ec.problem("more than 10000 readings; take a longer interval")
            } else {
                every = d
            }
        }
        var noise = 0.0
        if let nc = f["noise"] {
            if let n = nc.double(), n >= 0 { noise = n } else { nc.problem("must be a number from 0"); ok = false }
        }
        var decimals = 2
        if let dc = f["decimals"] {
            if let d = dc.int(), (0...6).contains(d) { decimals = d } else { dc.problem("must be a whole number from 0 to 6"); ok = false }
        }
        let seed = readSeed(f["seed"])
        guard ok, let value, let from, let to, let over, let every, let seed else { return nil }
        return Inject.Series(
            value: value, from: from, to: to, over: over, every: every, noise: noise, decimals: decimals, seed: seed)
    }

    func readBurst(_ c: YAMLCursor, at: Double?) -> Inject.Burst? {
        guard let f = c.fields(allowed: ["count", "over", "radius_m", "seed"], required: ["count", "over"]) else {
            return nil
        }
        var count: Int?
        if let cc = f["count"], let n = cc.int() {
            if n < 1 { cc.problem("must be at least 1") } else if n > 10_000 { cc.problem("must be at most 10000") } else { count = n }
        }
        var over: Double?
        if let oc = f["over"], let d = readDuration(oc) {
            if let at, let duration, at + d > duration {
                oc.problem(
                    "the burst ends at \(DrillTime.elapsed(at + d)), beyond the scenario's duration (\(DrillTime.compact(duration)))")
            } else {
                over = d
            }
        }
        var radius: Double? = 100
        if let rc = f["radius_m"] {
            radius = nil
            if let r = rc.double() {
                if r >= 0 && r <= 50_000 { radius = r } else { rc.problem("must be between 0 and 50000 metres") }
            }
        }
        let seed = readSeed(f["seed"])
        guard let count, let over, let radius, let seed else { return nil }
        return Inject.Burst(count: count, over: over, radiusM: radius, seed: seed)
    }

    // MARK: - Filters

    func readWarningFilter(_ c: YAMLCursor) -> WarningFilter? {
        guard let f = c.fields(allowed: ["event", "tier", "tier_at_least", "area", "level", "owner", "escalated"]) else {
            return nil
        }
        var ok = true
        var filter = WarningFilter()
        if let x = f["event"] { filter.event = readIncidentType(x); ok = ok && filter.event != nil }
        if let x = f["tier"] { filter.tier = readTier(x); ok = ok && filter.tier != nil }
        if let x = f["tier_at_least"] { filter.tierAtLeast = readTier(x); ok = ok && filter.tierAtLeast != nil }
        if let x = f["area"] { filter.area = readArea(x); ok = ok && filter.area != nil }
        if let x = f["level"] { filter.level = x.oneOf(Level.self); ok = ok && filter.level != nil }
        if let x = f["owner"] { filter.owner = readArea(x); ok = ok && filter.owner != nil }
        if let x = f["escalated"] { filter.escalated = x.bool(); ok = ok && filter.escalated != nil }
        if filter.tier != nil && filter.tierAtLeast != nil {
            c.problem("give tier or tier_at_least, not both")
            ok = false
        }
        return ok ? filter : nil
    }

    /// `states` are the allowed values of `state`.
    func readTaskFilter(_ c: YAMLCursor, states: [String]) -> TaskFilter? {
        guard let f = c.fields(allowed: ["plan", "step", "except_steps", "area", "level", "owner", "state"]) else {
            return nil
        }
        var ok = true
        var filter = TaskFilter()
        if let x = f["plan"] {
            filter.plan = readIncidentType(x)
            if let p = filter.plan, let plans, plans[p] == nil {
                x.problem("no response plan for \"\(p)\" (plans: \(plans.keys.sorted().joined(separator: ", ")))")
                filter.plan = nil
            }
            ok = ok && filter.plan != nil
        }
        if let x = f["step"] {
            filter.step = readStep(x, plan: filter.plan)
            ok = ok && filter.step != nil
        }
        if let x = f["except_steps"] {
            if let items = x.items() {
                for item in items {
                    if let s = readStep(item, plan: filter.plan) { filter.exceptSteps.append(s) } else { ok = false }
                }
            } else {
                ok = false
            }
        }
        if let x = f["area"] { filter.area = readArea(x); ok = ok && filter.area != nil }
        if let x = f["level"] { filter.level = x.oneOf(Level.self); ok = ok && filter.level != nil }
        if let x = f["owner"] { filter.owner = readArea(x); ok = ok && filter.owner != nil }
        if let x = f["state"], let s = x.string() {
            if states.contains(s) {
                filter.state = s
            } else {
                x.problem("unknown state \"\(s)\" (expected \(states.joined(separator: ", ")))")
                ok = false
            }
        } else if f["state"] != nil {
            ok = false
        }
        return ok ? filter : nil
    }

    /// A step id; with plans, one of the plan's steps (of any plan when `plan` is not given).
    func readStep(_ x: YAMLCursor, plan: String?) -> String? {
        guard let s = x.string() else { return nil }
        guard let plans else { return s }
        let candidates = plan.map { [$0] } ?? plans.keys.sorted()
        let known = candidates.flatMap { plans[$0]?.allSteps.map(\.step.id) ?? [] }
        if known.contains(s) { return s }
        if let plan {
            x.problem("unknown step \"\(s)\" in the \(plan) plan (it has: \(known.joined(separator: ", ")))")
        } else {
            x.problem("no response plan has a step \"\(s)\"")
        }
        return nil
    }

    // MARK: - Actions

    func readAction(_ c: YAMLCursor) -> ResponderAction? {
        guard let f = c.fields(allowed: ["id", "after", "delay", "do", "by", "each"], required: ["id", "after", "do"])
        else { return nil }
        var ok = true
        let id = f["id"].flatMap { readID($0) }
        var trigger: ResponderAction.Trigger?
        if let ac = f["after"], let af = ac.fields(allowed: ["warning", "task"]) {
            switch (af["warning"], af["task"]) {
            case (let w?, nil): trigger = readWarningFilter(w).map { .warning($0) }
            case (nil, let t?): trigger = readTaskFilter(t, states: TaskState.allCases.map(\.rawValue)).map { .task($0) }
            default: ac.problem("expected either warning: {...} or task: {...}")
            }
        }
        var delay = 0.0
        if let dc = f["delay"] {
            if let d = readDuration(dc) { delay = d } else { ok = false }
        }
        var verb: ResponderAction.Verb?
        if let dc = f["do"], let s = dc.string() {
            if let v = ResponderAction.Verb(rawValue: s) {
                verb = v
                switch (v, trigger) {
                case (.ack, .task?), (.close, .task?):
                    dc.problem("\"\(s)\" acts on a warning: its trigger must be after: {warning: ...}")
                    verb = nil
                case (.acknowledge, .warning?), (.done, .warning?):
                    dc.problem("\"\(s)\" acts on a plan step: its trigger must be after: {task: ...}")
                    verb = nil
                default: break
                }
            } else {
                dc.problem("unknown action \"\(s)\" (expected ack, acknowledge, done or close)")
            }
        }
        var by: AreaPath?
        if let bc = f["by"] {
            by = readArea(bc)
            if by == nil { ok = false }
        }
        var each = false
        if let ec = f["each"] {
            if let b = ec.bool() { each = b } else { ok = false }
        }
        guard ok, let id, let trigger, let verb else { return nil }
        return ResponderAction(id: id, trigger: trigger, delay: delay, verb: verb, by: by, each: each, line: c.line)
    }

    // MARK: - Expectations

    static let expectationKinds = ["warning", "acknowledged", "task", "no_warning", "no_actual"]

    func readExpectation(_ c: YAMLCursor) -> Expectation? {
        guard let f = c.fields(allowed: Set(Self.expectationKinds + ["id", "description", "by"]), required: ["id"])
        else { return nil }
        let id = f["id"].flatMap { readID($0) }
        let present = Self.expectationKinds.filter { f[$0] != nil }
        guard present.count == 1, let kc = f[present[0]] else {
            if present.isEmpty {
                c.problem("an expectation needs one of: \(Self.expectationKinds.joined(separator: ", "))")
            } else {
                c.problem("an expectation has one of \(present.joined(separator: ", ")), not several",
                          key: c.key + "." + present[1], at: f[present[1]]?.node)
            }
            return nil
        }
        var kind: Expectation.Kind?
        switch present[0] {
        case "warning": kind = readWarningFilter(kc).map { .warning($0) }
        case "acknowledged": kind = readWarningFilter(kc).map { .acknowledged($0) }
        case "task": kind = readTaskFilter(kc, states: ["acknowledged", "done"]).map { .task($0) }
        case "no_warning": kind = readWarningFilter(kc).map { .noWarning($0) }
        default:
            if let b = kc.bool() {
                if b { kind = .noActual } else { kc.problem("no_actual: false expects nothing; remove it") }
            }
        }
        let negative = present[0] == "no_warning" || present[0] == "no_actual"
        var deadline: Double?
        if let bc = f["by"] {
            guard let d = readOffset(bc) else { return nil }
            deadline = d
        } else if negative {
            deadline = duration
        } else {
            c.problem("missing required key \"by\" (the deadline)", key: c.key + ".by")
            return nil
        }
        guard let id, let kind, let deadline else { return nil }
        let description = f["description"]?.nonEmptyString() ?? describe(kind, deadline: deadline)
        return Expectation(id: id, description: description, kind: kind, deadline: deadline, line: c.line)
    }

    func describe(_ kind: Expectation.Kind, deadline: Double) -> String {
        let by = clockText(deadline)
        switch kind {
        case .warning(let w): return "\(Self.describe(w)) by \(by)"
        case .acknowledged(let w): return "\(Self.describe(w)) acknowledged by \(by)"
        case .task(let t):
            let step = t.step.map { "Step \($0)" } ?? "A step"
            let plan = t.plan.map { " of the \($0) plan" } ?? ""
            let area = t.area.map { " for \($0)" } ?? ""
            let owner = t.owner.map { " (owner \($0))" } ?? (t.level.map { " (\($0.rawValue) level)" } ?? "")
            return "\(step)\(plan)\(area)\(owner) \(t.state ?? "acknowledged") by \(by)"
        case .noWarning(let w):
            let text = Self.describe(w)
            return "No " + text.dropFirst(text.hasPrefix("An ") ? 3 : 2) + " until \(by)"
        case .noActual:
            return "Nothing published under actual/ until \(by)"
        }
    }

    /// `A flood warning at tier III or higher for sz.futian, owned at district level`.
    static func describe(_ w: WarningFilter) -> String {
        var text = w.event.map { ($0.first.map { "aeiou".contains($0) } == true ? "An " : "A ") + "\($0) warning" }
            ?? "A warning"
        if let t = w.tier { text += " at tier \(t.rawValue)" }
        if let t = w.tierAtLeast { text += t == .i ? " at tier I" : " at tier \(t.rawValue) or higher" }
        if let a = w.area { text += " for \(a)" }
        if let o = w.owner { text += ", owned by \(o)" } else if let l = w.level { text += ", owned at \(l.rawValue) level" }
        if let e = w.escalated { text += e ? ", escalated" : ", not escalated" }
        return text
    }

    // MARK: - Contingencies

    func readContingency(_ c: YAMLCursor, expectations: [Expectation], allIDs: Set<String>) -> Contingency? {
        guard let f = c.fields(allowed: ["expectation", "name", "injects"], required: ["expectation", "injects"]) else {
            return nil
        }
        var target: Expectation?
        if let ec = f["expectation"], let s = ec.string() {
            target = expectations.first { $0.id == s }
            if target == nil && !allIDs.contains(s) {
                let known = expectations.map(\.id).joined(separator: ", ")
                ec.problem("unknown expectation \"\(s)\" (the scenario has: \(known.isEmpty ? "none" : known))")
            }
        }
        var injects: [Inject] = []
        var ok = true
        if let ic = f["injects"], let items = ic.items() {
            if items.isEmpty { ic.problem("a contingency needs at least one inject") }
            for item in items {
                if let inject = readInject(item, notBefore: target.map { ($0.id, $0.deadline) }) {
                    injects.append(inject)
                } else {
                    ok = false
                }
            }
        }
        let name = f["name"]?.nonEmptyString() ?? "Contingency for \(target?.id ?? "?")"
        guard ok, let target, !injects.isEmpty else { return nil }
        return Contingency(expectation: target.id, name: name, injects: injects, line: c.line)
    }
}
