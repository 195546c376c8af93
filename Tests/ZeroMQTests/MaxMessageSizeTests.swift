import Testing
import ZeroMQ

@Suite("ZMQ_MAXMSGSIZE")
struct MaxMessageSizeTests {
    /// libzmq enforces the limit in its wire decoder, so on tcp and ipc (not inproc): the frame is
    /// never delivered and the oversize peer's connection is dropped; others go on being served.
    @Test("A frame above MAXMSGSIZE is never delivered and the receiver keeps working",
          arguments: [Transport.tcp, .ipc])
    func oversizeFrameIsDropped(transport: Transport) throws {
        let context = try Context()
        defer { context.terminate() }
        let receiver = try context.makeSocket(.pull)
        defer { receiver.close() }
        try receiver.setMaxMessageSize(1024)
        #expect(try receiver.maxMessageSize() == 1024)
        let endpoint = try bindFresh(receiver, transport)
        defer { removeIPCFile(endpoint) }

        let oversize = try context.makeSocket(.push)
        defer { oversize.close() }
        try oversize.connect(endpoint)
        #expect(try oversize.send([[UInt8](repeating: 7, count: 4096)]))

        try receiver.setReceiveTimeout(milliseconds: 300)
        #expect(try receiver.receive() == nil)

        // A new connection is served.
        let small = try context.makeSocket(.push)
        defer { small.close() }
        try small.connect(endpoint)
        try small.send(Message(strings: ["small"]))
        try receiver.setReceiveTimeout(milliseconds: 5000)
        let received = try #require(try receiver.receive())
        #expect(received.strings == ["small"])
        // And the oversize frame does not turn up later either.
        try receiver.setReceiveTimeout(milliseconds: 100)
        #expect(try receiver.receive() == nil)
    }

    @Test("A frame at the limit is delivered")
    func frameAtLimit() throws {
        let context = try Context()
        defer { context.terminate() }
        let receiver = try context.makeSocket(.pull)
        defer { receiver.close() }
        try receiver.setMaxMessageSize(1024)
        try receiver.setReceiveTimeout(milliseconds: 5000)
        let sender = try context.makeSocket(.push)
        defer { sender.close() }
        try sender.connect(try bindFresh(receiver, .tcp))
        let frame = [UInt8](repeating: 1, count: 1024)
        try sender.send([frame])
        let received = try #require(try receiver.receive())
        #expect(received.frames == [frame])
    }
}
