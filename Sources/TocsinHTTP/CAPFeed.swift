import Foundation
import Hummingbird
import TocsinConfig
import TocsinCore
import TocsinWorkers

/// Public CAP 1.2, as alerting hubs publish it: each warning at `/cap/{id}.xml`, and an Atom feed of the current
/// warnings (the latest of each open incident) at `/cap/feed.atom`, each entry linking its CAP document and
/// carrying it inline. `?status=exercise` (or `test`, `all`) selects other traffic than `actual`.
struct CAPFeed: Sendable {
    let config: TocsinConfiguration
    let command: CommandClient

    func register(on router: Router<BasicRequestContext>) {
        router.get("cap/feed.atom") { request, _ in
            do {
                return try await feed(request)
            } catch let e as APIError {
                return HTTPServer.json(e.body, status: e.status)
            } catch {
                return HTTPServer.json(APIError(.serviceUnavailable, "\(error)", code: "unavailable").body,
                                       status: .serviceUnavailable)
            }
        }
        router.get("cap/:file") { _, context in
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(".xml"), file.count > 4 else {
                return HTTPServer.json(APIError(.notFound, "expected /cap/{warning id}.xml", code: "not_found").body,
                                       status: .notFound)
            }
            do {
                let xml = try await document(String(file.dropLast(4)))
                return HTTPServer.text(xml, contentType: "application/cap+xml; charset=utf-8")
            } catch let e as APIError {
                return HTTPServer.json(e.body, status: e.status)
            } catch {
                return HTTPServer.json(APIError(.serviceUnavailable, "\(error)", code: "unavailable").body,
                                       status: .serviceUnavailable)
            }
        }
    }

    func document(_ id: String) async throws -> String {
        let reply = try await command.request { w in
            w.field("op", "cap")
            w.field("warning", id)
        }
        guard reply["ok"]?.boolValue == true, case .string(let xml)? = reply["xml"] else {
            let code = reply["code"]?.stringValue ?? "not_found"
            throw APIError(APIError.status(ofCommandCode: code), reply["error"]?.stringValue ?? "no such warning",
                           code: code)
        }
        return xml
    }

    func feed(_ request: Request) async throws -> Response {
        let status = request.uri.queryParameters.get("status") ?? "actual"
        guard ["actual", "exercise", "test", "all"].contains(status) else {
            throw APIError(.badRequest, "status: expected actual, exercise, test or all", code: "bad_request")
        }
        let active = try await command.request { $0.field("op", "active") }
        guard active["ok"]?.boolValue == true else {
            throw APIError(.serviceUnavailable, active["error"]?.stringValue ?? "active failed", code: "unavailable")
        }
        let warnings = (active["warnings"]?.arrayValue ?? []).filter {
            status == "all" || $0["status"]?.stringValue == status
        }
        let host = request.head.authority ?? "\(config.http.host):\(config.http.port)"
        let base = "http://\(host)"
        let e = CAPRenderer.escaped
        var x = """
            <?xml version="1.0" encoding="UTF-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom">
              <id>urn:tocsin:\(e(CAPRenderer.defaultSender)):feed:\(status)</id>
              <title>Tocsin warnings (\(status))</title>
              <link rel="self" type="application/atom+xml" href="\(e(base))/cap/feed.atom?status=\(status)"/>
              <author><name>\(e(CAPRenderer.defaultSender))</name></author>

            """
        let updated = warnings.compactMap { $0["sent"]?.stringValue }.max() ?? WallClock.now().rfc3339
        x += "  <updated>\(e(updated))</updated>\n"
        for w in warnings {
            guard let id = w["id"]?.stringValue else { continue }
            let cap = try await document(id)
            let alert = cap.range(of: "?>").map { String(cap[$0.upperBound...]) } ?? cap
            let summary = [w["tier"], w["color"], w["event"], w["area"]].compactMap { $0?.stringValue }
                .joined(separator: " ")
            x += """
                  <entry>
                    <id>urn:tocsin:warning:\(e(id))</id>
                    <title>\(e(w["headline"]?.stringValue ?? id))</title>
                    <updated>\(e(w["sent"]?.stringValue ?? updated))</updated>
                    <summary>\(e(summary))</summary>
                    <category term="\(e(w["event"]?.stringValue ?? ""))"/>
                    <link rel="alternate" type="application/cap+xml" href="\(e(base))/cap/\(e(id)).xml"/>
                    <content type="application/cap+xml">\(alert.trimmingCharacters(in: .whitespacesAndNewlines))</content>
                  </entry>

                """
        }
        x += "</feed>\n"
        return HTTPServer.text(x, contentType: "application/atom+xml; charset=utf-8")
    }
}
