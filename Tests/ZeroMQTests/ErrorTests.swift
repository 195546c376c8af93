import Foundation
import Testing
import ZeroMQ

@Suite("Errors and options")
struct ErrorTests {
    @Test("Binding an invalid endpoint throws ZMQError with the operation and errno",
          arguments: [
              ("bogus://nowhere", EPROTONOSUPPORT),
              ("tcp://127.0.0.1:notaport", EINVAL),
              ("tcp://", EINVAL),
              ("inproc://", EINVAL),
          ])
    func invalidEndpoint(endpoint: String, code: Int32) throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try context.makeSocket(.pull)
        defer { socket.close() }
        do {
            try socket.bind(endpoint)
            Issue.record("bind(\(endpoint)) did not throw")
        } catch let error as ZMQError {
            #expect(error.code == code)
            #expect(error.operation == "zmq_bind(\(endpoint))")
            #expect(!error.isTerminated)
            #expect(error.description.hasPrefix("zmq_bind(\(endpoint)): "))
            #expect(error.description.hasSuffix("(errno \(code))"))
        }
    }

    @Test("EAGAIN is a value: receive(dontWait:) on an empty socket is nil, send to no peer is false")
    func eagainIsAValue() throws {
        let context = try Context()
        defer { context.terminate() }
        let pull = try context.makeSocket(.pull)
        defer { pull.close() }
        try pull.bind("inproc://empty-\(UUID().uuidString)")
        #expect(try pull.receive(dontWait: true) == nil)

        try pull.setReceiveTimeout(milliseconds: 20)
        #expect(try pull.receive() == nil)

        let push = try context.makeSocket(.push)
        defer { push.close() }
        try push.bind("tcp://127.0.0.1:*") // bound, nobody connected: no pipe to queue in
        #expect(try push.send(Message(strings: ["lost"]), dontWait: true) == false)
        #expect(try push.send([bytes("a"), bytes("b")], dontWait: true) == false)
        try push.setSendTimeout(milliseconds: 20)
        #expect(try push.send(Message(strings: ["lost"])) == false)
    }

    @Test("A ROUTER with ROUTER_MANDATORY throws EHOSTUNREACH for an unknown peer")
    func routerMandatory() throws {
        let context = try Context()
        defer { context.terminate() }
        let router = try context.makeSocket(.router)
        defer { router.close() }
        try router.setRouterMandatory(true)
        #expect(throws: ZMQError(code: EHOSTUNREACH, operation: "zmq_send")) {
            try router.send([bytes("nobody"), bytes("hello")])
        }
    }

    @Test("REQ out of turn throws EFSM; sending no frames throws EINVAL")
    func misuse() throws {
        let context = try Context()
        defer { context.terminate() }
        let req = try context.makeSocket(.req)
        defer { req.close() }
        #expect(throws: ZMQError.self) { try req.receive(dontWait: true) }
        #expect(throws: ZMQError.self) { try req.send([[UInt8]]()) }
    }

    @Test("A closed socket throws ENOTSOCK; close is idempotent")
    func closedSocket() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try context.makeSocket(.pub)
        #expect(!socket.isClosed)
        #expect(socket.type == .pub)
        socket.close()
        socket.close()
        #expect(socket.isClosed)
        #expect(throws: ZMQError(code: ENOTSOCK, operation: "zmq_bind(inproc://x)")) {
            try socket.bind("inproc://x")
        }
        #expect(throws: ZMQError.self) { try socket.receive(dontWait: true) }
    }

    @Test("Linger is set at creation; typed options are accepted")
    func options() throws {
        let context = try Context(ioThreads: 2)
        defer { context.terminate() }
        let socket = try context.makeSocket(.xpub)
        defer { socket.close() }
        #expect(try socket.linger() == 0)
        let lingering = try context.makeSocket(.push, linger: 250)
        defer { lingering.close() }
        #expect(try lingering.linger() == 250)
        try socket.setLinger(milliseconds: 10)
        #expect(try socket.linger() == 10)

        try socket.setSendHighWaterMark(10)
        try socket.setReceiveHighWaterMark(10)
        try socket.setImmediate(true)
        try socket.setXPubNoDrop(true)
        try socket.setHeartbeat(interval: 1000, ttl: 3000, timeout: 3000)
        try socket.setReceiveTimeout(milliseconds: 10)
        try socket.setSendTimeout(milliseconds: 10)
        try socket.setZAPDomain("tocsin")
        try socket.setZAPEnforceDomain(true)
        try socket.setRoutingID(bytes("id"))
        #expect(try socket.lastEndpoint() == "")
        _ = try socket.events()

        let sub = try context.makeSocket(.sub)
        defer { sub.close() }
        try sub.subscribe("a")
        try sub.subscribe([0, 1])
        try sub.unsubscribe("a")
        try sub.unsubscribe([0, 1])

        // Subscribing is for SUB/XSUB only.
        #expect(throws: ZMQError.self) { try socket.subscribe("a") }
    }

    @Test("Message helpers")
    func messages() {
        var message = Message(strings: ["a", "é"])
        #expect(message.frames == [[97], [0xC3, 0xA9]])
        #expect(message.strings == ["a", "é"])
        #expect(message.userID == nil)
        #expect(!message.truncated)
        message.userID = "alice"
        #expect(message != Message(strings: ["a", "é"]))
    }
}
