import Foundation
import Logging

/// A ZAP handler (ZeroMQ Authentication Protocol, RFC 27, https://rfc.zeromq.org/spec/27/) that
/// admits only CURVE clients whose public key is on an allow-list, and passes the name listed for
/// the key on as the connection's `User-Id` (see ``Message/userID``).
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` in the server socket's context about
/// every new connection to a CURVE server socket, during the handshake. Hence:
/// - ``start()`` must be called before CURVE servers of the same context bind or accept connections;
/// - a decision holds for the connection's lifetime: ``update(allowed:)`` (e.g. revoking a key)
///   affects new connections only. To stop serving an established connection whose key was revoked, a
///   server checks each message with ``isAllowed(_:)``: the handler attaches the admitted key as the
///   metadata property ``keyProperty`` (``Message/curveKey``);
/// - servers must set a non-empty ZAP domain and ``Socket/setZAPEnforceDomain(_:)``
///   (``Socket/configureCurveServer(secretKey:zapDomain:)`` does both). Otherwise libzmq 4.3 admits
///   everyone to a CURVE server when no handler is bound (before ``start()``, after ``stop()``, or
///   if the handler's thread died), and with the enforce option but no domain it skips ZAP entirely.
///
/// Clients that do not speak CURVE never reach the handler: libzmq refuses them in the handshake.
///
/// The handler runs a REP socket on a dedicated `Thread`, polling it together with a ``WakeUp`` so
/// that ``stop()`` returns promptly. It also ends when its context is shut down
/// (``Context/shutdown()``), so two-phase context shutdown works with a handler running; call
/// ``stop()`` before ``Context/terminate()`` all the same.
///
/// Thread safety (`@unchecked Sendable`): every method may be called from any thread; the allow-list
/// and counters are behind a lock, and the socket is used by the handler's thread only.
public final class ZAPHandler: @unchecked Sendable {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"
    /// The ZAP metadata property (RFC 27 "metadata", read with `zmq_msg_gets`) that carries the admitted
    /// client's public key (Z85) on every message of its connection.
    public static let keyProperty = "X-Curve-Key"

    private struct Running {
        let wakeUp: WakeUp
        let exited: DispatchSemaphore
    }

    private struct State {
        var allowed: [String: String]
        var admitted = 0
        var denied = 0
        var running: Running?
        var stopping = false
    }

    private let context: Context
    private let domains: Set<String>?
    private let logger: Logger
    private let state: Locked<State>

    /// - Parameters:
    ///   - context: the context of the CURVE server sockets to guard.
    ///   - allowed: client public keys (Z85, 40 characters) mapped to the user id to report for them.
    ///   - domains: when given, only requests for these ZAP domains (``Socket/setZAPDomain(_:)``;
    ///     the empty string is a socket without one) can be admitted; others are denied.
    ///   - logger: admissions are logged at debug level, denials at notice level.
    public init(context: Context, allowed: [String: String], domains: Set<String>? = nil, logger: Logger) {
        self.context = context
        self.domains = domains
        self.logger = logger
        self.state = Locked(State(allowed: allowed))
    }

    deinit {
        // The handler's thread keeps the handler alive while it runs, so it has ended here.
        state.withLock { $0.running?.wakeUp.close() }
    }

    /// Binds the handler's socket to ``endpoint`` (so CURVE servers made afterwards are guarded as
    /// soon as this returns) and starts its thread. Throws if the handler is already running,
    /// or if the endpoint is taken (`EADDRINUSE`: another handler runs in this context).
    public func start() throws {
        let wakeUp = try WakeUp()
        let exited = DispatchSemaphore(value: 0)
        let alreadyRunning = state.withLock { state -> Bool in
            if state.running != nil { return true }
            state.running = Running(wakeUp: wakeUp, exited: exited)
            state.stopping = false
            return false
        }
        if alreadyRunning {
            wakeUp.close()
            throw ZMQError(code: EINVAL, operation: "ZAPHandler.start (already running)")
        }
        let socket: Socket
        do {
            socket = try context.makeSocket(.rep)
            do {
                try socket.bind(Self.endpoint)
            } catch {
                socket.close()
                throw error
            }
        } catch {
            state.withLock { $0.running = nil }
            wakeUp.close()
            throw error
        }
        // Starting the thread is a full memory barrier: the socket moves to it.
        let thread = Thread { [self] in
            self.run(socket: socket, wakeUp: wakeUp)
            exited.signal()
        }
        thread.name = "ZAPHandler"
        thread.start()
        logger.debug("ZAP handler started", metadata: ["endpoint": "\(Self.endpoint)"])
    }

    /// Replaces the allow-list (public key Z85 → user id), e.g. to revoke a key. Takes effect for the
    /// next handshake; established connections stay.
    public func update(allowed: [String: String]) {
        state.withLock { $0.allowed = allowed }
    }

    /// The current allow-list (public key Z85 → user id).
    public var allowed: [String: String] {
        state.withLock { $0.allowed }
    }

    /// Whether `message` comes from a connection whose key is still allowed under the same user id: true for
    /// a message without a user id (a connection that ZAP did not see, e.g. `inproc://`), false when the key
    /// was removed or now names someone else. Pass `allowed` (a snapshot of ``allowed``) to check a batch
    /// without taking the lock per message.
    public static func isAllowed(_ message: Message, allowed: [String: String]) -> Bool {
        guard let userID = message.userID else { return true }
        guard let key = message.curveKey else { return false }
        return allowed[key] == userID
    }

    /// ``isAllowed(_:allowed:)`` against the current list.
    public func isAllowed(_ message: Message) -> Bool {
        Self.isAllowed(message, allowed: allowed)
    }

    /// How many ZAP requests were admitted so far.
    public var admittedCount: Int {
        state.withLock { $0.admitted }
    }

    /// How many ZAP requests were denied so far (unknown key, wrong mechanism or domain, malformed).
    public var deniedCount: Int {
        state.withLock { $0.denied }
    }

    /// Stops the thread and closes its socket; returns once both are done. Idempotent; the handler
    /// can be started again.
    public func stop() {
        let running = state.withLock { state -> Running? in
            state.stopping = true
            return state.running
        }
        guard let running else { return }
        running.wakeUp.signal()
        running.exited.wait()
        running.wakeUp.close()
        state.withLock { state in
            state.running = nil
            state.stopping = false
        }
        logger.debug("ZAP handler stopped")
    }

    // MARK: The handler thread

    private var isStopping: Bool {
        state.withLock { $0.stopping }
    }

    private func run(socket: Socket, wakeUp: WakeUp) {
        defer {
            // zmq_close frees an inproc endpoint only later, on libzmq's reaper thread; unbinding
            // frees it now, so the handler (or another) can start again at once.
            try? socket.unbind(Self.endpoint)
            socket.close()
        }
        var poller = Poller()
        let socketIndex = poller.add(socket)
        let wakeUpIndex = poller.add(fileDescriptor: wakeUp.fileDescriptor)
        do {
            while !isStopping {
                let ready = try poller.poll(timeoutMilliseconds: -1)
                if ready.isReadable(wakeUpIndex) {
                    wakeUp.drain()
                    continue
                }
                if ready.isReadable(socketIndex) {
                    while let request = try socket.receive(dontWait: true, maxFrames: 16) {
                        try socket.send(reply(to: request))
                    }
                }
            }
        } catch let error as ZMQError where error.isTerminated {
            logger.debug("ZAP handler ends: context shut down")
        } catch {
            logger.error("ZAP handler ends: \(error)")
        }
    }

    /// The ZAP reply (RFC 27): version, request id, status code, status text, user id, metadata.
    private func reply(to request: Message) -> [[UInt8]] {
        let frames = request.frames
        let requestID = frames.count > 1 ? frames[1] : []
        func answer(_ code: String, _ text: String, userID: String = "", metadata: [UInt8] = []) -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(userID.utf8), metadata]
        }
        func deny(_ code: String, _ text: String, _ metadata: Logger.Metadata) -> [[UInt8]] {
            state.withLock { $0.denied += 1 }
            logger.notice("ZAP denied: \(text)", metadata: metadata)
            return answer(code, text)
        }

        // version, request id, domain, address, routing id, mechanism, credentials...
        guard frames.count >= 6, !request.truncated else {
            return deny("500", "Malformed ZAP request", [:])
        }
        guard frames[0] == Array("1.0".utf8) else {
            return deny("500", "Unsupported ZAP version", [:])
        }
        let domain = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        var metadata: Logger.Metadata = [
            "domain": "\(domain)", "address": "\(address)", "mechanism": "\(mechanism)",
        ]
        if let domains, !domains.contains(domain) {
            return deny("400", "Domain not allowed", metadata)
        }
        guard mechanism == "CURVE", frames.count == 7, frames[6].count == 32,
              let key = Z85.encode(frames[6])
        else {
            return deny("400", "CURVE required", metadata)
        }
        metadata["key"] = "\(key)"
        guard let userID = state.withLock({ $0.allowed[key] }) else {
            return deny("400", "Unknown key", metadata)
        }
        state.withLock { $0.admitted += 1 }
        metadata["user"] = "\(userID)"
        logger.debug("ZAP admitted", metadata: metadata)
        return answer("200", "OK", userID: userID, metadata: Self.metadata([Self.keyProperty: key]))
    }

    /// ZMTP metadata (RFC 23 / RFC 37): per property, a 1-byte name length, the name, a 4-byte big-endian value
    /// length and the value.
    static func metadata(_ properties: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            let n = Array(name.utf8), v = Array(value.utf8)
            out.append(UInt8(n.count))
            out += n
            let count = UInt32(v.count)
            out += [UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
            out += v
        }
        return out
    }
}
