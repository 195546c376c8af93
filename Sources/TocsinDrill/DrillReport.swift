// The after-action report, as Markdown and as JSON. Deterministic: no wall-clock values, stable ordering and
// number formatting, so the same log gives byte-identical reports.

import TocsinCore

/// Renders the after-action report of a drill: summary, timeline, expectations, key times, strengths and areas
/// for improvement (see docs/scenarios.md).
public enum DrillReport {
    public static func markdown(_ log: DrillLog, results: [ExpectationResult]) -> String {
        let m = ReportModel(log, results: results)
        let s = m.scenario
        var out: [String] = []
        func line(_ text: String = "") { out.append(text) }

        line("# After-action report: \(s.name)")
        line()
        line("- Scenario file: `\(s.file)`")
        line("- Start: \(s.rfc3339(0)); duration \(DrillTime.span(s.duration)); clock step \(DrillTime.span(s.step))")
        line("- Result: \(m.summary.met) of \(results.count) expectation\(results.count == 1 ? "" : "s") met")
        if !s.purpose.isEmpty {
            line()
            line("## Purpose")
            line()
            line(s.purpose)
        }
        if !s.objectives.isEmpty {
            line()
            line("## Objectives")
            line()
            for (i, o) in s.objectives.enumerated() { line("\(i + 1). \(o)") }
        }

        let sum = m.summary
        line()
        line("## Summary")
        line()
        line("| | |")
        line("|---|---|")
        line("| Events injected | \(sum.injected) (\(sum.accepted) accepted, \(sum.duplicate) duplicate, \(sum.rejected) rejected) |")
        line("| Warnings | \(sum.warnings) (\(sum.alerts) alert, \(sum.updates) update, \(sum.cancels) cancel; \(sum.escalations) escalation\(sum.escalations == 1 ? "" : "s")) |")
        line("| Task messages | \(sum.taskMessages) about \(sum.tasks) task\(sum.tasks == 1 ? "" : "s") |")
        line("| Responder actions | \(sum.actions) (\(sum.actionsOK) ok, \(sum.actions - sum.actionsOK) refused) |")
        line("| Contingencies fired | \(sum.contingencies) |")
        line("| Expectations | \(sum.met) met, \(sum.missed) missed |")

        line()
        line("## Timeline")
        line()
        if m.timeline.isEmpty {
            line("Nothing was recorded.")
        } else {
            line("| Time | Elapsed | Kind | What |")
            line("|---|---|---|---|")
            for e in m.timeline {
                line("| \(s.clock(e.offset, seconds: true)) | \(DrillTime.elapsed(e.offset)) | \(e.kind) | \(cell(e.text)) |")
            }
        }

        line()
        line("## Expectations")
        line()
        if results.isEmpty {
            line("The scenario sets no expectations.")
        } else {
            line("| Expectation | Result | When | Deadline | Evidence |")
            line("|---|---|---|---|---|")
            for r in results {
                let when = r.at.map { "\(s.clock($0)) (\(DrillTime.elapsed($0)))" } ?? "-"
                let deadline = r.deadline.map { s.clock($0) } ?? "-"
                line("| `\(r.id)` \(cell(r.description)) | \(r.met ? "met" : "**missed**") | \(when) | \(deadline) | \(cell(r.evidence)) |")
            }
        }

        line()
        line("## Key times")
        line()
        if let f = m.firstInject {
            line("- First inject: \(s.clock(f.offset)) (\(DrillTime.elapsed(f.offset))), \"\(f.label)\" (\(f.id))")
        } else {
            line("- First inject: none")
        }
        if let w = m.firstWarning {
            var text = "- First warning: \(s.clock(w.offset)) (\(DrillTime.elapsed(w.offset))), \(w.text)"
            if let f = m.firstInject { text += "; \(DrillTime.span(w.offset - f.offset)) after the first inject" }
            line(text)
        } else {
            line("- First warning: none")
        }
        line()
        line("### Tiers reached per incident")
        line()
        if m.incidents.isEmpty {
            line("No incident reached a tier.")
        } else {
            line("| Incident | Type | Area | First event | IV | III | II | I | Highest owner | Closed |")
            line("|---|---|---|---|---|---|---|---|---|---|")
            for inc in m.incidents {
                var row = "| \(inc.incident) | \(inc.event) | \(inc.area) | \(inc.firstEvent.map { s.clock($0) } ?? "-") |"
                for tier in Tier.allCases {
                    if let t = inc.tiers.first(where: { $0.tier == tier }) {
                        row += " \(s.clock(t.offset)) (\(t.warning)) |"
                    } else {
                        row += " - |"
                    }
                }
                if let h = inc.highest {
                    row += " \(h.owner) (\(h.level.rawValue)\(h.escalated ? ", escalated" : "")) |"
                } else {
                    row += " - |"
                }
                row += " \(inc.cancelled.map { "\(s.clock($0.offset)) (\($0.id))" } ?? "-") |"
                line(row)
            }
        }
        line()
        line("### Acknowledgements")
        line()
        if m.acks.isEmpty {
            line("No warning was acknowledged.")
        } else {
            line("| Warning | Owner | Issued | Acknowledged | By | Delay |")
            line("|---|---|---|---|---|---|")
            for a in m.acks {
                line("| \(a.warning) | \(a.owner) | \(s.clock(a.issued)) | \(s.clock(a.acknowledged)) | \(a.by) | \(DrillTime.span(a.acknowledged - a.issued)) |")
            }
        }
        line()
        line("### Escalations")
        line()
        if m.escalations.isEmpty {
            line("No warning was escalated.")
        } else {
            line("| Warning | At | Incident | Unacknowledged warning | From | To |")
            line("|---|---|---|---|---|---|")
            for e in m.escalations {
                line("| \(e.warning) | \(s.clock(e.offset)) | \(e.event) \(e.tier) for \(e.area) | \(e.replaced ?? "-") | \(e.fromOwner ?? "-") | \(e.toOwner) (\(e.toLevel)) |")
            }
        }
        line()
        line("### Overdue steps")
        line()
        if m.overdue.isEmpty {
            line("No plan step went overdue.")
        } else {
            line("| Task | Plan | Step | Owner | Due | Overdue at | Resolved | Overdue by | Escalated to |")
            line("|---|---|---|---|---|---|---|---|---|")
            for o in m.overdue {
                let resolved = o.resolved.map { "\($0.state) \(s.clock($0.offset))" } ?? "not by the end"
                line("| \(o.task) | \(o.plan) | \(o.step) | \(o.owner) | \(o.due.map { s.clock($0) } ?? "-") | \(s.clock(o.overdueAt)) | \(resolved) | \(DrillTime.span(o.overdueBy)) | \(o.escalatedTo ?? "-") |")
            }
        }

        line()
        line("## Strengths")
        line()
        if m.strengths.isEmpty { line("- None identified from this run.") }
        for f in m.strengths { line("- \(f.text) (\(f.evidence))") }
        line()
        line("## Areas for improvement")
        line()
        if m.improvements.isEmpty { line("- None identified from this run.") }
        for f in m.improvements { line("- \(f.text) (\(f.evidence))") }
        return out.joined(separator: "\n") + "\n"
    }

    public static func json(_ log: DrillLog, results: [ExpectationResult]) -> [UInt8] {
        let m = ReportModel(log, results: results)
        let s = m.scenario
        var w = JSONWriter(capacity: 16_384)
        func offsetFields(_ offset: Double) {
            w.field("offset", offset)
            w.field("time", s.rfc3339(offset))
        }
        func optionalOffset(_ key: String, _ offset: Double?) {
            w.key(key)
            if let offset { w.value(offset) } else { w.null() }
        }
        w.beginObject()
        w.key("scenario")
        w.beginObject()
        w.field("name", s.name)
        w.field("file", s.file)
        w.field("purpose", s.purpose)
        w.key("objectives")
        w.beginArray()
        for o in s.objectives { w.value(o) }
        w.endArray()
        w.field("start", s.rfc3339(0))
        w.field("duration", s.duration)
        w.field("step", s.step)
        w.endObject()

        let sum = m.summary
        w.key("summary")
        w.beginObject()
        w.key("injected")
        w.beginObject()
        w.field("total", sum.injected)
        w.field("accepted", sum.accepted)
        w.field("duplicate", sum.duplicate)
        w.field("rejected", sum.rejected)
        w.endObject()
        w.key("warnings")
        w.beginObject()
        w.field("total", sum.warnings)
        w.field("alert", sum.alerts)
        w.field("update", sum.updates)
        w.field("cancel", sum.cancels)
        w.field("escalations", sum.escalations)
        w.endObject()
        w.key("tasks")
        w.beginObject()
        w.field("messages", sum.taskMessages)
        w.field("tasks", sum.tasks)
        w.endObject()
        w.key("actions")
        w.beginObject()
        w.field("total", sum.actions)
        w.field("ok", sum.actionsOK)
        w.field("refused", sum.actions - sum.actionsOK)
        w.endObject()
        w.field("contingencies", sum.contingencies)
        w.key("expectations")
        w.beginObject()
        w.field("met", sum.met)
        w.field("missed", sum.missed)
        w.endObject()
        w.endObject()

        w.key("timeline")
        w.beginArray()
        for e in m.timeline {
            w.beginObject()
            offsetFields(e.offset)
            w.field("kind", e.kind)
            w.field("text", e.text)
            w.key("ids")
            w.beginArray()
            for id in e.ids { w.value(id) }
            w.endArray()
            w.endObject()
        }
        w.endArray()

        w.key("expectations")
        w.beginArray()
        for r in results {
            w.beginObject()
            w.field("id", r.id)
            w.field("description", r.description)
            w.field("met", r.met)
            optionalOffset("at", r.at)
            optionalOffset("deadline", r.deadline)
            w.field("evidence", r.evidence)
            w.endObject()
        }
        w.endArray()

        w.key("keyTimes")
        w.beginObject()
        w.key("firstInject")
        if let f = m.firstInject {
            w.beginObject()
            offsetFields(f.offset)
            w.field("id", f.id)
            w.field("label", f.label)
            w.endObject()
        } else {
            w.null()
        }
        w.key("firstWarning")
        if let f = m.firstWarning {
            w.beginObject()
            offsetFields(f.offset)
            w.field("id", f.id)
            w.field("text", f.text)
            w.endObject()
        } else {
            w.null()
        }
        w.key("incidents")
        w.beginArray()
        for inc in m.incidents {
            w.beginObject()
            w.field("incident", inc.incident)
            w.field("event", inc.event)
            w.field("area", inc.area)
            optionalOffset("firstEvent", inc.firstEvent)
            w.field("firstWarning", inc.firstWarning.id)
            w.key("tiers")
            w.beginObject()
            for t in inc.tiers {
                w.key(t.tier.rawValue)
                w.beginObject()
                w.field("offset", t.offset)
                w.field("warning", t.warning)
                w.field("owner", t.owner)
                w.endObject()
            }
            w.endObject()
            w.key("highest")
            if let h = inc.highest {
                w.beginObject()
                w.field("level", h.level.rawValue)
                w.field("owner", h.owner)
                w.field("offset", h.offset)
                w.field("warning", h.id)
                w.field("escalated", h.escalated)
                w.endObject()
            } else {
                w.null()
            }
            optionalOffset("closed", inc.cancelled?.offset)
            w.endObject()
        }
        w.endArray()
        w.key("acknowledgements")
        w.beginArray()
        for a in m.acks {
            w.beginObject()
            w.field("warning", a.warning)
            w.field("owner", a.owner)
            w.field("issued", a.issued)
            w.field("acknowledged", a.acknowledged)
            w.field("by", a.by)
            w.field("delay", a.acknowledged - a.issued)
            w.endObject()
        }
        w.endArray()
        w.key("escalations")
        w.beginArray()
        for e in m.escalations {
            w.beginObject()
            w.field("warning", e.warning)
            w.field("offset", e.offset)
            w.key("replaced")
            if let r = e.replaced { w.value(r) } else { w.null() }
            w.key("from")
            if let f = e.fromOwner { w.value(f) } else { w.null() }
            w.field("to", e.toOwner)
            w.field("level", e.toLevel)
            w.endObject()
        }
        w.endArray()
        w.key("overdueSteps")
        w.beginArray()
        for o in m.overdue {
            w.beginObject()
            w.field("task", o.task)
            w.field("plan", o.plan)
            w.field("step", o.step)
            w.field("owner", o.owner)
            optionalOffset("due", o.due)
            w.field("overdueAt", o.overdueAt)
            optionalOffset("resolvedAt", o.resolved?.offset)
            w.key("resolution")
            if let r = o.resolved { w.value(r.state) } else { w.null() }
            w.field("overdueBy", o.overdueBy)
            w.key("escalatedTo")
            if let e = o.escalatedTo { w.value(e) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.endObject()

        for (key, list) in [("strengths", m.strengths), ("improvements", m.improvements)] {
            w.key(key)
            w.beginArray()
            for f in list {
                w.beginObject()
                w.field("finding", f.text)
                w.field("evidence", f.evidence)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    /// Text for a Markdown table cell: pipes escaped, line breaks as spaces.
    static func cell(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "|": out += "\\|"
            case "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }
}
