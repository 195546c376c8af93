import Foundation
import Hummingbird
import TocsinConfig
import TocsinCore

/// The operators allowed on the API and dashboard, by bearer token (config `http.operators`).
public struct OperatorDirectory: Sendable {
    private let byToken: [[UInt8]: OperatorConfig]

    public init(_ operators: [OperatorConfig]) {
        var map: [[UInt8]: OperatorConfig] = [:]
        for op in operators { map[Array(op.token.utf8)] = op }
        byToken = map
    }

    public var isEmpty: Bool { byToken.isEmpty }

    /// The operator a request speaks for: `Authorization: Bearer TOKEN`, or `?token=` (for the live stream, which
    /// an EventSource cannot give headers). Every token is compared in full, in constant time.
    public func authenticate(_ request: Request) throws(APIError) -> OperatorConfig {
        var presented: String?
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else {
                throw APIError(.unauthorized, "Authorization: expected \"Bearer TOKEN\"", code: "unauthorised")
            }
            presented = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if let q = request.uri.queryParameters.get("token") {
            presented = q
        }
        guard let presented, !presented.isEmpty else {
            throw APIError(.unauthorized, "an operator token is needed (Authorization: Bearer TOKEN)", code: "unauthorised")
        }
        let bytes = Array(presented.utf8)
        var found: OperatorConfig?
        for (token, op) in byToken where Self.constantTimeEqual(token, bytes) { found = op }
        guard let found else { throw APIError(.unauthorized, "unknown operator token", code: "unauthorised") }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// An API refusal: its HTTP status and the same JSON shape as a command error reply.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var code: String

    public init(_ status: HTTPResponse.Status, _ message: String, code: String) {
        self.status = status
        self.message = message
        self.code = code
    }

    /// The HTTP status of a command error reply's `code`.
    public static func status(ofCommandCode code: String) -> HTTPResponse.Status {
        switch code {
        case "not_found": .notFound
        case "forbidden": .forbidden
        case "conflict": .conflict
        case "unavailable": .serviceUnavailable
        case "unauthorised": .unauthorized
        default: .badRequest
        }
    }

    var body: [UInt8] {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("ok", false)
        w.field("error", message)
        w.field("code", code)
        w.endObject()
        return w.bytes
    }
}
