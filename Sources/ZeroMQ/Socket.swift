import CZeroMQ

/// The socket patterns this module supports (http://api.zeromq.org/4-3:zmq-socket).
public enum SocketType: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case pub, xpub, sub, push, pull, dealer, router, req, rep
    /// Exclusive pair; here only to read a socket monitor's events (``ConnectionMonitor``).
    case pair

    var zmqType: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .xpub: ZMQ_XPUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .pair: ZMQ_PAIR
        }
    }

    public var description: String {
        switch self {
        case .pub: "PUB"
        case .xpub: "XPUB"
        case .sub: "SUB"
        case .push: "PUSH"
        case .pull: "PULL"
        case .dealer: "DEALER"
        case .router: "ROUTER"
        case .req: "REQ"
        case .rep: "REP"
        case .pair: "PAIR"
        }
    }
}

/// A libzmq socket, made with ``Context/makeSocket(_:linger:)``.
///
/// Ownership rule: libzmq sockets are not thread-safe. A socket belongs to one owner thread at a
/// time, which alone calls its methods (including ``close()``); it may be handed to another thread
/// with a full memory barrier (e.g. starting the thread, or a lock), never used by two at once.
/// It is `@unchecked Sendable` only so that it can be handed over like that.
///
/// Close it explicitly with ``close()``; `deinit` asserts that it was closed (a bug in debug builds)
/// and closes it as a fallback. The socket keeps its ``Context`` alive.
public final class Socket: @unchecked Sendable {
    /// The pattern this socket was made with.
    public let type: SocketType
    /// The context the socket belongs to.
    public let context: Context
    private var handle: UnsafeMutableRawPointer?
    /// Whether a message may carry connection properties (`User-Id` and the CURVE key, which the ZAP handler
    /// sets): true once this socket is a CURVE server or has a ZAP domain or enforces one. Otherwise libzmq never
    /// consults ZAP for its connections, and receiving does not ask each message for properties it cannot have
    /// (a lookup in the message's property map, about 350 instructions per message on the ingest thread).
    public private(set) var mayCarryProperties = false

    init(context: Context, type: SocketType, linger: Int32) throws {
        guard let handle = zmq_socket(context.raw, type.zmqType) else {
            throw ZMQError.last("zmq_socket(\(type))")
        }
        self.context = context
        self.type = type
        self.handle = handle
        do {
            try setLinger(milliseconds: linger)
        } catch {
            zmq_close(handle)
            self.handle = nil
            throw error
        }
    }

    deinit {
        assert(handle == nil, "ZeroMQ.Socket (\(type)) was not closed before deinit")
        close()
    }

    /// The live handle, or `ENOTSOCK` once closed.
    @inline(__always)
    private func live(_ operation: @autoclosure () -> String) throws -> UnsafeMutableRawPointer {
        guard let handle else {
            throw ZMQError(code: ENOTSOCK, operation: operation())
        }
        return handle
    }

    /// The live handle for other parts of this module (``Poller``), or `ENOTSOCK` once closed.
    func rawHandle(for operation: String) throws -> UnsafeMutableRawPointer {
        try live(operation)
    }

    // MARK: Lifecycle and endpoints

    /// Closes the socket (`zmq_close`). Unsent messages are kept for at most the socket's
    /// `ZMQ_LINGER`, by libzmq's I/O thread. Idempotent; every later call throws `ENOTSOCK`.
    /// http://api.zeromq.org/4-3:zmq-close
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// True once ``close()`` was called.
    public var isClosed: Bool { handle == nil }

    /// Accepts connections on `endpoint`, e.g. `tcp://127.0.0.1:*` (any free port: read it back with
    /// ``lastEndpoint()``), `ipc:///tmp/name`, `inproc://name`. http://api.zeromq.org/4-3:zmq-bind
    public func bind(_ endpoint: String) throws {
        let socket = try live("zmq_bind(\(endpoint))")
        try zmqRetrying("zmq_bind(\(endpoint))") { zmq_bind(socket, endpoint) }
    }

    /// Connects to `endpoint`. libzmq connects (and reconnects) in the background, so this succeeds
    /// before the peer exists. http://api.zeromq.org/4-3:zmq-connect
    public func connect(_ endpoint: String) throws {
        let socket = try live("zmq_connect(\(endpoint))")
        try zmqRetrying("zmq_connect(\(endpoint))") { zmq_connect(socket, endpoint) }
    }

    /// Stops accepting on `endpoint` (use the resolved form from ``lastEndpoint()`` for wildcards).
    /// http://api.zeromq.org/4-3:zmq-unbind
    public func unbind(_ endpoint: String) throws {
        let socket = try live("zmq_unbind(\(endpoint))")
        try zmqRetrying("zmq_unbind(\(endpoint))") { zmq_unbind(socket, endpoint) }
    }

    /// Drops the connection to `endpoint`. http://api.zeromq.org/4-3:zmq-disconnect
    public func disconnect(_ endpoint: String) throws {
        let socket = try live("zmq_disconnect(\(endpoint))")
        try zmqRetrying("zmq_disconnect(\(endpoint))") { zmq_disconnect(socket, endpoint) }
    }

    /// `ZMQ_LAST_ENDPOINT`: the endpoint last bound, resolved, e.g. `tcp://127.0.0.1:41235` after
    /// binding `tcp://127.0.0.1:*`. Empty before any bind.
    public func lastEndpoint() throws -> String {
        let bytes = try bytesOption(ZMQ_LAST_ENDPOINT, "ZMQ_LAST_ENDPOINT", capacity: 1024)
        let text = bytes.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Options (http://api.zeromq.org/4-3:zmq-setsockopt)

    /// `ZMQ_LINGER`: how long unsent messages are kept after ``close()`` (-1 forever, which this
    /// module never uses by default because it makes ``Context/terminate()`` hang).
    public func setLinger(milliseconds: Int32) throws {
        try setInt32(ZMQ_LINGER, "ZMQ_LINGER", milliseconds)
    }

    /// The current `ZMQ_LINGER` in milliseconds.
    public func linger() throws -> Int32 {
        try int32Option(ZMQ_LINGER, "ZMQ_LINGER")
    }

    /// `ZMQ_SNDHWM`: how many outbound messages are queued per peer before sends block, fail with
    /// `EAGAIN`, or drop (by pattern). 0 means no limit. Set it before bind/connect.
    public func setSendHighWaterMark(_ n: Int32) throws {
        try setInt32(ZMQ_SNDHWM, "ZMQ_SNDHWM", n)
    }

    /// `ZMQ_RCVHWM`: how many inbound messages are queued per peer. 0 means no limit.
    /// Set it before bind/connect.
    public func setReceiveHighWaterMark(_ n: Int32) throws {
        try setInt32(ZMQ_RCVHWM, "ZMQ_RCVHWM", n)
    }

    /// `ZMQ_MAXMSGSIZE`: a peer that sends a frame larger than `bytes` is disconnected and the frame
    /// is never delivered (-1: no limit). Enforced by libzmq's decoder, so on `tcp://` and `ipc://`,
    /// not `inproc://`.
    public func setMaxMessageSize(_ bytes: Int64) throws {
        try setInt64(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", bytes)
    }

    /// The current `ZMQ_MAXMSGSIZE` (-1: no limit).
    public func maxMessageSize() throws -> Int64 {
        try int64Option(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE")
    }

    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections, so a send to a peer that is
    /// not up blocks or fails with `EAGAIN` instead of waiting in a pipe.
    public func setImmediate(_ on: Bool) throws {
        try setInt32(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", on ? 1 : 0)
    }

    /// `ZMQ_RECONNECT_IVL`: milliseconds before a connecting socket retries a lost or refused
    /// connection (default 100); -1 never retries. A client that must know where one connection ends
    /// (to resend in order on a fresh socket) sets -1. Set it before connect.
    public func setReconnectInterval(milliseconds: Int32) throws {
        try setInt32(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", milliseconds)
    }

    /// `ZMQ_ROUTER_MANDATORY` (ROUTER): sending to an unknown routing id throws `EHOSTUNREACH`
    /// instead of silently dropping the message.
    public func setRouterMandatory(_ on: Bool) throws {
        try setInt32(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", on ? 1 : 0)
    }

    /// `ZMQ_XPUB_NODROP` (XPUB/PUB): when a subscriber's queue is full, a send fails with `EAGAIN`
    /// (``send(_:dontWait:)`` returns false) instead of dropping the message.
    public func setXPubNoDrop(_ on: Bool) throws {
        try setInt32(ZMQ_XPUB_NODROP, "ZMQ_XPUB_NODROP", on ? 1 : 0)
    }

    /// ZMTP heartbeats, all in milliseconds: `ZMQ_HEARTBEAT_IVL` (how often to ping, 0 off),
    /// `ZMQ_HEARTBEAT_TTL` (how long the peer should wait for traffic from us before dropping us;
    /// libzmq rounds it down to tenths of a second) and `ZMQ_HEARTBEAT_TIMEOUT` (how long we wait
    /// for a pong before dropping the connection). Set before bind/connect.
    public func setHeartbeat(interval: Int32, ttl: Int32, timeout: Int32) throws {
        try setInt32(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL", interval)
        try setInt32(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL", ttl)
        try setInt32(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT", timeout)
    }

    /// `ZMQ_SUBSCRIBE` (SUB/XSUB): receive messages whose first frame starts with `prefix`
    /// (empty: everything).
    public func subscribe(_ prefix: [UInt8]) throws {
        try setBytes(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE", prefix)
    }

    /// `ZMQ_SUBSCRIBE` with the UTF-8 bytes of `prefix`.
    public func subscribe(_ prefix: String) throws {
        try subscribe(Array(prefix.utf8))
    }

    /// `ZMQ_UNSUBSCRIBE`: removes one earlier `subscribe(_:)` of the same prefix.
    public func unsubscribe(_ prefix: [UInt8]) throws {
        try setBytes(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE", prefix)
    }

    /// `ZMQ_UNSUBSCRIBE` with the UTF-8 bytes of `prefix`.
    public func unsubscribe(_ prefix: String) throws {
        try unsubscribe(Array(prefix.utf8))
    }

    /// `ZMQ_CURVE_SERVER`: this socket is a CURVE server (set its secret key with
    /// ``setCurveSecretKey(_:)``). Clients are authenticated by the context's ZAP handler
    /// (``ZAPHandler``) only under the conditions described at ``setZAPEnforceDomain(_:)``;
    /// ``configureCurveServer(secretKey:zapDomain:)`` sets everything that takes.
    /// http://api.zeromq.org/4-3:zmq-curve
    public func setCurveServer(_ on: Bool) throws {
        try setInt32(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", on ? 1 : 0)
        if on { mayCarryProperties = true }
    }

    /// `ZMQ_CURVE_PUBLICKEY` (client): our long-term public key, 40 Z85 characters.
    public func setCurvePublicKey(_ z85: String) throws {
        try setCurveKey(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", z85)
    }

    /// `ZMQ_CURVE_SECRETKEY` (client and server): our long-term secret key, 40 Z85 characters.
    public func setCurveSecretKey(_ z85: String) throws {
        try setCurveKey(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", z85)
    }

    /// `ZMQ_CURVE_SERVERKEY` (client): the server's public key, 40 Z85 characters. Setting it makes
    /// this socket a CURVE client.
    public func setCurveServerKey(_ z85: String) throws {
        try setCurveKey(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", z85)
    }

    /// `ZMQ_ZAP_DOMAIN`: the domain passed to the ZAP handler, which may admit per domain. A CURVE
    /// server needs one for ``setZAPEnforceDomain(_:)`` to take effect.
    public func setZAPDomain(_ domain: String) throws {
        try setBytes(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", Array(domain.utf8))
        if !domain.isEmpty { mayCarryProperties = true }
    }

    /// `ZMQ_ZAP_ENFORCE_DOMAIN` (93, a draft option honoured by Debian's libzmq 4.3.4). What a
    /// CURVE server in libzmq 4.3 does with it (`curve_server.cpp`, checked by this module's tests):
    ///
    /// | ZAP domain | enforce | ZAP handler bound | outcome |
    /// |---|---|---|---|
    /// | set | on | yes | the handler decides |
    /// | set | on | no | every client is refused |
    /// | set or empty | off | yes | the handler decides |
    /// | set or empty | off | no | every client is admitted |
    /// | empty | on | either | ZAP is skipped: every client is admitted |
    ///
    /// So a CURVE server must set both a non-empty ``setZAPDomain(_:)`` and this option to fail
    /// closed; ``configureCurveServer(secretKey:zapDomain:)`` does.
    public func setZAPEnforceDomain(_ on: Bool) throws {
        try setInt32(ZMQ_ZAP_ENFORCE_DOMAIN, "ZMQ_ZAP_ENFORCE_DOMAIN", on ? 1 : 0)
        if on { mayCarryProperties = true }
    }

    /// Makes this socket a CURVE server that fails closed: `ZMQ_CURVE_SERVER`, the secret key,
    /// a ZAP domain and `ZMQ_ZAP_ENFORCE_DOMAIN`, so each client must be admitted by the context's
    /// ``ZAPHandler`` and nobody gets in while none runs. Call before ``bind(_:)``.
    public func configureCurveServer(secretKey: String, zapDomain: String = "tocsin") throws {
        guard !zapDomain.isEmpty else {
            // An empty domain would make libzmq skip ZAP altogether (see setZAPEnforceDomain).
            throw ZMQError(code: EINVAL, operation: "configureCurveServer (empty ZAP domain)")
        }
        try setCurveServer(true)
        try setCurveSecretKey(secretKey)
        try setZAPDomain(zapDomain)
        try setZAPEnforceDomain(true)
    }

    /// Makes this socket a CURVE client of the server whose public key is `serverKey`, with `keys`
    /// as its own long-term key pair. Call before ``connect(_:)``.
    public func configureCurveClient(keys: CurveKeyPair, serverKey: String) throws {
        try setCurveServerKey(serverKey)
        try setCurvePublicKey(keys.publicKey)
        try setCurveSecretKey(keys.secretKey)
    }

    /// `ZMQ_ROUTING_ID`: the identity a ROUTER peer sees for this socket (1 to 255 bytes, not
    /// starting with a zero byte). Set before connect.
    public func setRoutingID(_ id: [UInt8]) throws {
        try setBytes(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", id)
    }

    /// `ZMQ_RCVTIMEO`: a blocking ``receive(dontWait:maxFrames:)`` gives up after this long and
    /// returns nil (-1: wait forever).
    public func setReceiveTimeout(milliseconds: Int32) throws {
        try setInt32(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO", milliseconds)
    }

    /// `ZMQ_SNDTIMEO`: a blocking `send(_:dontWait:)` gives up after this long and
    /// returns false (-1: wait forever).
    public func setSendTimeout(milliseconds: Int32) throws {
        try setInt32(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", milliseconds)
    }

    /// `ZMQ_FD`: a file descriptor that becomes readable when ``events()`` may have changed. It is
    /// edge-triggered: after it fires, read ``events()`` and handle everything before waiting again.
    /// Prefer ``Poller``.
    public func fileDescriptor() throws -> Int32 {
        try int32Option(ZMQ_FD, "ZMQ_FD")
    }

    /// `ZMQ_EVENTS`: whether a message can be received now without blocking, and whether one can be
    /// sent.
    public func events() throws -> (readable: Bool, writable: Bool) {
        let events = try int32Option(ZMQ_EVENTS, "ZMQ_EVENTS")
        return (events & Int32(ZMQ_POLLIN) != 0, events & Int32(ZMQ_POLLOUT) != 0)
    }

    // MARK: Sending and receiving

    /// Sends one message of `frames` (at least one), with `ZMQ_SNDMORE` on all but the last.
    /// http://api.zeromq.org/4-3:zmq-send
    ///
    /// Returns false instead of throwing `EAGAIN`: when `dontWait` is set and the message cannot be
    /// queued now (no peer, or high-water mark reached), or when a `ZMQ_SNDTIMEO` expired. libzmq
    /// queues a multipart message atomically: it decides on the first frame, so on false nothing of
    /// the message was sent. (Should a peer's pipe die after the first frame was queued, libzmq rolls
    /// the message back and drops its remaining frames; the rest is then handed to libzmq to finish
    /// the message, and false is returned as well.)
    ///
    /// Throws `ETERM` once the context is shut down, `EHOSTUNREACH` from a ROUTER with
    /// ``setRouterMandatory(_:)``, `EFSM` from REQ/REP out of turn.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        let socket = try live("zmq_send")
        guard !frames.isEmpty else {
            throw ZMQError(code: EINVAL, operation: "zmq_send (no frames)")
        }
        let lastIndex = frames.count - 1
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index == lastIndex ? 0 : Int32(ZMQ_SNDMORE)
            if dontWait { flags |= Int32(ZMQ_DONTWAIT) }
            if try !sendFrame(socket, frame, flags: flags) {
                if index > 0 { finishDroppedMessage(socket, frames[(index + 1)...]) }
                return false
            }
        }
        return true
    }

    /// Sends a one-frame message from `bytes` (libzmq copies them): `send([frame])` without making that list.
    @discardableResult
    public func send(frame bytes: UnsafeRawBufferPointer, dontWait: Bool = false) throws -> Bool {
        let socket = try live("zmq_send")
        let flags: Int32 = dontWait ? Int32(ZMQ_DONTWAIT) : 0
        while true {
            let rc = zmq_send(socket, bytes.baseAddress, bytes.count, flags)
            if rc >= 0 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZMQError(code: code, operation: "zmq_send")
        }
    }

    /// One frame: true when sent, false on EAGAIN; EINTR is retried, other errors thrown.
    private func sendFrame(_ socket: UnsafeMutableRawPointer, _ frame: [UInt8], flags: Int32) throws -> Bool {
        while true {
            let rc = frame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
            if rc >= 0 { return true }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN { return false }
            throw ZMQError(code: code, operation: "zmq_send")
        }
    }

    /// Sends `envelope`'s frames, then `body` as the last frame: `send(envelope + [body])` without building that
    /// list (a ROUTER's reply: its peer's routing id, then the answer).
    @discardableResult
    public func send(envelope: [[UInt8]], body: [UInt8], dontWait: Bool = false) throws -> Bool {
        try send(envelope: envelope[...], body: body, dontWait: dontWait)
    }

    /// `send(envelope:body:dontWait:)` with the envelope as part of a list of frames (a received message's
    /// first frames, without copying them into a list of their own).
    @discardableResult
    public func send(envelope: ArraySlice<[UInt8]>, body: [UInt8], dontWait: Bool = false) throws -> Bool {
        let socket = try live("zmq_send")
        let more = Int32(ZMQ_SNDMORE) | (dontWait ? Int32(ZMQ_DONTWAIT) : 0)
        for (index, frame) in envelope.enumerated() {
            if try !sendFrame(socket, frame, flags: more) {
                if index > 0 { finishDroppedMessage(socket, ArraySlice(envelope.dropFirst(index + 1) + [body])) }
                return false
            }
        }
        // (EAGAIN on the last frame leaves nothing of the message to hand over.)
        return try sendFrame(socket, body, flags: dontWait ? Int32(ZMQ_DONTWAIT) : 0)
    }

    /// Sends `message.frames`; see `send(_:dontWait:)`. (`userID` and `truncated`
    /// are receive-side information and are not sent.)
    @discardableResult
    public func send(_ message: Message, dontWait: Bool = false) throws -> Bool {
        try send(message.frames, dontWait: dontWait)
    }

    /// Hands the rest of a message that libzmq is dropping to it, so the socket's next send starts
    /// a new message.
    private func finishDroppedMessage(_ socket: UnsafeMutableRawPointer, _ rest: ArraySlice<[UInt8]>) {
        let lastIndex = rest.endIndex - 1
        for index in rest.indices {
            let flags = Int32(ZMQ_DONTWAIT) | (index == lastIndex ? 0 : Int32(ZMQ_SNDMORE))
            _ = rest[index].withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
        }
    }

    /// Receives one whole multipart message, one `zmq_msg_t` per frame (so no fixed buffers and no
    /// silent truncation of frames): `zmq_msg_init`, `zmq_msg_recv`, then the frame's bytes, its
    /// `User-Id` metadata and `zmq_msg_more` are read before `zmq_msg_close`.
    /// http://api.zeromq.org/4-3:zmq-msg-recv
    ///
    /// Returns nil instead of throwing `EAGAIN`: when `dontWait` is set and no message is waiting, or
    /// when a ``setReceiveTimeout(milliseconds:)`` expired. libzmq delivers multipart messages
    /// atomically, so once the first frame arrived the rest are read without waiting.
    ///
    /// Frames beyond `maxFrames` (at least 1) are read and discarded, and the message comes back with
    /// `truncated == true`, so a peer cannot make us hold an unbounded number of frames; bound the
    /// frame size with ``setMaxMessageSize(_:)``.
    ///
    /// Throws `ETERM` once the context is shut down.
    public func receive(dontWait: Bool = false, maxFrames: Int = 64) throws -> Message? {
        precondition(maxFrames >= 1, "maxFrames must be at least 1")
        let socket = try live("zmq_msg_recv")
        var part = zmq_msg_t()
        return try withUnsafeMutablePointer(to: &part) { msg in
            try receive(socket, into: msg, dontWait: dontWait, maxFrames: maxFrames)
        }
    }

    /// Receives one whole message and hands its last frame's bytes to `body` where libzmq holds them (no copy,
    /// no list of frames; the frames before it are read and dropped): for a client that only reads its answers.
    /// The bytes are valid during `body` only. Returns false where ``receive(dontWait:maxFrames:)`` returns nil
    /// (nothing waiting with `dontWait`, or a receive time-out). (Not generic: a generic function of this module
    /// called from another looks up its type's metadata on every call.)
    public func receiveLast(dontWait: Bool = false, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let socket = try live("zmq_msg_recv")
        var part = zmq_msg_t()
        return try withUnsafeMutablePointer(to: &part) { msg in
            var isFirst = true
            while true {
                guard try receivePart(socket, into: msg, first: isFirst, dontWait: dontWait) else { return false }
                isFirst = false
                if zmq_msg_more(msg) != 0 {
                    zmq_msg_close(msg)
                    continue
                }
                defer { zmq_msg_close(msg) }
                try body(UnsafeRawBufferPointer(start: zmq_msg_data(msg), count: zmq_msg_size(msg)))
                return true
            }
        }
    }

    /// One frame of a message into `msg` (initialised here; the caller closes it once received): false when the
    /// message's first frame is not there (`EAGAIN`: `dontWait`, or a receive time-out), `EINTR` retried, other
    /// errors thrown (`msg` closed). Later frames of a message never wait: libzmq delivers messages whole.
    @inline(__always)
    private func receivePart(_ socket: UnsafeMutableRawPointer, into msg: UnsafeMutablePointer<zmq_msg_t>, first: Bool,
                             dontWait: Bool) throws -> Bool {
        zmq_msg_init(msg)
        let flags: Int32 = first && dontWait ? Int32(ZMQ_DONTWAIT) : 0
        while zmq_msg_recv(msg, socket, flags) < 0 {
            let code = zmq_errno()
            if code == EINTR { continue }
            zmq_msg_close(msg)
            if code == EAGAIN && first { return false }
            throw ZMQError(code: code, operation: "zmq_msg_recv")
        }
        return true
    }

    private func receive(_ socket: UnsafeMutableRawPointer, into msg: UnsafeMutablePointer<zmq_msg_t>, dontWait: Bool,
                         maxFrames: Int) throws -> Message? {
        var message = Message([])
        var isFirst = true
        while true {
            guard try receivePart(socket, into: msg, first: isFirst, dontWait: dontWait) else { return nil }
            if isFirst && zmq_msg_more(msg) != 0 {
                // Room for a ROUTER's usual message (routing id, delimiter, body) at once: growing from empty
                // allocated twice.
                message.frames.reserveCapacity(min(maxFrames, 4))
            }
            isFirst = false
            if message.frames.count < maxFrames {
                let size = zmq_msg_size(msg)
                let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(msg), count: size))
                message.frames.append(bytes)
            } else {
                message.truncated = true
            }
            let more = zmq_msg_more(msg) != 0
            // The properties are the connection's: asked of the last frame only, which came over the wire (a
            // ROUTER's first frame, the routing id it adds, has none). Asking every frame of a message from a
            // connection without ZAP took a lookup per frame for nothing.
            if !more, mayCarryProperties, let userID = zmq_msg_gets(msg, "User-Id") {
                message.userID = String(cString: userID)
                if let key = zmq_msg_gets(msg, ZAPHandler.keyProperty) { message.curveKey = String(cString: key) }
            }
            zmq_msg_close(msg)
            if !more { return message }
        }
    }

    // MARK: Option plumbing

    private func setInt32(_ option: Int32, _ name: String, _ value: Int32) throws {
        let socket = try live("zmq_setsockopt(\(name))")
        var value = value
        try zmqRetrying("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size)
        }
    }

    private func setInt64(_ option: Int32, _ name: String, _ value: Int64) throws {
        let socket = try live("zmq_setsockopt(\(name))")
        var value = value
        try zmqRetrying("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, &value, MemoryLayout<Int64>.size)
        }
    }

    private func setBytes(_ option: Int32, _ name: String, _ value: [UInt8]) throws {
        let socket = try live("zmq_setsockopt(\(name))")
        try zmqRetrying("zmq_setsockopt(\(name))") {
            value.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        }
    }

    /// CURVE keys go in as the 40 Z85 characters (libzmq also takes 41 with the NUL, or 32 binary
    /// bytes); anything else is `EINVAL`, as is text that is not Z85.
    private func setCurveKey(_ option: Int32, _ name: String, _ z85: String) throws {
        let bytes = Array(z85.utf8)
        guard bytes.count == 40 else {
            throw ZMQError(code: EINVAL, operation: "zmq_setsockopt(\(name))")
        }
        try setBytes(option, name, bytes)
    }

    private func int32Option(_ option: Int32, _ name: String) throws -> Int32 {
        let socket = try live("zmq_getsockopt(\(name))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try zmqRetrying("zmq_getsockopt(\(name))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }

    private func int64Option(_ option: Int32, _ name: String) throws -> Int64 {
        let socket = try live("zmq_getsockopt(\(name))")
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        try zmqRetrying("zmq_getsockopt(\(name))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }

    private func bytesOption(_ option: Int32, _ name: String, capacity: Int) throws -> [UInt8] {
        let socket = try live("zmq_getsockopt(\(name))")
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        try zmqRetrying("zmq_getsockopt(\(name))") {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &size) }
        }
        return Array(buffer.prefix(size))
    }
}
