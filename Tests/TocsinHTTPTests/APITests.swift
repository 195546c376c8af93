import Foundation
import Testing
import TocsinCore
import TocsinHTTP
import TocsinTesting
import TocsinWorkers

/// The HTTP API contract: every route, its errors, tokens and areas (docs/protocol.md "HTTP API").
@Suite(.serialized) struct APITests {
    @Test func tokensAreRequiredAndHealthIsPublic() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        for path in ["/api/warnings", "/api/tasks", "/api/incidents", "/api/stats", "/api/audit", "/api/me",
                     "/api/stream"] {
            let none = try p.get(path)
            #expect(none.status == 401, "\(path)")
            #expect(none.json["code"] == "unauthorised" && none.json["ok"] == false, "\(path)")
            let wrong = try p.get(path, token: "not-a-real-token-at-all")
            #expect(wrong.status == 401 && wrong.json["error"] == "unknown operator token", "\(path)")
        }
        let basic = try MiniHTTP.request(port: p.port, method: "GET", path: "/api/me", token: nil,
                                         extra: ["Authorization: Basic Zm9vOmJhcg=="])
        #expect(basic.status == 401)
        #expect(try p.post("/api/warnings/w-1/ack", token: nil).status == 401)
        let me = try p.get("/api/me", token: Ops.futian.token)
        #expect(me.status == 200)
        #expect(me.json["name"] == "futian-duty" && me.json["area"] == "sz.futian")
        #expect(try p.get("/healthz").status == 200)
        let ready = try p.get("/readyz")
        #expect(ready.status == 200 && ready.json["command"] == true && ready.json["feed"] == true)
        #expect(try p.get("/api/nothing-here", token: Ops.city.token).status == 404)
    }

    @Test func warningsIncidentsAcknowledgementAndAudit() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        try p.publish(LiveEvents.water("api-1", level: 2.6))
        try p.publish(LiveEvents.water("api-2", level: 2.7))
        try p.waitIdle()

        // Futian and the city see the street warning; Nanshan does not.
        let futian = try p.poll("/api/warnings", token: Ops.futian.token) { ($0["warnings"]?.arrayValue?.count ?? 0) == 1 }
        let warning = try #require(futian["warnings"]?.arrayValue?.first)
        let id = try #require(warning["id"]?.stringValue)
        let incident = try #require(warning["incident"]?.stringValue)
        #expect(warning["tier"] == "IV" && warning["owner"] == "sz.futian.shatou")
        #expect(try p.get("/api/warnings", token: Ops.city.token).json["warnings"]?.arrayValue?.count == 1)
        #expect(try p.get("/api/warnings", token: Ops.nanshan.token).json["warnings"]?.arrayValue?.isEmpty == true)
        #expect(try p.get("/api/warnings?status=exercise", token: Ops.city.token).json["warnings"]?.arrayValue?.isEmpty == true)
        let badStatus = try p.get("/api/warnings?status=drill", token: Ops.city.token)
        #expect(badStatus.status == 400 && badStatus.json["code"] == "bad_request")

        // Incidents carry their events summary.
        let incidents = try p.get("/api/incidents", token: Ops.futian.token).json["incidents"]?.arrayValue ?? []
        #expect(incidents.count == 1)
        #expect(incidents.first?["id"]?.stringValue == incident)
        #expect(incidents.first?["events"]?["events"]?.int == 2)
        #expect(incidents.first?["events"]?["sample"] == ["api-1", "api-2"])
        // Counts per type and value aggregates come from classify's stored state (dispatch does not keep them).
        #expect(incidents.first?["events"]?["counts"]?["water_level"]?.int == 2)
        #expect(incidents.first?["events"]?["values"]?["water_level"]?.objectValue?.members.isEmpty == false)
        #expect(try p.get("/api/incidents/\(incident)", token: Ops.nanshan.token).status == 403)
        #expect(try p.get("/api/incidents/inc-nope", token: Ops.city.token).status == 404)

        // Another area's operator is refused (403) and the refusal is audited; unknown ids are 404.
        let refused = try p.post("/api/warnings/\(id)/ack", token: Ops.nanshan.token)
        #expect(refused.status == 403 && refused.json["code"] == "forbidden", "\(refused.text)")
        let outside = try p.post("/api/warnings/\(id)/ack", token: Ops.futian.token, body: #"{"by":"sz.nanshan"}"#)
        #expect(outside.status == 403)
        #expect(try p.post("/api/warnings/w-nope/ack", token: Ops.futian.token).status == 404)
        let notJSON = try p.post("/api/warnings/\(id)/ack", token: Ops.futian.token, body: "{nope")
        #expect(notJSON.status == 400 && notJSON.json["code"] == "bad_request")
        let notObject = try p.post("/api/warnings/\(id)/ack", token: Ops.futian.token, body: "[1]")
        #expect(notObject.status == 400)

        // The owner's district acknowledges; the audit names the operator.
        let ack = try p.post("/api/warnings/\(id)/ack", token: Ops.futian.token)
        #expect(ack.status == 200 && ack.json["ok"] == true, "\(ack.text)")
        #expect(ack.json["warning"]?["id"]?.stringValue == id)
        let detail = try p.get("/api/incidents/\(incident)", token: Ops.futian.token).json
        let trail = detail["audit"]?.arrayValue ?? []
        #expect(trail.map { $0["operator"]?.stringValue ?? "-" } == ["nanshan-duty", "futian-duty"])
        #expect(trail.map { $0["outcome"]?.stringValue == "ok" } == [false, true])
        #expect(trail.allSatisfy { $0["action"] == "ack" && $0["target"]?.stringValue == id })
        #expect(trail.last?["by"] == "sz.futian")
        #expect(trail.first?["at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil)
        let audit = try p.get("/api/audit?incident=\(incident)", token: Ops.city.token).json
        #expect(audit["entries"]?.arrayValue?.count == 2)
        #expect(try p.get("/api/audit", token: Ops.nanshan.token).json["entries"]?.arrayValue?.map { $0["by"] }
                == ["sz.nanshan"])

        // Close: refused for Nanshan, done by Futian; the incident leaves the active lists.
        #expect(try p.post("/api/incidents/\(incident)/close", token: Ops.nanshan.token).status == 403)
        #expect(try p.post("/api/incidents/inc-nope/close", token: Ops.city.token).status == 404)
        let close = try p.post("/api/incidents/\(incident)/close", token: Ops.futian.token)
        #expect(close.status == 200, "\(close.text)")
        _ = try p.poll("/api/warnings", token: Ops.city.token) { $0["warnings"]?.arrayValue?.isEmpty == true }
        let closed = try p.post("/api/warnings/\(id)/ack", token: Ops.futian.token)
        #expect(closed.status == 404 || closed.status == 409, "\(closed.text)")
        let stats = try p.get("/api/stats", token: Ops.futian.token).json
        #expect(stats["events"]?["accepted"]?.int == 2)
        #expect(stats["warnings"]?.int == 2)
    }

    @Test func tasksStepWithinTheOwnersArea() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        try p.publish(LiveEvents.water("task-1", level: 3.1))
        try p.waitIdle()
        let tasks = try p.poll("/api/tasks", token: Ops.city.token) { ($0["tasks"]?.arrayValue?.count ?? 0) > 0 }
        let all = tasks["tasks"]?.arrayValue ?? []
        let task = try #require(all.first)
        let id = try #require(task["id"]?.stringValue)
        let owner = try #require(task["owner"]?.stringValue.flatMap(AreaPath.init))
        #expect(owner.isWithin(Ops.city.area))
        #expect(try p.get("/api/tasks", token: Ops.nanshan.token).json["tasks"]?.arrayValue?.isEmpty == true)

        let wrongArea = try p.post("/api/tasks/\(id)/step", token: Ops.nanshan.token, body: #"{"state":"done"}"#)
        #expect(wrongArea.status == 403, "\(wrongArea.text)")
        let badState = try p.post("/api/tasks/\(id)/step", token: Ops.city.token, body: #"{"state":"finished"}"#)
        #expect(badState.status == 400 && badState.json["error"]?.stringValue?.contains("state") == true)
        let noState = try p.post("/api/tasks/\(id)/step", token: Ops.city.token)
        #expect(noState.status == 400)
        #expect(try p.post("/api/tasks/t-nope/step", token: Ops.city.token, body: #"{"state":"done"}"#).status == 404)

        let done = try p.post("/api/tasks/\(id)/step", token: Ops.city.token, body: #"{"state":"done"}"#)
        #expect(done.status == 200, "\(done.text)")
        _ = try p.poll("/api/tasks", token: Ops.city.token) { v in
            !(v["tasks"]?.arrayValue ?? []).contains { $0["id"]?.stringValue == id }
        }
        let again = try p.post("/api/tasks/\(id)/step", token: Ops.city.token, body: #"{"state":"done"}"#)
        #expect(again.status == 409, "\(again.text)")
        let trail = try p.get("/api/audit", token: Ops.city.token).json["entries"]?.arrayValue ?? []
        #expect(trail.filter { $0["action"] == "step" }.map { $0["outcome"]?.stringValue == "ok" } == [false, true, false])
        #expect(trail.contains { $0["operator"] == "city-duty" && $0["detail"] == "done" })
    }

    @Test func metricsCarryEveryStatsFigureAndTheLatencies() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        try p.publish(LiveEvents.water("m-1", level: 2.6))
        let bad = try #require(try p.platform.request(#"{"id":"m-bad","source":"sz.futian.shatou"}"#))
        #expect(bad["status"] == "rejected")
        try p.waitIdle()
        _ = try p.poll("/api/warnings", token: Ops.city.token) { ($0["warnings"]?.arrayValue?.count ?? 0) == 1 }
        let metrics = try p.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        let lines = metrics.text.split(separator: "\n").map(String.init)
        func value(_ series: String) -> Double? {
            lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        // Counters persist across the pipeline's life: at least this test's events (the registry is per process).
        #expect((value(#"tocsin_events_total{outcome="accepted"}"#) ?? 0) >= 1)
        #expect((value(#"tocsin_events_total{outcome="rejected"}"#) ?? 0) >= 1)
        for series in [#"tocsin_events_total{outcome="duplicate"}"#, #"tocsin_events_total{outcome="oversized"}"#,
                       #"tocsin_events_total{outcome="unauthorised"}"#, "tocsin_warnings_total", "tocsin_tasks_total",
                       "tocsin_escalations_total", "tocsin_feed_seq", "tocsin_up"] {
            #expect(value(series) != nil, "\(series) missing")
        }
        #expect(value("tocsin_up") == 1)
        #expect(lines.contains { $0.hasPrefix("tocsin_ack_latency_seconds_bucket") })
        #expect(lines.contains { $0.hasPrefix("tocsin_event_to_warning_seconds_bucket") })
        #expect((value("tocsin_event_to_warning_seconds_count") ?? 0) >= 1)
        #expect((value("tocsin_ack_latency_seconds_count") ?? 0) >= 2)
    }
}
