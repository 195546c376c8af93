import TocsinCore

/// Reads `catalog.yaml`: incident types (category, CAP categories, correlation, quiet period, texts) and event
/// types (kind, values, tier conditions). Conditions are structured data; nothing in the file runs code.
enum CatalogReader {
    static func read(_ root: YAMLCursor) -> Catalog {
        guard let top = root.fields(allowed: ["incidents", "types"], required: ["incidents", "types"]) else { return Catalog() }
        var incidents: [IncidentTypeSpec] = []
        if let list = top["incidents"]?.entries() {
            for (name, c) in list {
                if let spec = readIncident(name: name, c) { incidents.append(spec) }
            }
        }
        let incidentNames = Set(incidents.map(\.name))
        var types: [EventTypeSpec] = []
        if let list = top["types"]?.entries() {
            for (name, c) in list {
                if let spec = readType(name: name, c, incidentNames: incidentNames) { types.append(spec) }
            }
        }
        if let ic = top["incidents"], let list = ic.entries() {
            let used = Set(types.map(\.incident))
            for (name, c) in list where !used.contains(name) && incidentNames.contains(name) {
                c.problem("no event type leads to this incident type")
            }
        }
        return Catalog(types: types, incidents: incidents)
    }

    static func readIncident(name: String, _ c: YAMLCursor) -> IncidentTypeSpec? {
        guard isName(name) else {
            c.problem("incident type names are lower-case a-z, 0-9 and _")
            return nil
        }
        guard let f = c.fields(
            allowed: ["category", "cap", "radius_m", "window", "quiet", "headline", "instruction"],
            required: ["category", "cap", "headline", "instruction"]) else { return nil }
        let category = f["category"]?.oneOf(Category.self)
        var caps: [CAPCategory] = []
        if let capC = f["cap"], let items = capC.items() {
            caps = items.compactMap { $0.oneOf(CAPCategory.self) }
            if items.isEmpty { capC.problem("needs at least one CAP category") }
        }
        var radius = 500.0
        if let r = f["radius_m"], let v = r.double() {
            if v > 0 && v <= 100_000 { radius = v } else { r.problem("must be between 0 and 100000 metres, got \(v)") }
        }
        var window = 1800.0, quiet = 7200.0
        if let w = f["window"], let v = w.duration() {
            if v > 0 { window = v } else { w.problem("must be longer than 0s") }
        }
        if let q = f["quiet"], let v = q.duration() {
            if v > 0 { quiet = v } else { q.problem("must be longer than 0s") }
        }
        let headline = f["headline"]?.nonEmptyString()
        let instruction = f["instruction"]?.nonEmptyString()
        guard let category, let headline, let instruction, !caps.isEmpty else { return nil }
        return IncidentTypeSpec(name: name, category: category, capCategories: caps, radiusM: radius,
                                windowS: window, quietS: quiet, headline: headline, instruction: instruction)
    }

    static func readType(name: String, _ c: YAMLCursor, incidentNames: Set<String>) -> EventTypeSpec? {
        guard isTypeName(name) else {
            c.problem("event type names are lower-case a-z, 0-9, _ and .")
            return nil
        }
        guard let f = c.fields(allowed: ["kind", "incident", "values", "tiers"],
                               required: ["kind", "incident", "tiers"]) else { return nil }
        let kind = f["kind"]?.oneOf(EventKind.self)
        var incident: String?
        if let ic = f["incident"], let s = ic.string() {
            if incidentNames.contains(s) { incident = s } else { ic.problem("unknown incident type \"\(s)\"") }
        }
        var values: [ValueSpec] = []
        var valuesOK = true
        if let vc = f["values"], let entries = vc.entries() {
            for (vname, v) in entries {
                guard isName(vname) else {
                    v.problem("value names are lower-case a-z, 0-9 and _")
                    valuesOK = false
                    continue
                }
                guard let vf = v.fields(allowed: ["optional", "aggregate"]) else { valuesOK = false; continue }
                let optional = vf["optional"]?.bool() ?? false
                let aggregate = vf["aggregate"].map { $0.oneOf(AggregateName.self)?.aggregate } ?? .max
                guard let aggregate else { valuesOK = false; continue }
                values.append(ValueSpec(name: vname, optional: optional, aggregate: aggregate))
            }
        }
        if kind == .sensor && values.isEmpty && f["values"] != nil && valuesOK {
            f["values"]?.problem("a sensor type needs at least one value")
        }
        var tiers: [Tier: [TierCondition]] = [:]
        var tiersOK = true
        if let tc = f["tiers"], let entries = tc.entries() {
            for (tname, t) in entries {
                guard let tier = Tier(rawValue: tname) else {
                    t.problem("unknown tier \"\(tname)\" (expected IV, III, II or I)")
                    tiersOK = false
                    continue
                }
                guard let items = t.items() else { tiersOK = false; continue }
                if items.isEmpty { t.problem("a tier needs at least one condition"); tiersOK = false }
                var conditions: [TierCondition] = []
                for item in items {
                    if let cond = readCondition(item, values: values, kind: kind) { conditions.append(cond) } else { tiersOK = false }
                }
                tiers[tier] = conditions
            }
            if entries.isEmpty { tc.problem("needs at least one tier") }
        }
        guard let kind, let incident, valuesOK, tiersOK, !tiers.isEmpty else { return nil }
        return EventTypeSpec(name: name, kind: kind, incident: incident, values: values, tiers: tiers)
    }

    /// `{reports: N}` (at least N events of this type) or `{value: NAME, gte: X}`.
    static func readCondition(_ c: YAMLCursor, values: [ValueSpec], kind: EventKind?) -> TierCondition? {
        guard let f = c.fields(allowed: ["reports", "value", "gte"]) else { return nil }
        if let r = f["reports"] {
            if f["value"] != nil || f["gte"] != nil {
                c.problem("a condition is either {reports: N} or {value: NAME, gte: X}, not both")
                return nil
            }
            guard let n = r.int() else { return nil }
            if n < 1 { r.problem("must be at least 1"); return nil }
            return .count(atLeast: n)
        }
        guard let vc = f["value"], let gc = f["gte"] else {
            c.problem("a condition is {reports: N} or {value: NAME, gte: X}")
            return nil
        }
        guard let name = vc.string(), let threshold = gc.double() else { return nil }
        guard values.contains(where: { $0.name == name }) else {
            vc.problem("\"\(name)\" is not a value of this type")
            return nil
        }
        return .value(name, atLeast: threshold)
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    static func isTypeName(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && !s.hasSuffix(".")
            && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 }
    }
}

/// The YAML spelling of `Aggregate`.
enum AggregateName: String, CaseIterable {
    case max, sum
    var aggregate: Aggregate { self == .max ? .max : .sum }
}
