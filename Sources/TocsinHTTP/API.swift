import Foundation
import Hummingbird
import Logging
import TocsinConfig
import TocsinCore

/// The JSON API under `/api/` (docs/protocol.md "HTTP API"). Every read and every action is a request to the
/// command endpoint, so the API and the command endpoint share one implementation of the rules and errors; the
/// API adds operator tokens, each bound to an area, and names the operator in the audit table.
struct API: Sendable {
    let operators: OperatorDirectory
    let command: CommandClient
    let logger: Logger
    let counters: HTTPCounters

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("api")
        api.get("me") { request, _ in await respond { try me(request) } }
        api.get("stats") { request, _ in await respond { try await stats(request) } }
        api.get("warnings") { request, _ in await respond { try await warnings(request) } }
        api.post("warnings/:id/ack") { request, context in
            await respond { try await ack(request, id: try parameter(context, "id")) }
        }
        api.get("tasks") { request, _ in await respond { try await tasks(request) } }
        api.post("tasks/:id/step") { request, context in
            await respond { try await step(request, id: try parameter(context, "id")) }
        }
        api.get("incidents") { request, _ in await respond { try await incidents(request) } }
        api.get("incidents/:id") { request, context in
            await respond { try await incident(request, id: try parameter(context, "id")) }
        }
        api.post("incidents/:id/close") { request, context in
            await respond { try await close(request, id: try parameter(context, "id")) }
        }
        api.get("audit") { request, _ in await respond { try await audit(request) } }
    }

    // MARK: - Routes

    func me(_ request: Request) throws(APIError) -> [UInt8] {
        let op = try operators.authenticate(request)
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("ok", true)
        w.field("name", op.name)
        w.field("area", op.area.rawValue)
        w.endObject()
        return w.bytes
    }

    func stats(_ request: Request) async throws -> [UInt8] {
        _ = try operators.authenticate(request)
        return try await forward { $0.field("op", "stats") }
    }

    /// The latest warning of each open incident the operator may see.
    func warnings(_ request: Request) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let active = try await activeReply()
        let items = try filtered(active["warnings"], for: op, request: request)
        return list("warnings", items)
    }

    func tasks(_ request: Request) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let active = try await activeReply()
        let items = try filtered(active["tasks"], for: op, request: request)
        return list("tasks", items)
    }

    /// Open incidents with their events summary (from their latest warning's evidence).
    func incidents(_ request: Request) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let active = try await activeReply()
        let warnings = try filtered(active["warnings"], for: op, request: request)
        let tasks = active["tasks"]?.arrayValue ?? []
        let facts = try await incidentFacts()
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.field("ok", true)
        w.key("incidents")
        w.beginArray()
        for warning in warnings { writeIncident(&w, warning, tasks: tasks, facts: facts) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// One open incident: its summary, its open tasks and its audit trail.
    func incident(_ request: Request, id: String) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let active = try await activeReply()
        let warning = (active["warnings"]?.arrayValue ?? []).first { $0["incident"]?.stringValue == id }
        guard let warning else { throw APIError(.notFound, "no open incident \"\(id)\"", code: "not_found") }
        guard visible(warning, to: op) else {
            throw APIError(.forbidden, "incident \(id) is outside \(op.area)", code: "forbidden")
        }
        let auditReply = try await command.request { w in
            w.field("op", "audit")
            w.field("incident", id)
        }
        let tasks = active["tasks"]?.arrayValue ?? []
        let facts = try await incidentFacts()
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.field("ok", true)
        w.key("incident")
        writeIncident(&w, warning, tasks: tasks, facts: facts)
        w.key("tasks")
        w.beginArray()
        for t in tasks where t["incident"]?.stringValue == id { w.value(t) }
        w.endArray()
        w.key("audit")
        w.value(auditReply["entries"] ?? .array([]))
        w.endObject()
        return w.bytes
    }

    func ack(_ request: Request, id: String) async throws -> [UInt8] {
        try await act(request, op: "ack", field: "warning", id: id)
    }

    /// An action on one target (`ack` a warning, `close` an incident) for the operator's area, named in the audit.
    func act(_ request: Request, op name: String, field: String, id: String) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let by = try await actingArea(request, op)
        counters.actions.increment()
        return try await forward { w in
            w.field("op", name)
            w.field(field, id)
            w.field("by", by.rawValue)
            w.field("operator", op.name)
        }
    }

    func step(_ request: Request, id: String) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let body = try await jsonBody(request)
        guard case .string(let state)? = body["state"] else {
            throw APIError(.badRequest, "state: expected \"acknowledged\" or \"done\"", code: "bad_request")
        }
        let by = try actingArea(body, op)
        counters.actions.increment()
        return try await forward { w in
            w.field("op", "step")
            w.field("task", id)
            w.field("by", by.rawValue)
            w.field("state", state)
            w.field("operator", op.name)
        }
    }

    func close(_ request: Request, id: String) async throws -> [UInt8] {
        try await act(request, op: "close", field: "incident", id: id)
    }

    /// The audit trail (of one incident with `?incident=`), limited to what the operator's area may see.
    func audit(_ request: Request) async throws -> [UInt8] {
        let op = try operators.authenticate(request)
        let incident = request.uri.queryParameters.get("incident")
        let reply = try await command.request { w in
            w.field("op", "audit")
            if let incident { w.field("incident", incident) }
        }
        try check(reply)
        let entries = (reply["entries"]?.arrayValue ?? []).filter { e in
            guard let by = e["by"]?.stringValue.flatMap(AreaPath.init) else { return false }
            return by.isWithin(op.area) || op.area.isWithin(by)
        }
        return list("entries", entries)
    }

    // MARK: - Helpers

    /// The area an action is taken for: the operator's own, or (`"by"` in the body) an area within it.
    func actingArea(_ request: Request, _ op: OperatorConfig) async throws -> AreaPath {
        try actingArea(try await jsonBody(request), op)
    }

    func actingArea(_ body: JSONObject, _ op: OperatorConfig) throws(APIError) -> AreaPath {
        guard let value = body["by"], !value.isNull else { return op.area }
        guard case .string(let text) = value, let by = AreaPath(text) else {
            throw APIError(.badRequest, "by: expected an area path", code: "bad_request")
        }
        guard by.isWithin(op.area) else {
            throw APIError(.forbidden, "operator \(op.name) acts only within \(op.area), not for \(by)", code: "forbidden")
        }
        return by
    }

    /// The request body as a JSON object; an empty body is an empty object.
    func jsonBody(_ request: Request) async throws -> JSONObject {
        var buffer = try await request.body.collect(upTo: 64 * 1024)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return JSONObject() }
        do {
            guard case .object(let object) = try JSONValue.parse(bytes) else {
                throw APIError(.badRequest, "the body must be a JSON object", code: "bad_request")
            }
            return object
        } catch let error as JSONParseError {
            throw APIError(.badRequest, "not JSON: \(error)", code: "bad_request")
        }
    }

    func activeReply() async throws -> JSONObject {
        let reply = try await command.request { $0.field("op", "active") }
        try check(reply)
        return reply
    }

    /// Sends a request and passes the reply on, with the status its `code` means.
    func forward(_ build: (inout JSONWriter) -> Void) async throws -> [UInt8] {
        let reply = try await command.request(build)
        try check(reply)
        return JSONValue.object(reply).serialized()
    }

    func check(_ reply: JSONObject) throws(APIError) {
        guard reply["ok"]?.boolValue != true else { return }
        let code = reply["code"]?.stringValue ?? "bad_request"
        throw APIError(APIError.status(ofCommandCode: code), reply["error"]?.stringValue ?? "refused", code: code)
    }

    /// Items whose area or owner lies within the operator's area, of the `?status=` asked for (all by default).
    func filtered(_ value: JSONValue?, for op: OperatorConfig, request: Request) throws(APIError) -> [JSONValue] {
        let status = request.uri.queryParameters.get("status")
        if let status, !["actual", "exercise", "test"].contains(status) {
            throw APIError(.badRequest, "status: expected actual, exercise or test", code: "bad_request")
        }
        return (value?.arrayValue ?? []).filter { item in
            visible(item, to: op) && (status == nil || item["status"]?.stringValue == status)
        }
    }

    func visible(_ item: JSONValue, to op: OperatorConfig) -> Bool {
        for key in ["area", "owner"] {
            if let path = item[key]?.stringValue.flatMap(AreaPath.init), path.isWithin(op.area) { return true }
        }
        return false
    }

    /// The open incidents' current events summaries, by incident id.
    func incidentFacts() async throws -> [String: JSONValue] {
        let reply = try await command.request { $0.field("op", "incidents") }
        try check(reply)
        var out: [String: JSONValue] = [:]
        for i in reply["incidents"]?.arrayValue ?? [] {
            if let id = i["id"]?.stringValue, let events = i["events"] { out[id] = events }
        }
        return out
    }

    func writeIncident(_ w: inout JSONWriter, _ warning: JSONValue, tasks: [JSONValue], facts: [String: JSONValue]) {
        let id = warning["incident"]?.stringValue ?? ""
        w.beginObject()
        w.field("id", id)
        for key in ["event", "category", "status", "tier", "color", "area", "level", "owner", "headline",
                    "escalated", "location", "sent"] {
            if let v = warning[key] {
                w.key(key)
                w.value(v)
            }
        }
        w.field("warning", warning["id"]?.stringValue ?? "")
        w.key("events")
        w.value(facts[id] ?? warning["evidence"] ?? .null)
        w.field("openTasks", tasks.filter { $0["incident"]?.stringValue == id }.count)
        w.endObject()
    }

    func list(_ name: String, _ items: [JSONValue]) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + items.count * 512)
        w.beginObject()
        w.field("ok", true)
        w.key(name)
        w.beginArray()
        for item in items { w.value(item) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    func parameter(_ context: BasicRequestContext, _ name: String) throws(APIError) -> String {
        guard let value = context.parameters.get(name), !value.isEmpty, value.utf8.count <= 256 else {
            throw APIError(.badRequest, "\(name): missing or too long", code: "bad_request")
        }
        return value
    }

    /// Runs a route, turning refusals into their JSON error responses (and counting them).
    func respond(_ body: () async throws -> [UInt8]) async -> Response {
        do {
            return HTTPServer.json(try await body())
        } catch let e as APIError {
            counters.refusal(e.status)
            if e.status == .unauthorized || e.status == .forbidden {
                logger.notice("http api: \(e.status.code) \(e.message)")
            }
            return HTTPServer.json(e.body, status: e.status)
        } catch let e as CommandUnavailable {
            counters.refusal(.serviceUnavailable)
            logger.warning("http api: \(e)")
            return HTTPServer.json(APIError(.serviceUnavailable, e.description, code: "unavailable").body,
                                   status: .serviceUnavailable)
        } catch {
            counters.refusal(.internalServerError)
            logger.error("http api: \(error)")
            return HTTPServer.json(APIError(.internalServerError, "\(error)", code: "internal").body,
                                   status: .internalServerError)
        }
    }
}
