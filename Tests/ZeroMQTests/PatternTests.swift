import Foundation
import Testing
import ZeroMQ

/// The socket patterns, each as a bind side and a connect side.
enum Pattern: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case pubSub, xpubSub, pushPull, dealerRouter, reqRep, reqRouter, dealerRep

    var testDescription: String { rawValue }

    /// (bound socket, connecting socket)
    var types: (SocketType, SocketType) {
        switch self {
        case .pubSub: (.pub, .sub)
        case .xpubSub: (.xpub, .sub)
        case .pushPull: (.pull, .push)
        case .dealerRouter: (.router, .dealer)
        case .reqRep: (.rep, .req)
        case .reqRouter: (.router, .req)
        case .dealerRep: (.rep, .dealer)
        }
    }
}

@Suite("Socket patterns")
struct PatternTests {
    @Test("Every pattern round-trips over every transport", arguments: Pattern.allCases, Transport.allCases)
    func roundTrip(pattern: Pattern, transport: Transport) throws {
        let context = try Context()
        defer { context.terminate() }
        let (bindType, connectType) = pattern.types
        let bound = try context.makeSocket(bindType)
        defer { bound.close() }
        let connecting = try context.makeSocket(connectType)
        defer { connecting.close() }
        try bound.setReceiveTimeout(milliseconds: 5000)
        try connecting.setReceiveTimeout(milliseconds: 5000)
        if connectType == .sub {
            try connecting.subscribe("news")
        }
        let endpoint = try bindFresh(bound, transport)
        defer { removeIPCFile(endpoint) }
        try connecting.connect(endpoint)

        switch pattern {
        case .pubSub:
            // Slow joiner: PUB drops until the subscription arrives, so publish until one lands.
            try connecting.setReceiveTimeout(milliseconds: 50)
            var received: Message?
            for _ in 0..<100 where received == nil {
                try bound.send(Message(strings: ["news", "hello"]))
                received = try connecting.receive()
            }
            #expect(received?.strings == ["news", "hello"])

        case .xpubSub:
            // XPUB sees the subscription itself: 0x01 + prefix.
            let subscription = try #require(try bound.receive())
            #expect(subscription.frames == [[1] + bytes("news")])
            #expect(try bound.send(Message(strings: ["news", "hello"])))
            let received = try #require(try connecting.receive())
            #expect(received.strings == ["news", "hello"])

        case .pushPull:
            #expect(try connecting.send(Message(strings: ["job", "1"])))
            let received = try #require(try bound.receive())
            #expect(received.strings == ["job", "1"])

        case .dealerRouter:
            try connecting.send(Message(strings: ["hello"]))
            let request = try #require(try bound.receive())
            #expect(request.frames.count == 2)
            #expect(request.frames.last == bytes("hello"))
            try bound.send([request.frames[0], bytes("world")])
            let reply = try #require(try connecting.receive())
            #expect(reply.strings == ["world"])

        case .reqRep:
            try connecting.send(Message(strings: ["hello"]))
            let request = try #require(try bound.receive())
            #expect(request.strings == ["hello"])
            try bound.send(Message(strings: ["world"]))
            let reply = try #require(try connecting.receive())
            #expect(reply.strings == ["world"])

        case .reqRouter:
            try connecting.send(Message(strings: ["hello"]))
            let request = try #require(try bound.receive())
            // routing id, empty delimiter, body
            #expect(request.frames.count == 3)
            #expect(request.frames.dropFirst().map { $0 } == [[], bytes("hello")])
            try bound.send([request.frames[0], [], bytes("world")])
            let reply = try #require(try connecting.receive())
            #expect(reply.strings == ["world"])

        case .dealerRep:
            // A DEALER talking to REP supplies the empty delimiter itself.
            try connecting.send([[], bytes("hello")])
            let request = try #require(try bound.receive())
            #expect(request.strings == ["hello"])
            try bound.send(Message(strings: ["world"]))
            let reply = try #require(try connecting.receive())
            #expect(reply.frames == [[], bytes("world")])
        }
    }

    @Test("Routing ids set on a DEALER arrive at the ROUTER")
    func routingID() throws {
        let context = try Context()
        defer { context.terminate() }
        let router = try context.makeSocket(.router)
        defer { router.close() }
        let dealer = try context.makeSocket(.dealer)
        defer { dealer.close() }
        try router.setReceiveTimeout(milliseconds: 5000)
        try dealer.setRoutingID(bytes("worker-7"))
        try dealer.connect(try bindFresh(router, .tcp))
        try dealer.send(Message(strings: ["ready"]))
        let message = try #require(try router.receive())
        #expect(message.strings == ["worker-7", "ready"])
    }
}
