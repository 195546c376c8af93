import TocsinConfig
import TocsinCore
import ZeroMQ

/// CURVE server settings applied to every public endpoint when the config enables security.
public struct ServerSecurity: Sendable {
    public static let zapDomain = "tocsin"
    public var secretKey: String
    /// The ZAP handler guarding the endpoints. ZAP decides once per connection, at the handshake; the workers
    /// also check every message's key against the handler's current list, so that a key removed by a reload
    /// (SIGHUP) stops being served on the connections it already has.
    public var handler: ZAPHandler?

    public init(secretKey: String, handler: ZAPHandler? = nil) {
        self.secretKey = secretKey
        self.handler = handler
    }

    /// The reason a message from a revoked key is refused, for the `rejected` reply or the command error.
    static func revoked(_ message: Message) -> String {
        "unauthorised: the key of \(message.userID ?? "this client") is no longer allowed"
    }

    /// Makes `socket` a CURVE server that consults the ZAP handler and refuses everyone when none answers
    /// (`ZMQ_ZAP_ENFORCE_DOMAIN`, option 93). Throws when libzmq does not accept the option: the service must
    /// not start unenforced.
    public func apply(to socket: Socket) throws {
        // A non-empty ZAP domain and enforcement together: libzmq 4.3 consults the handler only when a
        // domain is set, and refuses everyone when enforcement is on and no handler answers.
        try socket.configureCurveServer(secretKey: secretKey, zapDomain: Self.zapDomain)
    }

    /// The ZAP allow-list of a configuration: each platform's key admits it as its area path; each client key
    /// as `client:NAME`.
    public static func allowList(_ config: TocsinConfiguration) -> [String: String] {
        var allowed: [String: String] = [:]
        for area in config.areas.sorted {
            if let key = area.publicKey { allowed[key] = area.path.rawValue }
        }
        for (name, key) in config.security.clients { allowed[key] = "client:\(name)" }
        return allowed
    }
}
