import Foundation
import Logging
import Testing
import ZeroMQ

/// A CURVE ROUTER server bound on loopback tcp, and CURVE (or plain) DEALER clients.
struct CurveServer {
    let context: Context
    let keys: CurveKeyPair
    let socket: Socket
    let endpoint: String

    /// The default is the fail-closed configuration, `configureCurveServer`; `domain` and
    /// `enforceDomain` spell the options out instead.
    init(context: Context, domain: String = "tocsin", enforceDomain: Bool? = nil) throws {
        self.context = context
        keys = try CurveKeyPair.generate()
        socket = try context.makeSocket(.router)
        do {
            if let enforceDomain {
                try socket.setCurveServer(true)
                try socket.setCurveSecretKey(keys.secretKey)
                if !domain.isEmpty { try socket.setZAPDomain(domain) }
                try socket.setZAPEnforceDomain(enforceDomain)
            } else {
                try socket.configureCurveServer(secretKey: keys.secretKey, zapDomain: domain)
            }
            try socket.bind("tcp://127.0.0.1:*")
            endpoint = try socket.lastEndpoint()
        } catch {
            socket.close()
            throw error
        }
    }

    /// A connected DEALER; CURVE with `keys` when given, plain otherwise.
    func client(_ keys: CurveKeyPair?) throws -> Socket {
        let client = try context.makeSocket(.dealer)
        do {
            if let keys {
                try client.configureCurveClient(keys: keys, serverKey: self.keys.publicKey)
            }
            try client.setReceiveTimeout(milliseconds: 5000)
            try client.connect(endpoint)
        } catch {
            client.close()
            throw error
        }
        return client
    }

    /// The next message within `milliseconds`, or nil.
    func receive(within milliseconds: Int32) throws -> Message? {
        try socket.setReceiveTimeout(milliseconds: milliseconds)
        return try socket.receive()
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "ZeroMQTests.ZAP")
    logger.logLevel = .warning // denials are expected here
    return logger
}()

@Suite("ZAP and CURVE")
struct ZAPTests {
    @Test("A client with a listed key is served and its User-Id arrives")
    func listedKeyIsServed() throws {
        let context = try Context()
        defer { context.terminate() }
        let alice = try CurveKeyPair.generate()
        let handler = ZAPHandler(context: context, allowed: [alice.publicKey: "alice"], logger: testLogger)
        try handler.start()
        defer { handler.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let client = try server.client(alice)
        defer { client.close() }

        try client.send(Message(strings: ["ping"]))
        let request = try #require(try server.receive(within: 5000))
        #expect(request.frames.count == 2)
        #expect(request.frames.last == bytes("ping"))
        #expect(request.userID == "alice")
        try server.socket.send([request.frames[0], bytes("pong")])
        let reply = try #require(try client.receive())
        #expect(reply.strings == ["pong"])
        #expect(handler.admittedCount == 1)
        #expect(handler.deniedCount == 0)
    }

    @Test("An unknown key gets nothing and is counted as denied")
    func unknownKeyIsDenied() throws {
        let context = try Context()
        defer { context.terminate() }
        let listed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let handler = ZAPHandler(context: context, allowed: [listed.publicKey: "listed"], logger: testLogger)
        try handler.start()
        defer { handler.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let client = try server.client(stranger)
        defer { client.close() }

        try client.send(Message(strings: ["let me in"]))
        #expect(eventually { handler.deniedCount >= 1 })
        #expect(try server.receive(within: 300) == nil)
        #expect(handler.admittedCount == 0)
    }

    @Test("A client without CURVE gets nothing")
    func plainClientIsRefused() throws {
        let context = try Context()
        defer { context.terminate() }
        let keys = try CurveKeyPair.generate()
        let handler = ZAPHandler(context: context, allowed: [keys.publicKey: "someone"], logger: testLogger)
        try handler.start()
        defer { handler.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let client = try server.client(nil)
        defer { client.close() }

        try client.send(Message(strings: ["plain"]))
        #expect(try server.receive(within: 500) == nil)
        #expect(handler.admittedCount == 0)
    }

    /// What a CURVE server does when no ZAP handler is bound, by ZAP domain and
    /// ZMQ_ZAP_ENFORCE_DOMAIN (libzmq 4.3.4's curve_server.cpp): only a domain plus the enforce option
    /// fail closed. The other rows pin down libzmq's behaviour and show the test sees deliveries.
    @Test("Without a ZAP handler, a ZAP domain with ZAP_ENFORCE_DOMAIN lets nothing through",
          arguments: [("tocsin", true, false), ("tocsin", false, true), ("", true, true), ("", false, true)])
    func noHandler(domain: String, enforceDomain: Bool, delivered: Bool) throws {
        let context = try Context()
        defer { context.terminate() }
        let server = try CurveServer(context: context, domain: domain, enforceDomain: enforceDomain)
        defer { server.socket.close() }
        let client = try server.client(try CurveKeyPair.generate())
        defer { client.close() }

        try client.send(Message(strings: ["anyone there?"]))
        let received = try server.receive(within: delivered ? 5000 : 500)
        if delivered {
            #expect(received?.frames.last == bytes("anyone there?"))
            #expect(received?.userID == nil)
        } else {
            #expect(received == nil)
        }
    }

    /// Receiving asks a message for `User-Id` and the CURVE key only on a socket whose connections ZAP can
    /// label: a CURVE server, or one with a ZAP domain or enforcing one (the other tests of this suite show the
    /// labels arriving on such sockets).
    @Test("A socket asks for connection properties only where ZAP can set them")
    func connectionProperties() throws {
        let context = try Context()
        defer { context.terminate() }
        let plain = try context.makeSocket(.router)
        defer { plain.close() }
        #expect(!plain.mayCarryProperties)
        try plain.setZAPEnforceDomain(false)
        try plain.setCurveServer(false)
        #expect(!plain.mayCarryProperties)

        let domain = try context.makeSocket(.router)
        defer { domain.close() }
        try domain.setZAPDomain("tocsin")
        #expect(domain.mayCarryProperties)
        let enforcing = try context.makeSocket(.router)
        defer { enforcing.close() }
        try enforcing.setZAPEnforceDomain(true)
        #expect(enforcing.mayCarryProperties)
        let curve = try context.makeSocket(.router)
        defer { curve.close() }
        try curve.configureCurveServer(secretKey: try CurveKeyPair.generate().secretKey)
        #expect(curve.mayCarryProperties)

        // Without ZAP a message has no properties to ask for: it arrives without labels.
        let endpoint = try bindFresh(plain, .tcp)
        let client = try context.makeSocket(.dealer)
        defer { client.close() }
        try client.connect(endpoint)
        try client.send(Message(strings: ["hello"]))
        try plain.setReceiveTimeout(milliseconds: 5000)
        let message = try #require(try plain.receive())
        #expect(message.frames.last == bytes("hello"))
        #expect(message.userID == nil && message.curveKey == nil)
    }

    @Test("configureCurveServer fails closed without a handler and refuses an empty domain")
    func configureCurveServer() throws {
        let context = try Context()
        defer { context.terminate() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }
        let client = try server.client(try CurveKeyPair.generate())
        defer { client.close() }
        try client.send(Message(strings: ["anyone there?"]))
        #expect(try server.receive(within: 500) == nil)

        let other = try context.makeSocket(.router)
        defer { other.close() }
        #expect(throws: ZMQError.self) {
            try other.configureCurveServer(secretKey: server.keys.secretKey, zapDomain: "")
        }
    }

    @Test("Revoking a key with update() denies new connections with it")
    func revocation() throws {
        let context = try Context()
        defer { context.terminate() }
        let alice = try CurveKeyPair.generate()
        let handler = ZAPHandler(context: context, allowed: [alice.publicKey: "alice"], logger: testLogger)
        try handler.start()
        defer { handler.stop() }
        let server = try CurveServer(context: context)
        defer { server.socket.close() }

        let before = try server.client(alice)
        defer { before.close() }
        try before.send(Message(strings: ["before"]))
        let first = try #require(try server.receive(within: 5000))
        #expect(first.frames.last == bytes("before"))
        #expect(first.userID == "alice")

        handler.update(allowed: [:])
        let after = try server.client(alice)
        defer { after.close() }
        try after.send(Message(strings: ["after"]))
        #expect(eventually { handler.deniedCount >= 1 })
        #expect(try server.receive(within: 300) == nil)
        #expect(handler.admittedCount == 1)

        // ZAP decides per handshake: the connection admitted earlier stays.
        try before.send(Message(strings: ["still here"]))
        let later = try #require(try server.receive(within: 5000))
        #expect(later.frames.last == bytes("still here"))
        #expect(later.userID == "alice")
    }

    @Test("A handler restricted to domains denies other domains",
          arguments: [("tocsin", true), ("elsewhere", false)])
    func domains(domain: String, admitted: Bool) throws {
        let context = try Context()
        defer { context.terminate() }
        let keys = try CurveKeyPair.generate()
        let handler = ZAPHandler(context: context, allowed: [keys.publicKey: "worker"],
                                 domains: ["tocsin"], logger: testLogger)
        try handler.start()
        defer { handler.stop() }
        let server = try CurveServer(context: context, domain: domain)
        defer { server.socket.close() }
        let client = try server.client(keys)
        defer { client.close() }

        try client.send(Message(strings: ["hello"]))
        if admitted {
            let message = try #require(try server.receive(within: 5000))
            #expect(message.userID == "worker")
        } else {
            #expect(eventually { handler.deniedCount >= 1 })
            #expect(try server.receive(within: 300) == nil)
        }
    }

    @Test("The handler stops and restarts, ends on context shutdown, and refuses a second start")
    func lifecycle() throws {
        let context = try Context()
        let handler = ZAPHandler(context: context, allowed: [:], logger: testLogger)
        handler.stop() // not started: nothing to do
        try handler.start()
        #expect(throws: ZMQError.self) { try handler.start() }
        let second = ZAPHandler(context: context, allowed: [:], logger: testLogger)
        #expect(throws: ZMQError.self) { try second.start() } // endpoint taken
        handler.stop()
        handler.stop()
        try handler.start() // the endpoint is free again
        context.shutdown() // the handler's thread sees ETERM and closes its socket
        handler.stop()
        context.terminate()
    }
}

@Suite("CURVE keys")
struct CurveKeyTests {
    @Test("Generated key pairs are 40-character Z85 and consistent")
    func generate() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 40)
        #expect(pair.secretKey.count == 40)
        #expect(try CurveKeyPair.publicKey(forSecret: pair.secretKey) == pair.publicKey)
        #expect(try CurveKeyPair.generate() != pair)
    }

    @Test("Malformed keys are rejected with EINVAL",
          arguments: ["", "short", String(repeating: "~", count: 40), String(repeating: "a", count: 41)])
    func malformed(key: String) throws {
        #expect(throws: ZMQError(code: EINVAL, operation: "zmq_curve_public")) {
            try CurveKeyPair.publicKey(forSecret: key)
        }
        let context = try Context()
        defer { context.terminate() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        #expect(throws: ZMQError.self) { try socket.setCurvePublicKey(key) }
    }
}
